"""What users would otherwise write, by hand, in DuckDB: the yardsticks of `onceonly bench`.

- the floor: read the files, deduplicate the batch, one MERGE into the facts, recompute
  the aggregates of the touched keys (exactly once, no landing contract, no ledger, no
  quarantine, no checks);
- append-only: every landed copy appended to the facts, aggregates recomputed for the
  touched keys over all copies (at-least-once: duplicates counted twice);
- full refresh: the facts and the aggregates rebuilt from all of raw on every run.

The aggregates are the same as the dbt models' (orders: placed details, amounts captured
and refunded, latest status; daily revenue per product), so each alternative does the
work the pipeline does.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from onceonly.targets.duckdb import connect

FACT_COLUMNS = (
    "event_id, event_type, occurred_at, cast(occurred_at as date) as _event_date, producer_id, "
    "producer_epoch, sequence_number, order_id, customer_id, product_id, quantity, amount, "
    "currency"
)

_JSON_COLUMNS = (
    "{event_id: 'VARCHAR', event_type: 'VARCHAR', occurred_at: 'TIMESTAMP', "
    "producer_id: 'VARCHAR', producer_epoch: 'BIGINT', sequence_number: 'BIGINT', "
    "order_id: 'VARCHAR', customer_id: 'VARCHAR', product_id: 'VARCHAR', quantity: 'BIGINT', "
    "amount: 'DECIMAL(18,2)', currency: 'VARCHAR'}"
)


def _orders(events: str, where: str = "true") -> str:
    return f"""
        select order_id,
            arg_min(customer_id, (occurred_at, sequence_number))
                filter (where event_type = 'order_placed') as customer_id,
            arg_min(product_id, (occurred_at, sequence_number))
                filter (where event_type = 'order_placed') as product_id,
            arg_min(quantity, (occurred_at, sequence_number))
                filter (where event_type = 'order_placed') as quantity,
            arg_min(amount, (occurred_at, sequence_number))
                filter (where event_type = 'order_placed') as order_amount,
            min(occurred_at) filter (where event_type = 'order_placed') as placed_at,
            coalesce(sum(amount) filter (where event_type = 'payment_captured'), 0)
                as captured_amount,
            coalesce(sum(amount) filter (where event_type = 'order_refunded'), 0)
                as refunded_amount,
            arg_max(event_type, (occurred_at, sequence_number)) as status
        from {events} where {where} group by order_id
    """


def _daily_revenue(events: str, where: str = "true") -> str:
    return f"""
        select _event_date as revenue_date, product_id,
            count(distinct order_id) filter (where event_type = 'order_placed') as orders_placed,
            coalesce(sum(amount) filter (where event_type = 'payment_captured'), 0)
                as gross_revenue,
            coalesce(sum(amount) filter (where event_type = 'order_refunded'), 0) as refunds
        from {events}
        where {where} and product_id is not null
            and event_type in ('order_placed', 'payment_captured', 'order_refunded')
        group by _event_date, product_id
    """


def _recompute_touched(con: duckdb.DuckDBPyConnection, facts: str) -> None:
    """Replace the aggregate rows of the keys the `batch` table touched (SET, not +=)."""
    con.execute("create temp table touched_orders as select distinct order_id from batch")
    con.execute(
        "create temp table touched_days as select distinct _event_date, product_id from batch"
    )
    con.execute(
        "delete from analytics.fct_orders where order_id in (select order_id from touched_orders)"
    )
    con.execute(
        "insert into analytics.fct_orders "
        + _orders(facts, "order_id in (select order_id from touched_orders)")
    )
    con.execute(
        "delete from analytics.fct_daily_revenue where (revenue_date, product_id) in "
        "(select (_event_date, product_id) from touched_days)"
    )
    con.execute(
        "insert into analytics.fct_daily_revenue "
        + _daily_revenue(
            facts,
            "(_event_date, product_id) in (select (_event_date, product_id) from touched_days)",
        )
    )


def _empty_marts(con: duckdb.DuckDBPyConnection, facts_from: str) -> None:
    con.execute("create schema if not exists analytics")
    con.execute(
        f"create table if not exists analytics.fct_orders_events as "
        f"select {FACT_COLUMNS} from {facts_from} limit 0"
    )
    con.execute(
        "create table if not exists analytics.fct_orders as "
        + _orders("analytics.fct_orders_events")
        + " limit 0"
    )
    con.execute(
        "create table if not exists analytics.fct_daily_revenue as "
        + _daily_revenue("analytics.fct_orders_events")
        + " limit 0"
    )


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    [(rows,)] = con.execute(f"select count(*) from {table}").fetchall()
    return int(rows)


def _take_in_batch(con: duckdb.DuckDBPyConnection, statement: str) -> int:
    """In one transaction, put the `batch` table into the facts with ``statement`` and
    recompute the touched aggregates; returns the number of fact rows."""
    _empty_marts(con, "batch")
    con.execute("begin")
    con.execute(statement)
    _recompute_touched(con, "analytics.fct_orders_events")
    con.execute("commit")
    return _count(con, "analytics.fct_orders_events")


def floor(db: Path, landing: Path) -> int:
    """Files in, exactly-once facts and aggregates out, in one hand-written script.
    Returns the number of facts."""
    files = (landing / "orders" / "*" / "*" / "*.jsonl").as_posix()
    with connect(db) as con:
        con.execute(
            f"create temp table delivered as select *, filename from read_json('{files}', "
            f"format = 'newline_delimited', columns = {_JSON_COLUMNS}, filename = true, "
            "hive_partitioning = false)"
        )
        con.execute(
            f"create temp table batch as select {FACT_COLUMNS} from delivered "
            "qualify row_number() over (partition by event_id order by filename) = 1"
        )
        return _take_in_batch(
            con,
            "merge into analytics.fct_orders_events as t using batch as s "
            "on t.event_id = s.event_id when not matched then insert by name",
        )


def append_only(db: Path) -> int:
    """Every landed copy (raw.orders_events) appended to the facts, aggregates over all
    copies. Returns the number of fact rows."""
    with connect(db) as con:
        con.execute(f"create temp table batch as select {FACT_COLUMNS} from raw.orders_events")
        return _take_in_batch(
            con, "insert into analytics.fct_orders_events by name select * from batch"
        )


def full_refresh(db: Path) -> int:
    """The facts and the aggregates rebuilt from all of raw. Returns the number of facts."""
    with connect(db) as con:
        con.execute("create schema if not exists refresh")
        con.execute(
            f"create or replace table refresh.fct_orders_events as select {FACT_COLUMNS} "
            "from raw.orders_events qualify row_number() over ("
            "partition by event_id order by _loaded_at, _source_file, _line_number) = 1"
        )
        con.execute(
            "create or replace table refresh.fct_orders as " + _orders("refresh.fct_orders_events")
        )
        con.execute(
            "create or replace table refresh.fct_daily_revenue as "
            + _daily_revenue("refresh.fct_orders_events")
        )
        return _count(con, "refresh.fct_orders_events")
