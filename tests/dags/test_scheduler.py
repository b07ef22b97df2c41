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
from datetime import UTC, datetime, timedelta
from pathlib import Path

from airflow_api import AirflowApi, onceonly, settled, wait_for
from pipeline import differences

from onceonly.generate.writer import generate
from onceonly.local_postgres import free_port
from onceonly.orchestration.local_airflow import LocalAirflow
from onceonly.settings import PROJECT_ROOT, Settings

CATCHUP_HOURS = 3
DAGS = ("land_orders", "transform_orders")


def test_scheduler_catches_up_transforms_on_assets_and_survives_kill_9(tmp_path: Path):
    now = datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    first_scheduled = now - timedelta(hours=CATCHUP_HOURS)
    zone = tmp_path / "zone"
    # a day of arrivals ending at the last whole hour: the CLI lands the hours before the
    # DAGs' start_date, the scheduler's catchup the last three
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
    api = AirflowApi(local.url)
    try:
        wait_for("the DAGs parsed", lambda: all(api.knows(d) for d in DAGS), 120)
        for dag_id in DAGS:
            api.unpause(dag_id)

        # SIGKILL to the scheduler while a transform task runs
        transforming = lambda: api.task_instances("transform_orders", state="running")  # noqa: E731
        wait_for("a transform task running", transforming, 300, 0.5)
        scheduler = local.pid("scheduler")
        assert scheduler is not None
        os.kill(scheduler, signal.SIGKILL)
        wait_for("the scheduler gone", lambda: local.pid("scheduler") is None, 10, 0.2)
        started = onceonly(env, "airflow", "start", "--home", str(home))
        assert "already running" not in started
        assert local.pid("scheduler") not in (None, scheduler)

        lands, transforms, taken = wait_for(
            "every run finished", lambda: settled(api, *DAGS, CATCHUP_HOURS), 900, 3
        )
    finally:
        onceonly(env, "airflow", "stop", "--home", str(home), "--purge")
    assert local.processes() == []
    assert not local.cluster.root.exists()
    names = (str(home), str(local.cluster.root))
    assert [p for p in Path("/proc").glob("[0-9]*/cmdline") if _mentions(p, names)] == []

    # through the REST API: each hour since start_date landed by a scheduled run (catchup),
    # each transform triggered by the landing's Asset, every run a success
    hours = {datetime.fromisoformat(r["data_interval_start"]) for r in lands}
    start = first_scheduled.replace(tzinfo=UTC)
    expected = {start + timedelta(hours=h) for h in range(CATCHUP_HOURS)}
    assert expected <= hours
    assert {r["run_type"] for r in lands} == {"scheduled"}
    assert {r["run_type"] for r in transforms} == {"asset_triggered"}
    assert set(taken) == {r["dag_run_id"] for r in lands}
    assert [r for r in lands + transforms if r["state"] != "success"] == []

    # in the warehouse and the report: exact, and the verdict holds
    assert differences(settings, zone / "_truth" / "orders") == {}
    summary = json.loads((settings.reports_dir / "orders" / "summary.json").read_text())
    assert summary["held"] is True, summary["verdict"]


def _mentions(cmdline: Path, names: tuple[str, ...]) -> bool:
    """Whether a process's command line names any of ``names`` (the Airflow home, the
    folder of its database)."""
    try:
        text = cmdline.read_bytes().decode(errors="replace")
    except OSError:
        return False
    return any(name in text for name in names)
