"""The DAGs under a real Airflow (`onceonly airflow start`): scheduler, dag-processor and
API server, LocalExecutor, a PostgreSQL metadata database. Catchup over the last hours of
a generated landing zone, the transforms triggered by the landings' Asset, the scheduler
killed with SIGKILL in the middle of a run and started again: every run succeeds, the
facts equal the truth and the report's verdict holds."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from pipeline import differences

from onceonly.generate.writer import generate
from onceonly.local_postgres import free_port
from onceonly.orchestration.local_airflow import LocalAirflow
from onceonly.settings import PROJECT_ROOT, Settings

CATCHUP_HOURS = 4
DAGS = ("land_orders", "transform_orders")


def onceonly(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "onceonly", *args], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


class Api:
    """Airflow's REST API (v2), as a user's script would call it."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=f"{url}/api/v2", timeout=30)

    def get(self, path: str, **params: object) -> dict:
        response = self.client.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def unpause(self, dag_id: str) -> None:
        response = self.client.patch(f"/dags/{dag_id}", json={"is_paused": False})
        response.raise_for_status()
        assert response.json()["is_paused"] is False

    def runs(self, dag_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns", limit=100, order_by="run_after")["dag_runs"]

    def running_tasks(self, dag_id: str) -> list[dict]:
        found = self.get(f"/dags/{dag_id}/dagRuns/~/taskInstances", state="running", limit=100)
        return found["task_instances"]


def wait_for(what: str, condition, timeout: float, every: float = 2.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def test_scheduler_catches_up_transforms_on_assets_and_survives_kill_9(tmp_path: Path):
    now = datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    first_scheduled = now - timedelta(hours=CATCHUP_HOURS)
    zone = tmp_path / "zone"
    # a day of arrivals ending at the last whole hour: the CLI lands the hours before the
    # DAGs' start_date, the scheduler's catchup the last four
    generate(zone, n_events=600, days=1, seed=3, profile="clean", start=now - timedelta(days=1))
    streams = tmp_path / "streams"
    streams.mkdir()
    shutil.copy(PROJECT_ROOT / "streams" / "orders.yml", streams / "orders.yml")
    settings = Settings(
        duckdb_path=tmp_path / "warehouse" / "w.duckdb",
        landing=zone,
        streams_dir=streams,
        reports_dir=tmp_path / "reports",
        start_date=first_scheduled.replace(tzinfo=UTC),
        catchup=True,
        retry_delay_seconds=3.0,
    )
    env = {**os.environ, **settings.environment()}
    onceonly(env, "land", "--end", first_scheduled.isoformat())

    home = tmp_path / "airflow"
    port = free_port()
    onceonly(env, "airflow", "start", "--home", str(home), "--port", str(port))
    local = LocalAirflow.at(home)
    api = Api(local.url)
    try:
        wait_for("the DAGs parsed", lambda: all(_known(api, d) for d in DAGS), 120)
        for dag_id in DAGS:
            api.unpause(dag_id)

        # SIGKILL to the scheduler while a transform task runs
        transforming = lambda: api.running_tasks("transform_orders")  # noqa: E731
        wait_for("a transform task running", transforming, 300, 0.5)
        scheduler = local.pid("scheduler")
        assert scheduler is not None
        os.kill(scheduler, signal.SIGKILL)
        wait_for("the scheduler gone", lambda: local.pid("scheduler") is None, 10, 0.2)
        started = onceonly(env, "airflow", "start", "--home", str(home))
        assert "already running" not in started
        assert local.pid("scheduler") not in (None, scheduler)

        def settled() -> tuple[list[dict], list[dict]] | None:
            lands, transforms = api.runs("land_orders"), api.runs("transform_orders")
            if len(lands) < CATCHUP_HOURS or not transforms:
                return None
            runs = lands + transforms
            if any(r["state"] not in ("success", "failed") for r in runs):
                return None
            last_landed = max(r["end_date"] for r in lands)
            return (lands, transforms) if transforms[-1]["start_date"] > last_landed else None

        lands, transforms = wait_for("every run finished", settled, 900, 3)
    finally:
        onceonly(env, "airflow", "stop", "--home", str(home), "--purge")
    assert local.processes() == []
    assert not local.cluster.root.exists()

    # through the REST API: each hour since start_date landed by a scheduled run (catchup),
    # each transform triggered by the landing's Asset, every run a success
    hours = {datetime.fromisoformat(r["data_interval_start"]) for r in lands}
    expected = {first_scheduled.replace(tzinfo=UTC) + timedelta(hours=h) for h in range(4)}
    assert expected <= hours
    assert {r["run_type"] for r in lands} == {"scheduled"}
    assert {r["run_type"] for r in transforms} == {"asset_triggered"}
    assert [r for r in lands + transforms if r["state"] != "success"] == []

    # in the warehouse and the report: exact, and the verdict holds
    assert differences(settings, zone / "_truth" / "orders") == {}
    summary = json.loads((settings.reports_dir / "orders" / "summary.json").read_text())
    assert summary["held"] is True, summary["verdict"]


def _known(api: Api, dag_id: str) -> bool:
    try:
        api.get(f"/dags/{dag_id}")
    except httpx.HTTPStatusError:
        return False
    return True
