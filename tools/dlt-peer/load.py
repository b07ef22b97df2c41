"""The peer a user would pick instead: dlt's filesystem source merging a landing zone's
JSON lines into DuckDB on the stream's key, timed. Runs in this folder's environment
(`make peer-dlt`), called by `onceonly bench --peer dlt`; writes its figures as JSON.

Usage: .venv/bin/python load.py --files DIR --key event_id --strategy delete-insert
       --duckdb OUT.duckdb --work DIR --out FIGURES.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

STRATEGIES = ("delete-insert", "insert-only")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=Path, required=True, help="the stream's folder")
    parser.add_argument("--key", required=True)
    parser.add_argument("--strategy", choices=STRATEGIES, required=True)
    parser.add_argument("--duckdb", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True, help="dlt's pipelines folder")
    parser.add_argument("--out", type=Path, required=True, help="where to write the figures")
    args = parser.parse_args()

    import dlt
    from dlt.sources.filesystem import filesystem, read_jsonl

    args.duckdb.unlink(missing_ok=True)
    started = time.perf_counter()
    files = filesystem(bucket_url=args.files.resolve().as_uri(), file_glob="**/*.jsonl*")
    events = (files | read_jsonl()).with_name("events")
    events.apply_hints(
        primary_key=args.key,
        write_disposition={"disposition": "merge", "strategy": args.strategy},
    )
    pipeline = dlt.pipeline(
        pipeline_name=f"peer_{args.strategy.replace('-', '_')}",
        pipelines_dir=str(args.work.resolve()),
        destination=dlt.destinations.duckdb(str(args.duckdb.resolve())),
        dataset_name="peer",
        progress=None,
    )
    pipeline.run(events)
    seconds = time.perf_counter() - started

    import duckdb

    with duckdb.connect(str(args.duckdb), read_only=True) as con:
        [(rows, keys)] = con.execute(
            f'select count(*), count(distinct "{args.key}") from peer.events'
        ).fetchall()
    args.out.write_text(
        json.dumps(
            {
                "peer": f"dlt {dlt.__version__}",
                "strategy": args.strategy,
                "seconds": round(seconds, 2),
                "rows": rows,
                "distinct_keys": keys,
                "duplicate_rows": rows - keys,
            }
        )
    )


if __name__ == "__main__":
    main()
