"""The checks, as data: suite, table, expectation, SQL per engine, default severity.

Severities: ``error`` fails the run, ``warn`` is reported. Override with
ONCEONLY_CHECK_SEVERITY, e.g. ``gaps.sequence_holes=error,conflicts=error`` (a check name
or a suite's short name).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace

FACTS = "analytics.fct_order_events"


@dataclass(frozen=True)
class Check:
    name: str  # <suite short name>.<check>
    suite: str  # GX suite name: <table>.<concern>; one table per suite
    table: str  # the asset the check runs on ({batch} in the SQL)
    description: str
    severity: str = "error"
    unique_column: str | None = None  # ExpectColumnValuesToBeUnique on this column
    sql: str | None = None  # UnexpectedRowsExpectation query (same on every engine)
    sql_by_engine: tuple[tuple[str, str], ...] = ()  # engine-specific queries

    def query(self, engine: str) -> str | None:
        return dict(self.sql_by_engine).get(engine, self.sql)


_FIRST_COPIES = """
    select * from (
        select *, row_number() over (
            partition by event_id order by _loaded_at, _source_file, _line_number
        ) as copy_rank
        from raw.orders_events
    ) as ranked where copy_rank = 1
"""


def _missing_hours(hour_of: Callable[[str], str], hours_from_bounds: str) -> str:
    """Hours between the first and the last event's hour with no event, in one engine's
    SQL: ``hour_of`` truncates a timestamp expression to its hour, ``hours_from_bounds``
    lists the hours from ``lo`` to ``hi`` of the ``bounds`` CTE."""
    return f"""
    with bounds as (
        select {hour_of("min(occurred_at)")} as lo, {hour_of("max(occurred_at)")} as hi
        from {{batch}}
    ),
    hours as ({hours_from_bounds}),
    seen as (select distinct {hour_of("occurred_at")} as hour from {{batch}})
    select hours.hour from hours left join seen on hours.hour = seen.hour
    where seen.hour is null
"""


def _date_trunc_hour(expr: str) -> str:
    return f"date_trunc('hour', {expr})"


CHECKS: tuple[Check, ...] = (
    Check(
        "duplicates.event_id_unique",
        "fct_order_events.duplicates",
        FACTS,
        "each event_id is held once in the facts",
        unique_column="event_id",
    ),
    Check(
        "duplicates.sequence_unique",
        "fct_order_events.duplicates",
        FACTS,
        "(producer_id, producer_epoch, sequence_number) is held once in the facts",
        sql="select producer_id, producer_epoch, sequence_number, count(*) as copies "
        "from {batch} group by producer_id, producer_epoch, sequence_number "
        "having count(*) > 1",
    ),
    Check(
        "gaps.sequence_holes",
        "fct_order_events.gaps",
        FACTS,
        "no hole in a producer's sequence (per epoch)",
        severity="warn",
        sql="select producer_id, producer_epoch, previous_number + 1 as first_missing, "
        "sequence_number - 1 as last_missing from ("
        " select producer_id, producer_epoch, sequence_number, coalesce(lag(sequence_number)"
        " over (partition by producer_id, producer_epoch order by sequence_number), -1)"
        " as previous_number from {batch}) as s "
        "where sequence_number > previous_number + 1",
    ),
    Check(
        "gaps.missing_hours",
        "fct_order_events.gaps",
        FACTS,
        "every hour inside the stream's observed range has events",
        severity="warn",
        sql_by_engine=(
            (
                "duckdb",
                _missing_hours(
                    _date_trunc_hour,
                    "select unnest(generate_series(lo, hi, interval '1 hour')) as hour from bounds",
                ),
            ),
            (
                "postgres",
                _missing_hours(
                    _date_trunc_hour,
                    "select generate_series(lo, hi, interval '1 hour') as hour from bounds",
                ),
            ),
            (
                "bigquery",
                _missing_hours(
                    lambda expr: f"timestamp_trunc({expr}, hour)",
                    "select hour from bounds, "
                    "unnest(generate_timestamp_array(lo, hi, interval 1 hour)) as hour",
                ),
            ),
        ),
    ),
    Check(
        "reconciliation.events_in_facts",
        "fct_order_events.reconciliation",
        FACTS,
        "distinct valid event_ids in raw = rows in the facts (names each event_id)",
        sql="select distinct r.event_id, 'in raw, not in the facts' as problem "
        "from raw.orders_events as r left join {batch} as f on f.event_id = r.event_id "
        "where f.event_id is null "
        "union all "
        "select distinct f.event_id, 'in the facts, not in raw' as problem "
        "from {batch} as f left join raw.orders_events as r on r.event_id = f.event_id "
        "where r.event_id is null",
    ),
    Check(
        "reconciliation.file_accounting",
        "load_ledger.control_totals",
        "raw.load_ledger",
        "per landed file: lines read = rows landed + rows quarantined",
        sql="select source_file, lines_read, rows_landed, rows_quarantined from {batch} "
        "where status = 'landed' and lines_read <> rows_landed + rows_quarantined",
    ),
    Check(
        "reconciliation.manifest_counts",
        "load_ledger.control_totals",
        "raw.load_ledger",
        "per landed file with a manifest: record_count = lines read",
        sql="select source_file, manifest_record_count, lines_read from {batch} "
        "where status = 'landed' and manifest_record_count is not null "
        "and manifest_record_count <> lines_read",
    ),
    Check(
        "reconciliation.daily_revenue",
        "fct_daily_revenue.reconciliation",
        "analytics.fct_daily_revenue",
        "daily revenue in the facts = the same sums recomputed from raw's first copies",
        sql="with first_copies as (" + _FIRST_COPIES + "), "
        "recomputed as ("
        " select cast(occurred_at as date) as revenue_date, product_id,"
        " sum(case when event_type = 'payment_captured' then amount else 0 end) as gross,"
        " sum(case when event_type = 'order_refunded' then amount else 0 end) as refunds"
        " from first_copies where product_id is not null and event_type in"
        " ('order_placed', 'payment_captured', 'order_refunded')"
        " group by cast(occurred_at as date), product_id) "
        "select coalesce(f.revenue_date, r.revenue_date) as revenue_date,"
        " coalesce(f.product_id, r.product_id) as product_id,"
        " f.gross_revenue, r.gross as recomputed_gross, f.refunds, r.refunds as recomputed_refunds "
        "from {batch} as f full outer join recomputed as r"
        " on f.revenue_date = r.revenue_date and f.product_id = r.product_id "
        "where f.gross_revenue is distinct from r.gross or f.refunds is distinct from r.refunds",
    ),
    Check(
        "conflicts.conflicting_copies",
        "event_conflicts.conflicts",
        "dq.event_conflicts",
        "no event_id delivered with differing content",
        severity="warn",
        sql="select event_id, copies, versions from {batch}",
    ),
)


def configured(checks: tuple[Check, ...] = CHECKS) -> tuple[Check, ...]:
    """The checks with severities overridden from ONCEONLY_CHECK_SEVERITY."""
    from onceonly.errors import ConfigError

    overrides: dict[str, str] = {}
    for item in filter(None, os.environ.get("ONCEONLY_CHECK_SEVERITY", "").split(",")):
        key, _, value = item.strip().partition("=")
        if value not in ("error", "warn"):
            raise ConfigError(
                f"ONCEONLY_CHECK_SEVERITY: {item!r} should be <check or suite>=error|warn"
            )
        overrides[key] = value
    known = {c.name for c in checks} | {c.name.split(".")[0] for c in checks}
    unknown = set(overrides) - known
    if unknown:
        raise ConfigError(f"ONCEONLY_CHECK_SEVERITY names unknown checks: {sorted(unknown)}")
    return tuple(
        replace(c, severity=overrides.get(c.name, overrides.get(c.name.split(".")[0], c.severity)))
        for c in checks
    )
