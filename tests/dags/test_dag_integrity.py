"""The DAG files as a scheduler sees them."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from onceonly.orchestration.runner import REPO, ensure_manifest, prepare_airflow
from onceonly.settings import Settings

DAGS = REPO / "dags"


@pytest.fixture(scope="module")
def dagbag():
    prepare_airflow()
    ensure_manifest(Settings())
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(str(DAGS))


def test_no_import_errors_and_every_dag_present(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {"land_orders", "transform_orders", "reconcile_daily"}


def test_tags_and_schedules(dagbag) -> None:
    for dag in dagbag.dags.values():
        assert "onceonly" in dag.tags, dag.dag_id
    timetable = dagbag.get_dag("land_orders").timetable
    assert type(timetable).__name__ == "CronDataIntervalTimetable"  # one hour per run
    assert timetable.summary == "0 * * * *"
    transform = dagbag.get_dag("transform_orders")
    assert "onceonly://raw/orders_events" in str(transform.timetable.asset_condition)


def test_retries_on_landing_and_models_not_on_tests(dagbag) -> None:
    land = dagbag.get_dag("land_orders").get_task("land")
    assert land.retries >= 2 and land.retry_exponential_backoff
    assert [o.uri for o in land.outlets] == ["onceonly://raw/orders_events"]
    transform = dagbag.get_dag("transform_orders")
    runs = [t for t in transform.tasks if type(t).__name__ == "DbtRunLocalOperator"]
    tests = [t for t in transform.tasks if type(t).__name__ == "DbtTestLocalOperator"]
    assert {t.task_id for t in runs} >= {"dbt.fct_orders_events_run", "dbt.fct_orders_run"}
    assert all(t.retries >= 2 for t in runs)
    assert tests and all(t.retries == 0 for t in tests)


def test_no_cycles_and_checks_after_models(dagbag) -> None:
    transform = dagbag.get_dag("transform_orders")
    upstream = transform.get_task("data_quality").get_flat_relative_ids(upstream=True)
    assert "dbt.fct_orders_events_run" in upstream
    tests = [t.task_id for t in transform.tasks if type(t).__name__ == "DbtTestLocalOperator"]
    assert set(tests) <= upstream  # the dbt tests run before the checkpoint
    assert "data_quality" in transform.get_task("report").upstream_task_ids


def test_parsing_is_fast_and_imports_nothing_heavy(dagbag) -> None:
    """Parse all DAG files in a fresh interpreter (airflow itself already imported, as in
    a scheduler) and list which heavy libraries got imported."""
    code = (
        "import sys, time, json\n"
        "import airflow.sdk\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "before = set(sys.modules)\n"
        "t = time.perf_counter()\n"
        f"bag = DagBag({str(DAGS)!r})\n"
        "elapsed = time.perf_counter() - t\n"
        "heavy = sorted({m.split('.')[0] for m in set(sys.modules) - before}\n"
        "               & {'great_expectations', 'dbt', 'pandas', 'duckdb', 'psycopg'})\n"
        "print(json.dumps({'seconds': elapsed, 'heavy': heavy, 'dags': len(bag.dags)}))\n"
    )
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert time.perf_counter() - t0 < 120
    import json

    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["dags"] == 3
    assert result["heavy"] == []
    assert result["seconds"] < 2.0  # a generous bound; the figure is in benchmarks/README.md


def test_dag_files_are_thin() -> None:
    for path in DAGS.glob("*.py"):
        code = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith(" ")]
        assert len(code) <= 8, path.name
    assert Path(REPO / "dbt_project" / "macros").is_symlink()
