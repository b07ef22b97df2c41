"""The incremental MERGE of fct_orders_events against the hand-written floor, on DuckDB.

For each history size H (default 10M and 50M events):
  1. H events of history are written to raw.orders_events (one year, in arrival order) and
     built into analytics.fct_orders_events by dbt (a full build, timed for information);
  2. a batch of --batch copies lands: 95% new events, 5% duplicates (half within the
     batch, half of recent history, inside the dedup window);
  3. the dbt model runs incrementally (`dbt run -s fct_orders_events`): its execution time
     as dbt reports it (temp batch table, window query, MERGE) and dbt's wall time;
  4. on a copy of the same database, the floor: one hand-written statement doing the
     in-batch dedup and the MERGE (DESIGN §8).
Both must leave the same facts; the script checks it. Prints JSON.

Usage: .venv/bin/python benchmarks/bench_dedup.py [--history 10000000 50000000]
       [--batch 1000000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from onceonly.bench.data import write_batch, write_history
from onceonly.dbt_runner import run_dbt
from onceonly.settings import Settings
from onceonly.streams import example
from onceonly.targets.duckdb import DuckDBTarget

# The floor, written by hand: one statement doing the in-batch dedup and the MERGE, reading
# the batch the way the model does (the staged view, after the facts' newest _loaded_at).
FLOOR_SQL = """
merge into analytics.fct_orders_events as t
using (
    select * exclude (copy_rank) from (
        select *, row_number() over (
            partition by event_id order by _loaded_at, _source_file, _line_number) as copy_rank
        from staging.stg_orders__events
        where _loaded_at > (select max(_loaded_at) from analytics.fct_orders_events)
    ) where copy_rank = 1
) as s
on t.event_id = s.event_id and t._event_date >= date '2025-12-25'
when matched then update set event_id = s.event_id
when not matched then insert by name
"""


# The same with the batch picked by a literal watermark (what a hand-written job that
# remembers its last load time would do).
FLOOR_LITERAL_SQL = FLOOR_SQL.replace(
    "(select max(_loaded_at) from analytics.fct_orders_events)", "timestamp '2025-12-31 23:59:59'"
)


def bench(history: int, batch: int, work: Path) -> dict[str, object]:
    db = work / f"h{history}.duckdb"
    db.unlink(missing_ok=True)
    target = DuckDBTarget(db)
    target.ensure_raw_tables(example("orders"))
    t0 = time.perf_counter()
    write_history(target.con, history)
    history_s = time.perf_counter() - t0
    target.close()

    settings = Settings(target="duckdb", duckdb_path=db)
    t0 = time.perf_counter()
    run_dbt("run", settings, ["-s", "tag:stream:orders"])
    full_build_s = time.perf_counter() - t0

    con = duckdb.connect(str(db))
    new = write_batch(con, history, batch)
    con.execute("checkpoint")
    con.close()
    floor_db = work / f"h{history}-floor.duckdb"
    shutil.copy(db, floor_db)
    literal_db = work / f"h{history}-literal.duckdb"
    shutil.copy(db, literal_db)

    t0 = time.perf_counter()
    result = run_dbt("run", settings, ["-s", "fct_orders_events"])
    dbt_wall_s = time.perf_counter() - t0
    model_s = result.seconds["model.onceonly.fct_orders_events"]

    con = duckdb.connect(str(floor_db))
    t0 = time.perf_counter()
    con.execute(FLOOR_SQL)
    floor_s = time.perf_counter() - t0
    floor_rows = con.execute("select count(*) from analytics.fct_orders_events").fetchone()
    con.close()
    con = duckdb.connect(str(literal_db))
    t0 = time.perf_counter()
    con.execute(FLOOR_LITERAL_SQL)
    literal_s = time.perf_counter() - t0
    con.close()
    con = duckdb.connect(str(db))
    model_rows = con.execute("select count(*) from analytics.fct_orders_events").fetchone()
    con.close()
    assert floor_rows == model_rows == (history + new,), (floor_rows, model_rows, history + new)
    for path in (db, floor_db, literal_db):
        path.unlink()
    return {
        "history_events": history,
        "batch_copies": batch,
        "batch_duplicates": batch - new,
        "write_history_seconds": round(history_s, 2),
        "initial_full_build_seconds": round(full_build_s, 2),
        "incremental_model_seconds": round(model_s, 2),
        "incremental_dbt_wall_seconds": round(dbt_wall_s, 2),
        "floor_statement_seconds": round(floor_s, 2),
        "floor_literal_watermark_seconds": round(literal_s, 2),
        "model_over_floor": round(model_s / floor_s, 2),
        "model_over_literal_floor": round(model_s / literal_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--history", type=int, nargs="+", default=[10_000_000, 50_000_000])
    parser.add_argument("--batch", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="onceonly-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    runs = [bench(h, args.batch, work) for h in args.history]
    out: dict[str, object] = {
        "runs": runs,
        "machine": f"{platform.machine()}, {platform.python_version()}",
    }
    if len(runs) >= 2:
        out["largest_over_smallest_history"] = round(
            runs[-1]["incremental_model_seconds"] / runs[0]["incremental_model_seconds"],
            2,  # type: ignore[operator]
        )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
