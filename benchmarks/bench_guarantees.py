"""What a run costs at each guarantee, as history grows, on DuckDB (issue #14's aim:
10M delivered lines into 50M of history, effectively_once <= 1.3x and exactly_once
<= 1.6x at_least_once). The same section of `onceonly bench`, on its own.

For each guarantee: --history events written into raw.orders_events and built into the
facts at that guarantee (timed for information), then a batch of --batch copies (95% new
events, 5% the same content again) and the run that takes it in: the facts and what they
read in one dbt invocation, exactly_once's publish checks included. Prints JSON.

Usage: .venv/bin/python benchmarks/bench_guarantees.py [--history 50000000]
       [--batch 10000000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from onceonly.bench.suite import guarantees_at_history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=50_000_000)
    parser.add_argument("--batch", type=int, default=10_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = (args.workdir or Path(tempfile.mkdtemp(prefix="onceonly-guarantees-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    env = {"AIRFLOW_HOME": str(work / "airflow")}
    result = guarantees_at_history(
        work, env, args.history, args.batch, lambda m: print(m, file=sys.stderr, flush=True)
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
