"""What an hourly `onceonly run` costs once the warehouse holds a history.

Generates a clean landing zone of one stream (--events over --days, so each arrival hour
holds about events / (24 * days)), runs `onceonly run` on every hour before its last full
one into a DuckDB file (not timed: the history), then times `onceonly run` of that hour
alone (the hourly batch), each repetition on a fresh copy of the history's file. Every
run, the history's too, writes to one path, as an hourly schedule on one warehouse does:
dbt's saved parse holds only for the profile it was made with, and the DuckDB path is
part of the profile. Prints the wall times, the seconds of each Airflow task and of each
dbt model of the timed runs.

    .venv/bin/python benchmarks/bench_hourly_run.py --events 1000000 --days 2 \
        --stream orders --workdir /tmp/hourly --runs 2

``--onceonly`` runs another installation's command (e.g. an older checkout's
.venv/bin/onceonly) on the same zone; ``--zone`` reuses a zone generated before;
``--history-db`` starts from a warehouse built before (a larger history than the
generator can write here: `onceonly bench`'s run.duckdb holds 10M copies).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
from bench_run_overhead import (
    airflow_home_of,
    fresh_workdir,
    generate_zone,
    run_arguments,
    task_seconds,
    timed,
)

from onceonly.landing_zone import discover
from onceonly.settings import Settings


def _model_seconds(db: Path) -> dict[str, float]:
    """Seconds of each dbt model of the newest `dbt run` or `build` in the warehouse."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        newest = con.execute(
            "select invocation_id from dq.node_runs where resource_type = 'model' "
            "order by finished_at desc limit 1"
        ).fetchone()
        if newest is None:
            return {}
        rows = con.execute(
            "select name, seconds from dq.node_runs where invocation_id = ? "
            "and resource_type = 'model' order by seconds desc",
            [newest[0]],
        ).fetchall()
        return {str(name): round(float(seconds), 2) for name, seconds in rows}
    finally:
        con.close()


def main() -> None:
    parser = run_arguments(__doc__ or "", 1_000_000, "/tmp/onceonly-hourly")
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--zone", type=Path, default=None, help="A zone generated before.")
    parser.add_argument(
        "--history-db",
        type=Path,
        default=None,
        help="Start from a copy of this warehouse (e.g. `onceonly bench`'s run.duckdb) "
        "instead of building the history from the zone's earlier hours.",
    )
    args = parser.parse_args()
    work = fresh_workdir(args.workdir)
    env = {**os.environ, "COLUMNS": "200"}
    zone = (args.zone or work / "zone").resolve()
    if args.zone is None:
        generate_zone(args, zone, args.days, env)
    # the batch: the newest hour holding at least half a median hour's bytes (the
    # generator's last hour holds only what spilled over midnight); history: every hour
    # before it
    sizes: dict[datetime, int] = {}
    for f in discover(zone, args.stream).files:
        sizes[f.arrived_at] = sizes.get(f.arrived_at, 0) + f.path.stat().st_size
    hours = sorted(sizes)
    median = statistics.median(sizes.values())
    last = max(h for h in hours if sizes[h] >= median / 2)
    airflow_home = airflow_home_of(args.onceonly, env)

    def run_into(db: Path, start: object, end: object) -> list[str]:
        where = ["--landing", str(zone), "--stream", args.stream, "--duckdb-path", str(db)]
        return [args.onceonly, "run", *where, "--start", str(start), "--end", str(end)]

    db = work / "warehouse.duckdb"  # every run's path, as on a schedule
    history = work / "history.duckdb"  # the history as it stood before the timed hour
    history_seconds = None
    if args.history_db is not None:
        shutil.copy(args.history_db, db)
        # not timed: an hour before the zone's first, with nothing in it, so that dbt's
        # saved parse is for this warehouse's path, as after any earlier hour
        timed(run_into(db, hours[0] - timedelta(hours=1), hours[0]), env)
    else:
        history_seconds = round(timed(run_into(db, hours[0], last), env), 2)
    shutil.copy(db, history)
    results = []
    for i in range(args.runs):
        shutil.copy(history, db)
        seconds = timed(run_into(db, last, last + timedelta(hours=1)), env)
        results.append(
            {
                "hourly_run_seconds": round(seconds, 2),
                "tasks": task_seconds(airflow_home, args.stream),
                "models": _model_seconds(db),
            }
        )
        print(f"run {i + 1}: the last hour in {seconds:.1f} s", file=sys.stderr)
    raw_table = Settings.from_env().streams()[args.stream].raw_table
    con = duckdb.connect(str(db), read_only=True)
    try:
        # the batch: the copies of the newest landing (the timed run's)
        copies, batch = con.execute(
            f"select count(*), count(*) filter (where _loaded_at = "
            f"(select max(_loaded_at) from raw.{raw_table})) from raw.{raw_table}"
        ).fetchone()
    finally:
        con.close()
    report = {
        "events": args.events,
        "days": args.days,
        "stream": args.stream,
        "history_copies": copies - batch,
        "batch_copies": batch,
        "history_hours": None if args.history_db else hours.index(last),
        "history_seconds": history_seconds,
        "hour": str(last),
        "runs": results,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
