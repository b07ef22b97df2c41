"""Benchmark data, written by DuckDB itself (tens of millions of lines in seconds, a few
hundred MB of memory): a landing zone of valid deliveries, and synthetic history.

The deliveries: events spread over five days from eight producers (each numbering its
events 0, 1, 2, ... in order), realistic payloads (every contract field, one unknown
nested field on a fifth of the lines), 5% of events delivered twice (half again in the
same file, half in the next hour's file) and 1% first delivered one to three days late.
Each arrival hour is one file ``orders/dt=YYYY-MM-DD/hour=HH/part-0.jsonl``. No line is
malformed: the hand-written alternatives it is compared with cannot quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from onceonly.targets.duckdb import configure

#: delivered lines per distinct event (5% delivered twice)
COPIES_PER_EVENT = 1.05

_EVENTS = """
    select i,
        'ev-' || lpad(to_hex(hash(i)), 16, '0') || '-' || i as event_id,
        ['order_placed', 'payment_captured', 'order_shipped', 'order_refunded'][1 + (i % 4)::int]
            as event_type,
        timestamp '2026-01-05' + to_microseconds((i * (5.0 * 86400 * 1000000 / $events))::bigint)
            as t,
        'shop-' || (i % 8) as producer_id,
        i // 8 as sequence_number,
        'ord-' || (i // 4) as order_id,
        'cust-' || (hash(i // 4) % 200000) as customer_id,
        'sku-' || lpad((hash(i // 4 + 7) % 5000)::varchar, 5, '0') as product_id,
        1 + (hash(i // 4) % 5)::int as quantity,
        ((hash(i // 4 + 3) % 50000) / 100.0)::decimal(18, 2) as amount,
        case when i % 10 = 0 then 'USD' else 'EUR' end as currency,
        case when i % 5 = 0 then {'app': 'ios', 'version': '5.' || (i % 9)} end as client,
        case when hash(i + 1) % 100 = 0 then interval 1 day * (1 + hash(i) % 3)
             else interval 1 minute * (hash(i + 2) % 60) end as delay,
        hash(i + 5) % 1000 as dup_draw
    from range($events) as r(i)
"""

_DELIVERIES = f"""
copy (
    with events as ({_EVENTS}),
    copies as (
        select *, t + delay as arrival, 0 as copy from events
        union all
        select *, t + delay + case when dup_draw < 25 then interval 0 minute
                                   else interval 1 hour end, 1
        from events where dup_draw < 50
    )
    select event_id, event_type, strftime(t, '%Y-%m-%dT%H:%M:%S.%gZ') as occurred_at,
        producer_id, 0 as producer_epoch, sequence_number, order_id, customer_id, product_id,
        quantity, amount::varchar as amount, currency, client,
        strftime(arrival, '%Y-%m-%d') as dt, strftime(arrival, '%H') as hour
    from copies
    order by arrival, producer_id, sequence_number, copy
) to '$out' (
    format json, partition_by (dt, hour), filename_pattern 'part-{{i}}',
    file_extension 'jsonl', write_partition_columns false
)
"""

_COUNTS = f"""
with events as ({_EVENTS})
select count(*), count(*) filter (where dup_draw < 50),
    count(*) filter (where delay >= interval 1 day)
from events
"""


@dataclass(frozen=True)
class Deliveries:
    lines: int
    events: int
    duplicated_events: int
    late_events: int


def write_deliveries(landing: Path, lines: int) -> Deliveries:
    """About ``lines`` delivered lines of the orders stream into ``landing``."""
    events = max(1, round(lines / COPIES_PER_EVENT))
    out = landing / "orders"
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        configure(con)
        con.execute("set preserve_insertion_order = false")
        con.execute(_DELIVERIES.replace("$events", str(events)).replace("$out", out.as_posix()))
        n, duplicated, late = con.execute(_COUNTS.replace("$events", str(events))).fetchone()  # type: ignore[misc]
    finally:
        con.close()
    return Deliveries(n + duplicated, n, duplicated, late)


# History for the incremental-cost measurement, written straight into raw.orders_events
# (one year before the deliveries, in arrival order), and a 1M-copy batch after it: 95%
# new events, 2.5% duplicates within the batch, 2.5% of recent history (inside the window).
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

#: the batch's new events ($new of them)
BATCH_SQL = """
insert into raw.orders_events
select
    'b-' || i,
    'order_placed', timestamp '2026-01-01' - interval 1 hour + to_microseconds(i), 'p-9', 1,
    i, 'o-b' || i, 'c-1', 'sku-1', 1, cast(9.99 as decimal(18, 2)), 'EUR', null,
    'batch', 'batch/' || (i // 100000) || '.jsonl', i % 100000 + 1,
    timestamp '2026-01-01 00:00:00', timestamp '2026-01-01 01:00:00'
from range($new) as r(i)
"""

#: copies of events, the same content landed again in the batch: $dup_batch of the
#: batch's own events, then $dup_batch of the $recent newest of history
BATCH_COPIES_SQL = """
insert into raw.orders_events
select orders_events.* replace (
    'batch' as _batch_id,
    'batch/copies.jsonl' as _source_file,
    row_number() over () as _line_number,
    timestamp '2026-01-01 00:00:00' as _arrived_at,
    timestamp '2026-01-01 01:00:00' as _loaded_at
)
from raw.orders_events
inner join (  -- one copy per pick: an event picked twice is copied twice
    select 'b-' || (i % $new) as picked from range($dup_batch) as r(i)
    union all
    select 'h-' || ($history - 1 - (i % $recent)) from range($dup_batch) as r(i)
) as picks on picks.picked = event_id
"""


def write_history(con: duckdb.DuckDBPyConnection, history: int) -> None:
    con.execute(HISTORY_SQL.replace("$history", str(history)))


def write_batch(con: duckdb.DuckDBPyConnection, history: int, batch: int) -> int:
    """The batch after ``history``: new events and copies (the same content) of some of
    them and of recent history; returns its number of new events."""
    dup_batch = batch * 25 // 1000
    new = batch - 2 * dup_batch
    con.execute(BATCH_SQL.replace("$new", str(new)))
    con.execute(
        BATCH_COPIES_SQL.replace("$history", str(history))
        .replace("$new", str(new))
        .replace("$dup_batch", str(dup_batch))
        .replace("$recent", str(max(1, min(10_000, history))))
    )
    return new
