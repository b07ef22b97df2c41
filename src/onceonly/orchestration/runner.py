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

from onceonly.contract import StreamContract
from onceonly.errors import OnceOnlyError
from onceonly.object_store import ObjectZone
from onceonly.settings import PROJECT_ROOT as REPO
from onceonly.settings import Settings, environment


class DagRunFailed(OnceOnlyError):
    def __init__(self, dag_id: str, failed: list[str]) -> None:
        self.dag_id = dag_id
        self.failed = failed
        super().__init__(f"DAG {dag_id} failed at: {', '.join(failed) or 'unknown task'}")


def prepare_airflow() -> Path:
    """Point Airflow at a project-local home (before anything imports airflow)."""
    # absolute: Airflow refuses a relative path for its SQLite database
    home = Path(os.environ.setdefault("AIRFLOW_HOME", str(REPO / ".airflow"))).resolve()
    os.environ["AIRFLOW_HOME"] = str(home)
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
    config = home / "airflow.cfg"
    if not config.exists():  # the same for the `airflow` command run with this home
        config.write_text(
            "# written for `onceonly run` (dag.test()); Airflow's defaults fill the rest\n"
            f"[core]\ndags_folder = {REPO / 'dags'}\nload_examples = False\n\n"
            "[cosmos]\nenable_telemetry = False\n"
        )
    if not (home / "airflow.db").exists():
        done = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True
        )
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise OnceOnlyError(f"`airflow db migrate` in AIRFLOW_HOME={home} failed: {tail[0]}")
    return home


def ensure_manifest(settings: Settings) -> Path:
    """dbt's manifest.json (Cosmos parses the project from it), with the declared streams'
    models written first; rebuilt when anything in the project changed."""
    from onceonly.dbt_runner import prepare_project

    project = prepare_project(settings)
    manifest = project / "target" / "manifest.json"
    sources = [
        p
        for folder in ("models", "macros", "tests", "derived")
        for p in (project / folder).rglob("*")
        if p.is_file()
    ] + [project / "dbt_project.yml"]
    newest = max(p.stat().st_mtime for p in sources)
    if not manifest.exists() or manifest.stat().st_mtime < newest:
        from onceonly.dbt_runner import run_dbt

        run_dbt("parse", settings)
    return manifest


def _run(dag, conf: dict[str, str], logical_date: datetime | None) -> None:  # type: ignore[no-untyped-def]
    import gc

    from airflow.utils.state import DagRunState

    # what is loaded by now (Airflow, the parsed DAGs, the previous DAG's tasks) is kept
    # out of the collector's reach during the run: the collections of the tasks (Cosmos'
    # after each dbt invocation, Python's own) walk only what came after (seconds of a
    # small run: "The fixed cost of a run" in benchmarks/README.md); given back after, so
    # a longer-lived caller's garbage is still collected
    gc.freeze()
    try:
        run = (
            dag.test(logical_date=logical_date, run_conf=conf)
            if logical_date
            else dag.test(run_conf=conf)
        )
    finally:
        gc.unfreeze()
    if run.state != DagRunState.SUCCESS:
        failed = [
            ti.task_id
            for ti in run.get_task_instances()
            if ti.state in ("failed", "upstream_failed")
        ]
        raise DagRunFailed(dag.dag_id, failed)


@dataclass
class DagRunPlan:
    stream: str
    start: datetime | None  # None: no files of the stream in the landing zone
    end: datetime | None


def interval_of(
    landing: Path | ObjectZone, contract: StreamContract
) -> tuple[datetime, datetime] | None:
    """The arrival hours of the stream's files, [first, last + 1 h); None without files."""
    from onceonly.landing_zone import discover

    stream = contract.stream
    if isinstance(landing, Path) and not (landing / stream).is_dir():
        return None
    hours = [f.arrived_at for f in discover(landing, stream, layout=contract.layout).files]
    if not hours:
        return None
    return min(hours), max(hours) + timedelta(hours=1)


def export_settings(settings: Settings) -> None:
    """Hand the settings to the DAGs' tasks (and Cosmos' dbt), which read the environment."""
    os.environ.update(settings.environment())


def run_dags(
    settings: Settings,
    streams: list[str],
    start: datetime | None = None,
    end: datetime | None = None,
    transform: bool = True,
) -> list[DagRunPlan]:
    """Per stream: land [start, end) (default: the stream's whole span in the landing zone),
    then transform. A stream with no files and no interval given is left out. The DAGs'
    tasks read the settings from the environment, set for the runs and restored after."""
    prepare_airflow()
    with environment(settings.environment()):
        ensure_manifest(settings)
        bag = dag_bag()  # parsed once: the DAG files do not change during the runs
        declared = settings.streams()
        plans = []
        for stream in streams:
            span = interval_of(settings.landing, declared[stream])
            if span is None and (start is None or end is None):
                plans.append(DagRunPlan(stream, None, None))
                continue
            lo = start or (span[0] if span else None)
            hi = end or (span[1] if span else None)
            assert lo is not None and hi is not None
            conf = {"start": lo.isoformat(), "end": hi.isoformat()}
            _run(load_dag(f"land_{stream}", bag), conf, None)
            if transform:
                _run(load_dag(f"transform_{stream}", bag), conf, None)
            plans.append(DagRunPlan(stream, lo, hi))
    return plans


def run_dag(settings: Settings, dag_id: str, conf: dict[str, str] | None = None) -> None:
    """One run of a DAG under dag.test(), its tasks reading ``settings``."""
    prepare_airflow()
    with environment(settings.environment()):
        ensure_manifest(settings)
        _run(load_dag(dag_id), conf or {}, None)


def dag_bag():  # type: ignore[no-untyped-def]
    """The DAG files of dags/ parsed as the scheduler parses them (a failing import: one
    line)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(REPO / "dags"))
    if bag.import_errors:
        first = next(iter(bag.import_errors.values())).strip().splitlines()[-1]
        raise OnceOnlyError(f"DAG files failed to import: {first}")
    return bag


def load_dag(dag_id: str, bag=None):  # type: ignore[no-untyped-def]
    """A DAG as the scheduler loads it: from ``bag``, or its file in dags/ parsed now."""
    dag = (bag or dag_bag()).get_dag(dag_id)
    if dag is None:
        raise OnceOnlyError(f"no DAG {dag_id!r} in {REPO / 'dags'}")
    return dag
