"""What a small `onceonly run` costs: the fixed part of every scheduled run.

Generates a small landing zone of one stream, then (after one untimed run) times
`onceonly run` on it twice into a fresh DuckDB file: the first run (everything new) and a
run with nothing new. Prints
the wall times and, from Airflow's metadata database, how long each task of the last
runs took.

    .venv/bin/python benchmarks/bench_run_overhead.py --events 2000 --stream orders \
        --workdir /tmp/overhead --runs 2

``--onceonly`` times another installation's command (e.g. an older checkout's
.venv/bin/onceonly) on the same zone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path


def timed(command: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - began
    if done.returncode not in (0, 3, 4):  # 3, 4: files rejected, lines quarantined
        sys.exit(f"{' '.join(command)} exited {done.returncode}: {done.stderr[-2000:]}")
    return elapsed


def task_seconds(airflow_home: Path, stream: str) -> dict[str, float]:
    """Seconds per task of the newest land_<stream> and transform_<stream> runs."""
    con = sqlite3.connect(airflow_home / "airflow.db")
    try:
        out: dict[str, float] = {}
        for dag_id in (f"land_{stream}", f"transform_{stream}"):
            row = con.execute(
                "select run_id from dag_run where dag_id = ? order by id desc limit 1", (dag_id,)
            ).fetchone()
            if row is None:
                continue
            for task_id, seconds in con.execute(
                "select task_id, (julianday(end_date) - julianday(start_date)) * 86400 "
                "from task_instance where dag_id = ? and run_id = ? order by start_date",
                (dag_id, row[0]),
            ):
                out[f"{dag_id}.{task_id}"] = round(seconds or 0.0, 2)
        return out
    finally:
        con.close()


def run_arguments(doc: str, events: int, workdir: str) -> argparse.ArgumentParser:
    """The options of a benchmark of `onceonly run` on a generated zone."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=events)
    parser.add_argument("--stream", default="orders")
    parser.add_argument("--workdir", type=Path, default=Path(workdir))
    parser.add_argument("--runs", type=int, default=2, help="Repetitions.")
    parser.add_argument("--onceonly", default=str(Path(sys.executable).parent / "onceonly"))
    return parser


def fresh_workdir(workdir: Path) -> Path:
    """``workdir`` made empty, absolute."""
    work = workdir.resolve()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    return work


def generate_zone(args: argparse.Namespace, zone: Path, days: int, env: dict[str, str]) -> None:
    """A clean zone of ``args.events`` events of ``args.stream`` over ``days`` days."""
    subprocess.run(
        [args.onceonly, "generate", "--out", str(zone), "--events", str(args.events)]
        + ["--days", str(days), "--stream", args.stream, "--profile", "clean"],
        env=env,
        check=True,
        capture_output=True,
    )


def airflow_home_of(onceonly: str, env: dict[str, str]) -> Path:
    """Where the installation of ``onceonly`` keeps Airflow's metadata database."""
    return Path(env.get("AIRFLOW_HOME") or Path(onceonly).resolve().parents[2] / ".airflow")


def main() -> None:
    args = run_arguments(__doc__ or "", 2000, "/tmp/onceonly-overhead").parse_args()
    work = fresh_workdir(args.workdir)
    env = {**os.environ, "COLUMNS": "200"}
    zone = work / "zone"
    generate_zone(args, zone, 1, env)
    airflow_home = airflow_home_of(args.onceonly, env)

    def run_into(db: Path) -> list[str]:
        landing = ["--landing", str(zone), "--stream", args.stream]
        return [args.onceonly, "run", *landing, "--duckdb-path", str(db)]

    # not timed: Airflow's metadata database is created on first use, files get cached
    timed(run_into(work / "warm.duckdb"), env)
    results = []
    for i in range(args.runs):
        command = run_into(work / f"w{i}.duckdb")
        first = timed(command, env)
        tasks_first = task_seconds(airflow_home, args.stream)
        again = timed(command, env)
        tasks_again = task_seconds(airflow_home, args.stream)
        results.append(
            {
                "first_run_seconds": round(first, 2),
                "nothing_new_seconds": round(again, 2),
                "tasks_first_run": tasks_first,
                "tasks_nothing_new": tasks_again,
            }
        )
        print(f"run {i + 1}: first {first:.1f} s, nothing new {again:.1f} s", file=sys.stderr)
    print(json.dumps({"events": args.events, "stream": args.stream, "runs": results}, indent=2))


if __name__ == "__main__":
    main()
