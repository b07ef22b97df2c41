"""`onceonly run`: the same DAGs a scheduler runs, run in-process with dag.test().

Airflow's home and its SQLite metadata database live in a project-local, git-ignored
folder (``.airflow/``, or $AIRFLOW_HOME when set), created on first use.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from onceonly.errors import OnceOnlyError
from onceonly.orchestration.common import DBT_PROJECT, MANIFEST, REPO
from onceonly.settings import Settings


class DagRunFailed(OnceOnlyError):
    def __init__(self, dag_id: str, failed: list[str]) -> None:
        self.dag_id = dag_id
        self.failed = failed
        super().__init__(f"DAG {dag_id} failed at: {', '.join(failed) or 'unknown task'}")


def prepare_airflow() -> Path:
    """Point Airflow at a project-local home (before anything imports airflow)."""
    home = Path(os.environ.setdefault("AIRFLOW_HOME", str(REPO / ".airflow")))
    defaults = {
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "airflow.db").exists():
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            check=True,
            capture_output=True,
            text=True,
        )
    return home


def ensure_manifest(settings: Settings) -> Path:
    """dbt's manifest.json (Cosmos parses the project from it), rebuilt when stale."""
    sources = [
        p
        for folder in (DBT_PROJECT / "models", DBT_PROJECT / "macros", DBT_PROJECT / "tests")
        for p in folder.rglob("*")
        if p.is_file()
    ] + [DBT_PROJECT / "dbt_project.yml"]
    newest = max(p.stat().st_mtime for p in sources)
    if not MANIFEST.exists() or MANIFEST.stat().st_mtime < newest:
        from onceonly.dbt_runner import run_dbt

        run_dbt("parse", settings)
    return MANIFEST


def _run(dag, conf: dict[str, str], logical_date: datetime | None) -> None:  # type: ignore[no-untyped-def]
    from airflow.utils.state import DagRunState

    run = (
        dag.test(logical_date=logical_date, run_conf=conf)
        if logical_date
        else dag.test(run_conf=conf)
    )
    if run.state != DagRunState.SUCCESS:
        failed = [
            ti.task_id
            for ti in run.get_task_instances()
            if ti.state in ("failed", "upstream_failed")
        ]
        raise DagRunFailed(dag.dag_id, failed)


@dataclass
class DagRunPlan:
    start: datetime
    end: datetime


def interval_of(landing: Path, stream: str) -> DagRunPlan:
    from onceonly.landing_zone import discover

    hours = [f.arrived_at for f in discover(landing, stream).files]
    if not hours:
        raise OnceOnlyError(f"{landing}: no {stream} files to run on")
    return DagRunPlan(min(hours), max(hours) + timedelta(hours=1))


def export_settings(settings: Settings) -> None:
    """Hand the settings to the DAGs' tasks (and Cosmos' dbt), which read the environment."""
    os.environ.update(
        {
            "ONCEONLY_TARGET": settings.target,
            "ONCEONLY_DUCKDB_PATH": str(Path(settings.duckdb_path).resolve()),
            "ONCEONLY_LANDING": str(Path(settings.landing).resolve()),
        }
    )


def run_dags(
    settings: Settings,
    stream: str,
    start: datetime | None = None,
    end: datetime | None = None,
    transform: bool = True,
) -> DagRunPlan:
    """Land [start, end) (default: the landing zone's whole span), then transform."""
    prepare_airflow()
    export_settings(settings)
    plan = interval_of(settings.landing, stream)
    plan = DagRunPlan(start or plan.start, end or plan.end)
    ensure_manifest(settings)
    conf = {"start": plan.start.isoformat(), "end": plan.end.isoformat()}
    _run(load_dag(f"land_{stream}"), conf, None)
    if transform:
        _run(load_dag(f"transform_{stream}"), conf, None)
    return plan


def load_dag(dag_id: str):  # type: ignore[no-untyped-def]
    """A DAG as the scheduler loads it: parsed from its file in dags/."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(REPO / "dags"))
    if bag.import_errors:
        raise OnceOnlyError(f"DAG files failed to import: {bag.import_errors}")
    dag = bag.get_dag(dag_id)
    if dag is None:
        raise OnceOnlyError(f"no DAG {dag_id!r} in {REPO / 'dags'}")
    return dag
