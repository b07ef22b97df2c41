"""Each measured step runs in a process of its own, so its peak memory is its own.

``run_step(name, **kwargs)`` starts ``python -m onceonly.bench.steps NAME JSON``, waits
for it with ``wait4`` (the child's own resource usage) and returns what the step printed
(its figures, including ``seconds`` of the timed work) plus ``wall_seconds`` (process
start to exit, imports included) and ``peak_rss_bytes``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from onceonly.errors import OnceOnlyError


class StepFailed(OnceOnlyError):
    pass


def _timed(work: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = work()
    return out, time.perf_counter() - t0


def _settings() -> Any:
    """The warehouse of ours' steps: the settings the suite put in the environment."""
    from onceonly.settings import Settings

    return Settings.from_env()


def _duckdb(duckdb_path: str) -> Any:
    """A DuckDB warehouse: the alternatives and the history section are DuckDB SQL."""
    from onceonly.settings import Settings

    return Settings(target="duckdb", duckdb_path=Path(duckdb_path))


def step_generate(landing: str, lines: int) -> dict[str, Any]:
    from onceonly.bench.data import write_deliveries

    made, seconds = _timed(lambda: write_deliveries(Path(landing), lines))
    return {**asdict(made), "seconds": seconds}


def step_land(landing: str) -> dict[str, Any]:
    from onceonly.landing import land
    from onceonly.streams import example
    from onceonly.targets import open_target

    warehouse = open_target(_settings())
    try:
        summary, seconds = _timed(lambda: land(Path(landing), warehouse, example("orders")))
    finally:
        warehouse.close()
    return {
        "seconds": seconds,
        "lines": summary.total("lines"),
        "landed": summary.total("landed"),
        "quarantined": summary.total("quarantined"),
        "files": summary.count("landed"),
    }


def step_dbt(command: str, args: list[str]) -> dict[str, Any]:
    from onceonly.dbt_runner import run_dbt

    result, seconds = _timed(lambda: run_dbt(command, _settings(), args))
    return {"seconds": seconds, "nodes": {k.split(".")[-1]: v for k, v in result.seconds.items()}}


@contextmanager
def _orders_at(guarantee: str, settings: Any) -> Iterator[Any]:
    """``settings`` with a streams folder holding the orders declaration at ``guarantee``."""
    import re

    from onceonly.streams import example

    source = example("orders").source
    assert source is not None
    text = re.sub(r"(?m)^guarantee:.*$", "", source.read_text())
    folder = Path(tempfile.mkdtemp(prefix="onceonly-guarantee-"))
    try:
        (folder / "orders.yml").write_text(f"{text}\nguarantee: {guarantee}\n")
        yield settings.with_(streams_dir=folder)
    finally:
        shutil.rmtree(folder)


def _facts_step(settings: Any) -> None:
    """One dbt invocation building the orders facts and what they read; for exactly_once
    with its publish checks (the tests that store their failures), part of its price."""
    from onceonly.dbt_runner import run_dbt
    from onceonly.streams import example

    facts = example("orders").relations.facts.name
    run_dbt(
        "build", settings, ["-s", f"+{facts},resource_type:model", "config.store_failures:true"]
    )


def _fact_rows(settings: Any) -> int:
    from onceonly.sql import sql
    from onceonly.streams import example
    from onceonly.targets import open_target

    warehouse = open_target(settings)
    try:
        [(facts,)] = warehouse.query(
            sql("select count(*) from {f}", f=example("orders").relations.facts)
        )
    finally:
        warehouse.close()
    return int(str(facts))


def step_facts_at(guarantee: str) -> dict[str, Any]:
    """The orders facts alone, built first into empty facts, with the orders declaration
    at ``guarantee``: what each guarantee costs on the same copies."""
    with _orders_at(guarantee, _settings()) as settings:
        _, seconds = _timed(lambda: _facts_step(settings))
        return {"seconds": seconds, "facts": _fact_rows(settings)}


def step_history_at(duckdb_path: str, history: int, batch: int, guarantee: str) -> dict[str, Any]:
    """``history`` events built into the facts at ``guarantee``, then the run that takes
    in a batch of ``batch`` copies: what each guarantee costs per run as history grows."""
    from onceonly.bench.data import write_batch, write_history
    from onceonly.streams import example
    from onceonly.targets.duckdb import DuckDBTarget, connect

    target = DuckDBTarget(duckdb_path)
    target.ensure_raw_tables(example("orders"))
    write_history(target.con, history)
    target.close()
    with _orders_at(guarantee, _duckdb(duckdb_path)) as settings:
        _, initial = _timed(lambda: _facts_step(settings))
        con = connect(duckdb_path)
        try:
            write_batch(con, history, batch)
            con.execute("checkpoint")
        finally:
            con.close()
        _, seconds = _timed(lambda: _facts_step(settings))
        return {"initial_seconds": initial, "seconds": seconds, "facts": _fact_rows(settings)}


def step_cosmos() -> dict[str, Any]:
    """The transform DAG's dbt stage under dag.test() (checks and report skipped)."""
    from onceonly.orchestration.runner import (
        ensure_manifest,
        export_settings,
        load_dag,
        prepare_airflow,
    )

    settings = _settings()
    prepare_airflow()
    ensure_manifest(settings)
    export_settings(settings)
    dag = load_dag("transform_orders")
    run, seconds = _timed(lambda: dag.test(mark_success_pattern="data_quality|report|verdict"))
    if run.state != "success":
        raise StepFailed(f"transform_orders ended {run.state}")
    return {"seconds": seconds}


def step_parse_dags() -> dict[str, Any]:
    import airflow.sdk  # noqa: F401  (imported before the clock starts, as a scheduler has it)
    from airflow.dag_processing.dagbag import DagBag

    from onceonly.orchestration.runner import REPO

    bag, seconds = _timed(lambda: DagBag(str(REPO / "dags")))
    return {"seconds": seconds, "dags": len(bag.dags)}


def step_floor(duckdb_path: str, landing: str) -> dict[str, Any]:
    from onceonly.bench.alternatives import floor

    facts, seconds = _timed(lambda: floor(Path(duckdb_path), Path(landing)))
    return {"seconds": seconds, "facts": facts}


def step_append_only(duckdb_path: str) -> dict[str, Any]:
    from onceonly.bench.alternatives import append_only

    facts, seconds = _timed(lambda: append_only(Path(duckdb_path)))
    return {"seconds": seconds, "facts": facts}


def step_full_refresh(duckdb_path: str) -> dict[str, Any]:
    from onceonly.bench.alternatives import full_refresh

    facts, seconds = _timed(lambda: full_refresh(Path(duckdb_path)))
    return {"seconds": seconds, "facts": facts}


def step_history(duckdb_path: str, history: int) -> dict[str, Any]:
    """``history`` events in raw, built into the marts by dbt (a first, full build)."""
    from onceonly.bench.data import write_history
    from onceonly.dbt_runner import run_dbt
    from onceonly.streams import example
    from onceonly.targets.duckdb import DuckDBTarget

    target = DuckDBTarget(duckdb_path)
    target.ensure_raw_tables(example("orders"))
    _, write_seconds = _timed(lambda: write_history(target.con, history))
    target.close()
    _, build_seconds = _timed(lambda: run_dbt("run", _duckdb(duckdb_path), MART_MODELS))
    return {"write_seconds": write_seconds, "seconds": build_seconds}


def step_batch(duckdb_path: str, history: int, batch: int) -> dict[str, Any]:
    from onceonly.bench.data import write_batch
    from onceonly.targets.duckdb import connect

    con = connect(duckdb_path)
    try:
        new, seconds = _timed(lambda: write_batch(con, history, batch))
        con.execute("checkpoint")
    finally:
        con.close()
    return {"seconds": seconds, "new_events": new}


#: dbt selection for the dedup and the facts: staging views and the three incremental marts
MART_MODELS = ["-s", "+fct_orders", "+fct_daily_revenue"]

STEPS: dict[str, Callable[..., dict[str, Any]]] = {
    name.removeprefix("step_"): fn
    for name, fn in globals().items()
    if name.startswith("step_") and callable(fn)
}


def run_step(name: str, env: dict[str, str] | None = None, **kwargs: Any) -> dict[str, Any]:
    """Run one step in a child process; its figures, wall time and peak RSS."""
    with tempfile.NamedTemporaryFile("w+", suffix=".json") as out:
        argv = [sys.executable, "-m", "onceonly.bench.steps", name, json.dumps(kwargs), out.name]
        return run_process(argv, env, result_file=Path(out.name))


def run_process(
    argv: list[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    result_file: Path | None = None,
    completed: tuple[int, ...] = (0,),
) -> dict[str, Any]:
    """Run a command to its end: wall seconds, the child's peak RSS, and the JSON it left
    in ``result_file``. Its output is kept and shown only when it fails (an exit code
    not in ``completed``)."""
    with tempfile.TemporaryFile() as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            argv, env={**os.environ, **(env or {})}, cwd=cwd, stdout=log, stderr=log
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in completed:
            log.seek(0)
            tail = log.read().decode(errors="replace").strip().splitlines()[-15:]
            raise StepFailed(f"{' '.join(argv[:4])} exited {proc.returncode}:\n" + "\n".join(tail))
    figures: dict[str, Any] = {}
    if result_file is not None:
        figures = json.loads(result_file.read_text())
    return {**figures, "wall_seconds": wall, "peak_rss_bytes": usage.ru_maxrss * 1024}


def copy_database(source: Path, dest: Path) -> Path:
    dest.unlink(missing_ok=True)
    shutil.copy(source, dest)
    return dest


def main() -> None:  # the child side of run_step
    name, kwargs, out = sys.argv[1], json.loads(sys.argv[2]), Path(sys.argv[3])
    out.write_text(json.dumps(STEPS[name](**kwargs)))


if __name__ == "__main__":
    main()
