"""Wall time of the data-quality checkpoint (all suites) on a warehouse of N fact rows.

Builds N events of history (`onceonly.bench.data.write_history`) with a full `dbt build`, then times
`run_checkpoint` (GX import excluded, measured separately) ``--runs`` times. ``--reuse``: the
warehouse the same ``--workdir`` holds from an earlier run is checked again, not rebuilt
(to compare two versions of the checks on the same data).

Usage: .venv/bin/python benchmarks/bench_checkpoint.py [--events 10000000] [--workdir DIR]
       [--runs 1] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from onceonly.bench.data import write_history
from onceonly.dbt_runner import run_dbt
from onceonly.settings import Settings
from onceonly.streams import example
from onceonly.targets.duckdb import DuckDBTarget


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="onceonly-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "checkpoint.duckdb"
    settings = Settings(target="duckdb", duckdb_path=db)
    build_s = None
    if not (args.reuse and db.exists()):
        db.unlink(missing_ok=True)
        target = DuckDBTarget(db)
        target.ensure_raw_tables(example("orders"))
        write_history(target.con, args.events)
        target.close()
        t0 = time.perf_counter()
        run_dbt("build", settings)
        build_s = round(time.perf_counter() - t0, 1)

    t0 = time.perf_counter()
    import great_expectations  # noqa: F401

    import_s = time.perf_counter() - t0
    from onceonly.quality.checkpoint import run_checkpoint

    seconds = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        outcome = run_checkpoint(settings, work / "reports", [example("orders")])
        seconds.append(round(time.perf_counter() - t0, 1))
    print(
        json.dumps(
            {
                "fact_rows": args.events,
                "full_dbt_build_seconds": build_s,  # None: an earlier run's warehouse
                "gx_import_seconds": round(import_s, 1),
                "checkpoint_seconds": seconds,
                "checks": {o.check.name: o.success for o in outcome.outcomes},
                "machine": f"{platform.machine()}, {platform.python_version()}",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
