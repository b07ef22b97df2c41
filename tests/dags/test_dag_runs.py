"""Real dag.test() runs of the landing and transform DAGs on generated messy data."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import ORDERS
from pipeline import dead_port, differences, fact_checksums, held_then_resolved

from onceonly.generate.writer import generate
from onceonly.orchestration.runner import interval_of, run_dags
from onceonly.settings import Settings, environment


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("zone")
    generate(out, n_events=1500, days=1, seed=8, profile="messy")
    return out


def settings_for(zone: Path, db: Path) -> Settings:
    # run_dags hands these to the DAGs, retry delay included: dag.test() waits it out
    return Settings(
        target="duckdb",
        duckdb_path=db,
        landing=zone,
        reports_dir=db.parent / "reports",
        retry_delay_seconds=0.0,
    )


def test_land_and_transform_dags_build_facts_equal_to_the_truth(zone: Path, tmp_path: Path):
    settings = settings_for(zone, tmp_path / "w.duckdb")
    run_dags(settings, ["orders"])
    assert differences(settings, zone / "_truth" / "orders") == {}

    # then a copy slips into the facts (as one older than the dedup window does): the
    # audit finds it, reconcile_daily removes and records it, and a second run does nothing
    from onceonly.orchestration.runner import run_dag
    from onceonly.targets import open_target

    def query(statement: str) -> list:
        target = open_target(settings)
        try:
            return target.query(statement)
        finally:
            target.close()

    [(slipped,)] = query("select min(event_id) from analytics.fct_orders_events")
    query(
        "insert into analytics.fct_orders_events select * replace ('slipped.jsonl' as "
        f"_source_file) from analytics.fct_orders_events where event_id = '{slipped}'"
    )

    def reconcile_cli() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "onceonly", "reconcile", "--full"],
            env={**os.environ, "ONCEONLY_DUCKDB_PATH": str(settings.duckdb_path)},
            capture_output=True,
            text=True,
            timeout=300,
        )

    found = reconcile_cli()
    assert found.returncode == 1, found.stderr
    assert "orders: 1 duplicate fact row of 1 key: run" in found.stderr
    assert "not audited: inventory" in found.stderr  # declared, never built: left out
    for _ in range(2):
        run_dag(settings, "reconcile_daily")
        assert query("select event_id, removed_source_file from dq.orders_audit_repairs") == [
            (slipped, "slipped.jsonl")
        ]
        assert differences(settings, zone / "_truth" / "orders") == {}
    assert reconcile_cli().returncode == 0


def test_landing_that_fails_after_writing_is_retried_without_duplicates(
    zone: Path, tmp_path: Path
) -> None:
    # the ack is lost once: the tasks read the setting from the environment run_dags sets
    settings = settings_for(zone, tmp_path / "w.duckdb").with_(faults="after_landing")
    run_dags(settings, ["orders"])
    from onceonly.targets import open_target

    target = open_target(settings)
    try:
        [(runs,)] = target.query("select count(distinct attempted_at) from raw.load_ledger")
        assert runs == 2  # the first attempt landed, then failed; Airflow retried
        retry = target.query(
            "select status, count(*) from raw.load_ledger "
            "where attempted_at = (select max(attempted_at) from raw.load_ledger) "
            "group by status order by status"
        )
        # the retry found every file's content landed (or, for the corrupt one, rejected)
        assert [s for s, _ in retry] == ["rejected", "skipped"]
        skipped = sum(n for _, n in retry)
    finally:
        target.close()
    assert skipped > 0
    # facts and findings exact, files too: the retry's attempts (one more row per file in
    # the ledger) do not make more files
    assert differences(settings, zone / "_truth" / "orders") == {}
    # and the report counts files, not attempts: the corrupt file rejected by both is one
    import csv

    from onceonly.report.figures import read_figures
    from onceonly.streams import example

    with (zone / "_truth" / "orders" / "files.csv").open() as fh:
        statuses = [row["status"] for row in csv.DictReader(fh)]
    target = open_target(settings)
    try:
        totals = read_figures(target, example("orders")).totals
    finally:
        target.close()
    assert statuses.count("rejected") > 0
    assert totals["files_rejected"] == statuses.count("rejected")
    assert totals["files_redelivered_skipped"] == statuses.count("skipped")


def test_backfill_as_hourly_runs_equals_one_run_over_the_day(zone: Path, tmp_path: Path) -> None:
    from onceonly.orchestration.runner import load_dag

    day = interval_of(zone, ORDERS)[0].replace(hour=0)
    hourly = settings_for(zone, tmp_path / "hourly.duckdb")
    # one run per hour of the first day, each on its own data interval
    run_dags(hourly, ["orders"], day, day + timedelta(hours=1), transform=False)
    from datetime import UTC

    # the DAGs' tasks read the settings from the environment, as a scheduler's workers do
    with environment(hourly.environment()):
        dag = load_dag("land_orders")
        for hour in range(1, 24):
            start = (day + timedelta(hours=hour)).replace(tzinfo=UTC)
            # a manual run covers the hour that ends at its logical date
            run = dag.test(logical_date=start + timedelta(hours=1))
            assert run.state == "success"
            assert (run.data_interval_start, run.data_interval_end) == (
                start,
                start + timedelta(hours=1),
            )
        transform = load_dag("transform_orders")
        assert transform.test().state == "success"

    whole = settings_for(zone, tmp_path / "whole.duckdb")
    run_dags(whole, ["orders"], day, day + timedelta(days=1))
    assert fact_checksums(hourly) == fact_checksums(whole)
    from onceonly.targets import open_target

    target = open_target(hourly)
    try:
        [(batches, hours)] = target.query(
            "select count(distinct _batch_id), count(distinct _arrived_at) from raw.orders_events"
        )
    finally:
        target.close()
    assert batches == hours == 24


def test_inventory_dags_build_facts_and_stock_equal_to_the_truth(tmp_path: Path) -> None:
    from conftest import INVENTORY

    zone = tmp_path / "zone"
    generate(zone, n_events=1500, days=1, seed=9, profile="messy", stream="inventory")
    settings = Settings(
        target="duckdb",
        duckdb_path=tmp_path / "w.duckdb",
        landing=zone,
        reports_dir=tmp_path / "reports",
    )
    [plan] = run_dags(settings, ["inventory"])
    assert plan.stream == "inventory" and plan.start is not None
    import json

    summary = json.loads((tmp_path / "reports" / "inventory" / "summary.json").read_text())
    assert summary["held"] is True
    # landed in one run, every movement delivered with two contents is held; resolved as
    # the truth does (first landed), the facts and the stock equal the truth
    truth = zone / "_truth" / "inventory"
    conflicts = len((truth / "event_conflicts.csv").read_text().splitlines()) - 1
    assert len(summary["waiting"]["held"]) == conflicts > 0
    assert held_then_resolved(settings, truth, INVENTORY) == conflicts
    assert differences(settings, truth, INVENTORY) == {}
    checks = {c["name"] for c in summary["checks"]}
    assert "gaps.missing_hours" not in checks  # set to off in streams/inventory.yml


def test_a_terminal_error_fails_the_task_at_once_and_a_transient_one_is_retried(
    zone: Path, tmp_path: Path
) -> None:
    """A landing folder that is not there cannot appear by retrying: the task fails on
    its first try. A lost ack (transient) is retried, as the test above shows."""
    from datetime import UTC

    from onceonly.orchestration.runner import load_dag

    settings = settings_for(tmp_path / "no-such-zone", tmp_path / "w.duckdb")
    with environment(settings.environment()):
        dag = load_dag("land_orders")
        run = dag.test(logical_date=interval_of(zone, ORDERS)[1].replace(tzinfo=UTC))
    assert run.state == "failed"
    [ti] = [t for t in run.get_task_instances() if t.task_id == "land"]
    assert ti.try_number == 1


def test_on_postgres_the_tasks_and_dbt_reach_the_server_through_the_airflow_connection(
    zone: Path, tmp_path: Path, postgres_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deployment that gives the server only as an Airflow connection: the landing, the
    checks, the report and dbt under Cosmos (its profile mapping) all use it, though every
    ONCEONLY_PG_* value but the user names a port, database and password that do not work."""
    from dataclasses import replace
    from urllib.parse import quote

    env = postgres_env
    monkeypatch.setenv(
        "AIRFLOW_CONN_ONCEONLY_POSTGRES",
        f"postgresql://{quote(env['ONCEONLY_PG_USER'])}:{quote(env['ONCEONLY_PG_PASSWORD'])}"
        f"@127.0.0.1:{env['ONCEONLY_PG_PORT']}/{env['ONCEONLY_PG_DATABASE']}",
    )
    base = Settings.from_env(target="postgres")
    wrong = replace(
        base.postgres,
        port=dead_port(),
        password="not-the-password",
        database="no_such_database",
        conn_id="onceonly_postgres",
    )
    settings = replace(
        settings_for(zone, tmp_path / "unused.duckdb"), target="postgres", postgres=wrong
    )
    run_dags(settings, ["orders"])
    reached = settings.with_connections()
    assert reached.postgres.database == env["ONCEONLY_PG_DATABASE"]
    assert differences(reached, zone / "_truth" / "orders") == {}
    summary = (tmp_path / "reports" / "orders" / "summary.json").read_text()
    assert '"held": true' in summary
    for folder in ("target", "logs"):
        path = settings.dbt_project_dir / folder
        for written in path.rglob("*") if path.exists() else []:
            if written.is_file():
                assert env["ONCEONLY_PG_PASSWORD"].encode() not in written.read_bytes(), written
