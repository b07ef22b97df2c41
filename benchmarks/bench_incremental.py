"""The incremental cost as history grows, on DuckDB: the history section of `onceonly
bench`, on its own (issue #16's aim: the whole incremental `dbt run` at 50M of history
<= 1.15x the same at 5M).

For each --history size: that many events written into raw.orders_events and built (the
staging views and the three marts), then a batch of --batch copies (95% new events, 2.5%
in-batch duplicates, 2.5% duplicates of recent history) taken in by an incremental
`dbt run` of the same models, each model's seconds as dbt reports them; then a full
refresh, for comparison (--no-full-refresh leaves it out). Prints JSON, with the largest
history's run over the smallest's.

Usage: .venv/bin/python benchmarks/bench_incremental.py [--history 5000000 50000000]
       [--batch 1000000] [--workdir DIR] [--no-full-refresh]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from onceonly.bench.suite import incremental_at_history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, nargs="+", default=[5_000_000, 50_000_000])
    parser.add_argument("--batch", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--no-full-refresh", action="store_true")
    args = parser.parse_args()
    work = (args.workdir or Path(tempfile.mkdtemp(prefix="onceonly-incremental-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    env = {"AIRFLOW_HOME": str(work / "airflow")}
    runs = [
        incremental_at_history(
            work,
            env,
            history,
            args.batch,
            lambda m: print(m, file=sys.stderr, flush=True),
            full_refresh=not args.no_full_refresh,
        )
        for history in args.history
    ]
    largest_over_smallest = runs[-1]["incremental_seconds"] / runs[0]["incremental_seconds"]
    print(
        json.dumps(
            {"runs": runs, "largest_over_smallest_history": round(largest_over_smallest, 2)},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
