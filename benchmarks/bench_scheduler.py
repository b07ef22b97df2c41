"""A scheduled hourly cycle under a real Airflow (`onceonly airflow start`) against the
same cycle under `onceonly run` (dag.test()).

Generates a day of one stream's arrivals ending at the last whole hour, builds the
warehouse of every hour but the last with `onceonly run --end`, copies it, then takes the
last hour in twice, each into its own copy:

- ``dag_test``: `onceonly run --start H-1h --end H`, the process's wall time;
- ``scheduler``: `onceonly airflow start` with ONCEONLY_START_DATE = H-1h and catchup on,
  both DAGs unpaused through the REST API; the cycle is the landing run's start to the
  end of the transform run its Asset triggered (from the API), and the wall time from the
  unpause until that transform ended.

Each repetition starts its Airflow afresh (`stop --purge` after). Prints JSON.

    .venv/bin/python benchmarks/bench_scheduler.py --events 48000 --runs 2 --workdir /tmp/bsch
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from airflow_api import AirflowApi, onceonly, settled, wait_for  # noqa: E402

from onceonly.generate.writer import generate  # noqa: E402
from onceonly.local_postgres import free_port  # noqa: E402
from onceonly.orchestration.local_airflow import LocalAirflow  # noqa: E402
from onceonly.settings import PROJECT_ROOT, Settings  # noqa: E402

STREAM = "orders"
DAGS = (f"land_{STREAM}", f"transform_{STREAM}")


def timed(env: dict[str, str], *args: str) -> float:
    """Seconds `onceonly ARGS` took, in a process of its own."""
    began = time.perf_counter()
    onceonly(env, *args)
    return time.perf_counter() - began


def seconds(a: str, b: str) -> float:
    return round((datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds(), 2)


def scheduled_cycle(settings: Settings, home: Path) -> dict[str, object]:
    env = {**os.environ, **settings.environment()}
    started = timed(env, "airflow", "start", "--home", str(home), "--port", str(free_port()))
    local = LocalAirflow.at(home)
    api = AirflowApi(local.url)
    try:
        wait_for("the DAGs parsed", lambda: all(api.knows(d) for d in DAGS), 120, 0.5)
        unpaused = datetime.now(UTC).isoformat()
        for dag_id in DAGS:
            api.unpause(dag_id)
        lands, transforms, taken = wait_for(
            "the cycle finished", lambda: settled(api, *DAGS, 1), 900, 0.5
        )
        # the first hour's landing (another runs if the clock passes the hour meanwhile)
        land = lands[0]
        transform = next(r for r in transforms if r["dag_run_id"] == taken[land["dag_run_id"]])
        tasks = api.task_instances()
    finally:
        onceonly(env, "airflow", "stop", "--home", str(home), "--purge")
    assert land["state"] == transform["state"] == "success", (land, transform)
    return {
        "airflow_start_seconds": round(started, 2),
        "unpause_to_transform_end_seconds": seconds(unpaused, transform["end_date"]),
        "cycle_seconds": seconds(land["start_date"], transform["end_date"]),
        "land_run_seconds": seconds(land["start_date"], land["end_date"]),
        "asset_to_transform_start_seconds": seconds(land["end_date"], transform["start_date"]),
        "transform_run_seconds": seconds(transform["start_date"], transform["end_date"]),
        "tasks": {
            f"{t['dag_id']}.{t['task_id']}": t["duration"]
            for t in tasks
            if t["dag_run_id"] in (land["dag_run_id"], transform["dag_run_id"])
        },
    }


def copied(settings: Settings, path: Path) -> Settings:
    """The warehouse copied (with its write-ahead log, if any) to ``path``."""
    shutil.copy(settings.duckdb_path, path)
    wal = Path(f"{settings.duckdb_path}.wal")
    if wal.exists():
        shutil.copy(wal, f"{path}.wal")
    return settings.with_(duckdb_path=path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=48_000, help="events in the day")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("bench-work/scheduler"))
    args = parser.parse_args()
    work = args.workdir.resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    now = datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    last = now - timedelta(hours=1)
    zone = work / "zone"
    day_before = now - timedelta(days=1)
    generate(zone, n_events=args.events, days=1, seed=5, profile="clean", start=day_before)
    streams = work / "streams"
    streams.mkdir()
    shutil.copy(PROJECT_ROOT / "streams" / f"{STREAM}.yml", streams)
    history = Settings(
        duckdb_path=work / "history.duckdb",
        landing=zone,
        streams_dir=streams,
        reports_dir=work / "reports",
        start_date=last.replace(tzinfo=UTC),
        catchup=True,
    )
    env = {**os.environ, **history.environment()}
    built = timed(env, "run", "--end", last.isoformat())
    hour_lines = sum(
        len(p.read_bytes().splitlines())
        for p in zone.glob(f"{STREAM}/dt={last:%Y-%m-%d}/hour={last:%H}/*.jsonl")
    )

    results: dict[str, object] = {
        "events_in_day": args.events,
        "lines_in_last_hour": hour_lines,
        "history_seconds": round(built, 2),
        "dag_test": [],
        "scheduler": [],
    }
    for run in range(args.runs):
        copy = copied(history, work / f"run{run}-dag-test.duckdb")
        cycle = timed(
            {**os.environ, **copy.environment()},
            "run", "--start", last.isoformat(), "--end", now.isoformat(),
        )  # fmt: skip
        results["dag_test"].append({"wall_seconds": round(cycle, 2)})  # type: ignore[union-attr]

        copy = copied(history, work / f"run{run}-scheduler.duckdb")
        results["scheduler"].append(scheduled_cycle(copy, work / f"airflow{run}"))  # type: ignore[union-attr]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
