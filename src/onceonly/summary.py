"""Readable summaries for the terminal."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from rich.table import Table

from onceonly.contract import StreamContract
from onceonly.landing import LandingSummary
from onceonly.raw_tables import LEDGER_RELATION, QUARANTINE_RELATION
from onceonly.reconcile import AuditResult
from onceonly.sql import Param, sql
from onceonly.targets import Warehouse


def landing_table(summary: LandingSummary) -> Table:
    table = Table(title=f"landing {summary.stream} (batch {summary.batch_id[:12]})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("files landed", summary.count("landed")),
        ("files skipped (content already landed)", summary.count("skipped")),
        ("files rejected (manifest mismatch or unreadable)", summary.count("rejected")),
        ("lines read", summary.total("lines")),
        ("rows landed", summary.total("landed")),
        ("lines quarantined", summary.total("quarantined")),
    ]
    for name, value in rows:
        table.add_row(name, f"{value:,}")
    for code, n in sorted(summary.reasons.items()):
        table.add_row(f"  quarantined: {code}", f"{n:,}")
    for f in summary.files:
        if f.status == "rejected":
            table.add_row(f"  rejected: {f.source_file}", f.detail or "")
    return table


def findings_table(found: dict[str, int], stream: str, audit: AuditResult | None = None) -> Table:
    table = Table(title=f"{stream}: deduplicated facts and data quality findings")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in found.items():
        table.add_row(name, f"{value:,}")
    if audit is not None:
        table.add_row("duplicate fact rows found by the full audit", f"{audit.extra_rows:,}")
        table.add_row("duplicate fact rows removed", f"{audit.removed:,}")
    return table


def ledger_table(warehouse: Warehouse, since: datetime) -> Table:
    """What the landing attempts since ``since`` did, from raw.load_ledger."""
    rows = warehouse.query(
        sql(
            "select status, count(*), coalesce(sum(lines_read), 0), "
            "coalesce(sum(rows_landed), 0), coalesce(sum(rows_quarantined), 0) from {ledger} "
            "where attempted_at >= {since} group by status order by status",
            ledger=LEDGER_RELATION,
            since=Param(since),
        )
    )
    table = Table(
        "files",
        "count",
        "lines read",
        "rows landed",
        "lines quarantined",
        title="landing (this run)",
    )
    for status, n, lines, landed, quarantined in rows:
        table.add_row(str(status), f"{n:,}", f"{lines:,}", f"{landed:,}", f"{quarantined:,}")
    reasons = warehouse.query(
        sql(
            "select reason_code, count(*) from {quarantine} where quarantined_at >= {since} "
            "group by 1 order by 1",
            quarantine=QUARANTINE_RELATION,
            since=Param(since),
        )
    )
    for code, n in reasons:
        table.add_row(f"  quarantined: {code}", "", "", "", f"{n:,}")
    return table


def not_landed(warehouse: Warehouse, since: datetime) -> tuple[int, int]:
    """(files and entries rejected, lines quarantined) by the landing attempts since
    ``since``, from raw.load_ledger."""
    [(rejected, quarantined)] = warehouse.query(
        sql(
            "select coalesce(sum(case when status = 'rejected' then 1 else 0 end), 0), "
            "coalesce(sum(case when status = 'landed' then rows_quarantined else 0 end), 0) "
            "from {ledger} where attempted_at >= {since}",
            ledger=LEDGER_RELATION,
            since=Param(since),
        )
    )
    return int(str(rejected or 0)), int(str(quarantined or 0))


def not_published(warehouse: Warehouse, streams: Iterable[StreamContract]) -> dict[str, int]:
    """Per exactly_once stream of ``streams`` that holds keys out of its facts: how many
    (keys of a batch a publish check held, and keys held for conflicting copies)."""
    from onceonly.report.figures import read_waiting

    out = {}
    for contract in streams:
        waiting = read_waiting(warehouse, contract)
        keys = waiting["keys"] + len(waiting["held"])
        if keys:
            out[contract.stream] = keys
    return out
