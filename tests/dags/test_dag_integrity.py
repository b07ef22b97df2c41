"""The DAG files as a scheduler sees them."""

from __future__ import annotations

import os
import subprocess
import sys
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
    assert set(dagbag.dag_ids) == {
        "land_orders",
        "transform_orders",
        "land_inventory",
        "transform_inventory",
        "relay_inventory",  # inventory declares an outbox
        "reconcile_daily",
    }


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
    models, tests = transform.get_task("dbt.run"), transform.get_task("dbt.test")
    assert type(models).__name__ == "DbtRunLocalOperator" and models.retries >= 2
    assert type(tests).__name__ == "DbtTestLocalOperator" and tests.retries == 0
    assert models.select == tests.select == "tag:stream:orders"


def test_no_cycles_and_checks_after_models(dagbag) -> None:
    transform = dagbag.get_dag("transform_orders")
    upstream = transform.get_task("data_quality").get_flat_relative_ids(upstream=True)
    assert {"dbt.run", "dbt.test"} <= upstream  # the dbt tests run before the checkpoint
    assert "dbt.run" in transform.get_task("dbt.test").upstream_task_ids
    assert "data_quality" in transform.get_task("report").upstream_task_ids


def test_parsing_imports_nothing_heavy(dagbag) -> None:
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
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    import json

    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["dags"] == 6  # two declared streams, one with an outbox
    assert result["heavy"] == []  # the parse time itself is a figure: benchmarks/README.md


def test_dag_files_are_thin() -> None:
    for path in DAGS.glob("*.py"):
        code = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith(" ")]
        assert len(code) <= 8, path.name
    assert Path(REPO / "dbt_project" / "macros").is_symlink()


def test_each_transform_runs_only_its_streams_models(dagbag) -> None:
    """Each stream's dbt steps select tag:stream:<name>: its facts, dq models and marts;
    an exactly_once stream builds them, each model's tests before the models reading it
    (the audit before the publication), in one dbt invocation."""
    orders = dagbag.get_dag("transform_orders")
    inventory = dagbag.get_dag("transform_inventory")
    build = inventory.get_task("dbt.build")
    assert type(build).__name__ == "DbtBuildLocalOperator" and build.retries >= 2
    assert build.select == "tag:stream:inventory"
    assert not [t for t in inventory.tasks if t.task_id in ("dbt.run", "dbt.test")]
    assert orders.get_task("dbt.run").select == "tag:stream:orders"
    assert "onceonly://raw/inventory_events" in str(inventory.timetable.asset_condition)


def test_each_transforms_dbt_steps_share_one_partial_parse_cache(dagbag) -> None:
    """The dbt steps of one transform hand dbt's partial parse on to each other through one
    cache folder (where Cosmos' own task group keeps it); two transforms never share one."""
    from cosmos import settings as cosmos_settings

    folders = {}
    for dag_id in ("transform_orders", "transform_inventory"):
        steps = [t for t in dagbag.get_dag(dag_id).tasks if t.task_id.startswith("dbt.")]
        caches = {t.cache_dir for t in steps}
        assert len(caches) == 1 and all(t.partial_parse for t in steps), dag_id
        folders[dag_id] = caches.pop()
        assert folders[dag_id].parent == cosmos_settings.cache_dir
    assert folders["transform_orders"] != folders["transform_inventory"]


def test_a_new_declaration_is_new_dags_with_no_code_change(tmp_path: Path) -> None:
    """One more declaration, `onceonly streams generate`, then the DAG files parsed as a
    scheduler would (in a copy of the dbt project, so the repository's stays as it is)."""
    import shutil

    streams = tmp_path / "streams"
    shutil.copytree(REPO / "streams", streams)
    text = (streams / "inventory.yml").read_text().replace("name: inventory", "name: returns")
    # relayed from an application's outbox table: a relay DAG too
    assert "table: stock_app.outbox" in text
    text = text.replace("table: stock_app.outbox", "table: wms.outbox")
    (streams / "returns.yml").write_text(
        text.replace("aggregatetype: inventory", "aggregatetype: returns")
    )
    project = tmp_path / "dbt_project"
    shutil.copytree(
        REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs", "derived")
    )
    env = {
        **os.environ,
        "ONCEONLY_STREAMS_DIR": str(streams),
        "ONCEONLY_DBT_PROJECT_DIR": str(project),
    }
    code = (
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag({str(DAGS)!r})\n"
        "print(sorted(bag.dag_ids), bag.import_errors)\n"
    )

    def parse() -> str:
        return (
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
            )
            .stdout.strip()
            .splitlines()[-1]
        )

    before = parse()  # declared, not generated yet: a one-line error saying what to run
    assert "onceonly streams generate" in before
    generated = subprocess.run(
        [sys.executable, "-m", "onceonly", "streams", "generate"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert generated.returncode == 0, generated.stderr
    after = parse()
    assert "'land_returns'" in after and "'transform_returns'" in after
    assert "'relay_returns'" in after and "'relay_inventory'" in after
    assert after.endswith("{}")  # no import errors
    assert not (REPO / "dbt_project" / "derived" / "models" / "facts" / "returns").exists()


def test_a_landing_run_lands_its_conf_else_its_interval_else_the_hour_before_it_was_due():
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from onceonly.orchestration.tasks import interval

    due = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
    triggered = SimpleNamespace(conf={}, run_after=due)  # no logical date: no interval
    assert interval({"dag_run": triggered}) == (datetime(2026, 3, 1, 9), datetime(2026, 3, 1, 10))
    scheduled = {
        "dag_run": SimpleNamespace(conf={}, run_after=due),
        "data_interval_start": datetime(2026, 3, 1, 7, tzinfo=UTC),
        "data_interval_end": datetime(2026, 3, 1, 8, tzinfo=UTC),
    }
    assert interval(scheduled) == (datetime(2026, 3, 1, 7), datetime(2026, 3, 1, 8))
    spanned = SimpleNamespace(conf={"start": "2026-01-05T00:00", "end": "2026-01-06T00:00"})
    day = (datetime(2026, 1, 5), datetime(2026, 1, 6))
    assert interval({**scheduled, "dag_run": spanned}) == day


def test_the_airflow_home_of_onceonly_run_loads_the_project_dags_and_no_examples():
    """The `airflow` command run with that home sees what `onceonly run` sees."""
    import configparser

    from onceonly.orchestration.runner import prepare_airflow
    from onceonly.settings import PROJECT_ROOT

    config = configparser.ConfigParser(interpolation=None)
    config.read(prepare_airflow() / "airflow.cfg")
    assert config.get("core", "dags_folder") == str(PROJECT_ROOT / "dags")
    assert config.getboolean("core", "load_examples") is False
