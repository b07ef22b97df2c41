"""The incremental MERGE of fct_order_events against the hand-written floor, on DuckDB.

For each history size H (default 10M and 50M events):
  1. H events of history are written to raw.orders_events (one year, in arrival order) and
     built into analytics.fct_order_events by dbt (a full build, timed for information);
  2. a batch of --batch copies lands: 95% new events, 5% duplicates (half within the
     batch, half of recent history, inside the dedup window);
  3. the dbt model runs incrementally (`dbt run -s fct_order_events`): its execution time
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

from onceonly.contract import ORDERS
from onceonly.dbt_runner import run_dbt
from onceonly.settings import Settings
from onceonly.targets.duckdb import DuckDBTarget

HISTORY_SQL = """
insert into raw.orders_events
select
    'h-' || i as event_id,
    case i % 4 when 0 then 'order_placed' when 1 then 'payment_captured'
        when 2 then 'order_shipped' else 'order_refunded' end as event_type,
    t as occurred_at,
    'p-' || (i % 8) as producer_id,
    0 as producer_epoch,
    i // 8 as sequence_number,
    'o-' || (i // 4) as order_id,
    'c-' || (i % 50000) as customer_id,
    'sku-' || (i % 500) as product_id,
    1 + i % 4 as quantity,
    cast((i % 20000) / 100.0 as decimal(18, 2)) as amount,
    'EUR' as currency,
    null as _extra,
    'history' as _batch_id,
    'history/' || (i // 100000) || '.jsonl' as _source_file,
    i % 100000 + 1 as _line_number,
    date_trunc('hour', t) as _arrived_at,
    t + interval 1 hour as _loaded_at
from (
    select i, timestamp '2025-01-01' + to_microseconds(
        cast(i * (365.0 * 86400 * 1000000 / $history) as bigint)) as t
    from range($history) as r(i)
)
"""

BATCH_SQL = """
insert into raw.orders_events
with picks as (
    select i,
        case when i < $new then 'b-' || i                                   -- new events
             when i < $new + $dup_batch then 'b-' || (i % $new)              -- in-batch dups
             else 'h-' || ($history - 1 - (i % 10000)) end as event_id        -- recent history
    from range($batch) as r(i)
)
select
    event_id,
    'order_placed', timestamp '2026-01-01' - interval 1 hour + to_microseconds(i), 'p-9', 1,
    i, 'o-b' || i, 'c-1', 'sku-1', 1, cast(9.99 as decimal(18, 2)), 'EUR', null,
    'batch', 'batch/' || (i // 100000) || '.jsonl', i % 100000 + 1,
    timestamp '2026-01-01 00:00:00', timestamp '2026-01-01 01:00:00'
from picks
"""

# The floor, written by hand: one statement doing the in-batch dedup and the MERGE, reading
# the batch the way the model does (the staged view, after the facts' newest _loaded_at).
FLOOR_SQL = """
merge into analytics.fct_order_events as t
using (
    select * exclude (copy_rank) from (
        select *, row_number() over (
            partition by event_id order by _loaded_at, _source_file, _line_number) as copy_rank
        from staging.stg_orders__events
        where _loaded_at > (select max(_loaded_at) from analytics.fct_order_events)
    ) where copy_rank = 1
) as s
on t.event_id = s.event_id and t.event_date >= date '2025-12-25'
when matched then update set event_id = s.event_id
when not matched then insert by name
"""


# The same with the batch picked by a literal watermark (what a hand-written job that
# remembers its last load time would do).
FLOOR_LITERAL_SQL = FLOOR_SQL.replace(
    "(select max(_loaded_at) from analytics.fct_order_events)", "timestamp '2025-12-31 23:59:59'"
)


def bench(history: int, batch: int, work: Path) -> dict[str, object]:
    db = work / f"h{history}.duckdb"
    db.unlink(missing_ok=True)
    target = DuckDBTarget(db)
    target.ensure_raw_tables(ORDERS)
    t0 = time.perf_counter()
    target.con.execute(HISTORY_SQL.replace("$history", str(history)))
    history_s = time.perf_counter() - t0
    target.close()

    settings = Settings(target="duckdb", duckdb_path=db)
    t0 = time.perf_counter()
    run_dbt("run", settings, ["-s", "stg_orders__events", "fct_order_events"])
    full_build_s = time.perf_counter() - t0

    dup_batch = batch * 25 // 1000
    new = batch - 2 * dup_batch
    con = duckdb.connect(str(db))
    con.execute(
        BATCH_SQL.replace("$history", str(history))
        .replace("$batch", str(batch))
        .replace("$new", str(new))
        .replace("$dup_batch", str(dup_batch))
    )
    con.execute("checkpoint")
    con.close()
    floor_db = work / f"h{history}-floor.duckdb"
    shutil.copy(db, floor_db)
    literal_db = work / f"h{history}-literal.duckdb"
    shutil.copy(db, literal_db)

    t0 = time.perf_counter()
    result = run_dbt("run", settings, ["-s", "fct_order_events"])
    dbt_wall_s = time.perf_counter() - t0
    model_s = result.seconds["model.onceonly.fct_order_events"]

    con = duckdb.connect(str(floor_db))
    t0 = time.perf_counter()
    con.execute(FLOOR_SQL)
    floor_s = time.perf_counter() - t0
    floor_rows = con.execute("select count(*) from analytics.fct_order_events").fetchone()
    con.close()
    con = duckdb.connect(str(literal_db))
    t0 = time.perf_counter()
    con.execute(FLOOR_LITERAL_SQL)
    literal_s = time.perf_counter() - t0
    con.close()
    con = duckdb.connect(str(db))
    model_rows = con.execute("select count(*) from analytics.fct_order_events").fetchone()
    con.close()
    assert floor_rows == model_rows == (history + new,), (floor_rows, model_rows, history + new)
    for path in (db, floor_db, literal_db):
        path.unlink()
    return {
        "history_events": history,
        "batch_copies": batch,
        "batch_duplicates": 2 * dup_batch,
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
