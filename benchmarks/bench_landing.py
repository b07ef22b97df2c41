"""Landing throughput: valid lines per second for ~1M events (messy profile) into DuckDB.

Usage: .venv/bin/python benchmarks/bench_landing.py [--events 1000000] [--workdir DIR]
                                                    [--landing ZONE]
Generation is not timed; landing is timed end to end (read, validate, write, commit).
``--landing`` lands an existing zone's orders instead of generating one (to time two
versions on the same files).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

from onceonly.generate.writer import generate
from onceonly.landing import land
from onceonly.streams import example
from onceonly.targets.duckdb import DuckDBTarget


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--landing", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="onceonly-bench-"))
    landing, db = args.landing or work / "landing", work / "bench.duckdb"
    db.unlink(missing_ok=True)
    gen_s = None
    if args.landing is None:
        shutil.rmtree(landing, ignore_errors=True)
        t0 = time.perf_counter()
        generate(landing, n_events=args.events, days=args.days, seed=1, profile="messy")
        gen_s = round(time.perf_counter() - t0, 2)

    target = DuckDBTarget(db)
    t0 = time.perf_counter()
    summary = land(landing, target, example("orders"))
    land_s = time.perf_counter() - t0
    target.close()
    result = {
        "events": args.events if args.landing is None else None,
        "landing": str(landing),
        "files": len(summary.files),
        "lines_read": summary.total("lines"),
        "rows_landed": summary.total("landed"),
        "lines_quarantined": summary.total("quarantined"),
        "generate_seconds": gen_s,
        "land_seconds": round(land_s, 2),
        "valid_lines_per_second": round(summary.total("landed") / land_s),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "machine": f"{platform.machine()}, {platform.python_version()}",
    }
    print(json.dumps(result, indent=2))
    if args.workdir is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
