"""Run the dbt project in-process (dbt's programmatic runner), pointed at a target."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from onceonly.errors import OnceOnlyError
from onceonly.settings import Settings, environment


class DbtError(OnceOnlyError):
    """A dbt command failed; ``failures`` names the nodes."""

    transient = True

    def __init__(self, command: str, failures: list[str]) -> None:
        self.failures = failures
        shown = "; ".join(failures[:5]) or "see dbt's log above"
        super().__init__(f"dbt {command} failed: {shown}")


def prepare_project(settings: Settings) -> Path:
    """The dbt project folder, with the models of every declared stream written into it
    (see ``dbt_models``); the declarations are checked first."""
    from onceonly.dbt_models import sync

    sync(settings.dbt_project_dir, list(settings.streams().values()))
    return settings.dbt_project_dir


def ensure_sources(settings: Settings) -> None:
    """The raw tables of every declared stream, so a build of the whole project works
    before a stream's first landing (its models are then built empty)."""
    from onceonly.targets import open_target

    warehouse = open_target(settings)
    try:
        for contract in settings.streams().values():
            warehouse.ensure_raw_tables(contract)
    finally:
        warehouse.close()


def dbt_env(settings: Settings) -> dict[str, str]:
    """The settings as the variables the committed profiles.yml and the macros read (see
    dbt_project/profiles.yml), with dbt's telemetry off."""
    return {**settings.environment(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}


@dataclass
class DbtResult:
    command: str
    nodes: dict[str, str]  # unique_id -> status
    seconds: dict[str, float]  # unique_id -> execution time


def run_dbt(
    command: str,
    settings: Settings,
    args: list[str] | None = None,
    dbt_vars: Mapping[str, object] | None = None,
    quiet: bool = True,
) -> DbtResult:
    """Run ``dbt <command>`` on the project; raise DbtError when a node fails."""
    import json

    from dbt.cli.main import dbtRunner

    from onceonly.targets.duckdb import release_in_process_dbt

    project = prepare_project(settings)
    if command in ("build", "run", "test", "seed", "snapshot"):
        ensure_sources(settings)
    cli = [
        command,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target",
        settings.target,
        *(args or []),
    ]
    if dbt_vars:
        cli += ["--vars", json.dumps(dict(dbt_vars))]
    if quiet:
        cli = ["--quiet", *cli]
    extra = dict(dbt_env(settings))
    extra["DBT_PROJECT_DIR"] = str(project)
    with environment(extra):
        outcome = dbtRunner().invoke(cli)
    # (else the DuckDB file stays locked against other processes, e.g. `onceonly resolve`)
    release_in_process_dbt()
    nodes: dict[str, str] = {}
    seconds: dict[str, float] = {}
    failures: list[str] = []
    results = getattr(outcome.result, "results", None) or []
    for r in results:
        status = str(getattr(r.status, "value", r.status))
        nodes[r.node.unique_id] = status
        seconds[r.node.unique_id] = float(getattr(r, "execution_time", 0.0) or 0.0)
        if status in ("error", "fail", "runtime error"):
            failures.append(f"{r.node.name}: {(r.message or status).splitlines()[0]}")
    if not outcome.success:
        if not failures and outcome.exception is not None:
            failures.append(str(outcome.exception).splitlines()[0])
        raise DbtError(command, failures)
    return DbtResult(command, nodes, seconds)


def dbt_build_process(settings: Settings, workdir: Path) -> subprocess.Popen[bytes]:
    """`dbt build` of the project as a separate process (artifacts and logs in ``workdir``),
    for runs that must be killable or run side by side."""
    project = prepare_project(settings)
    ensure_sources(settings)
    target = settings.target
    return subprocess.Popen(
        [
            str(Path(sys.executable).with_name("dbt")),
            "build",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target",
            target,
            "--target-path",
            str(workdir / f"dbt-target-{os.getpid()}-{time.monotonic_ns()}"),
            "--log-path",
            str(workdir),
        ],
        env={**os.environ, **dbt_env(settings)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
