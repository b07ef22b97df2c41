"""Compare warehouse tables with a generated landing zone's ``_truth/`` (row for row)."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from onceonly.targets import Warehouse


@dataclass(frozen=True)
class Comparison:
    truth_file: str
    relation: str
    columns: tuple[str, ...]
    query: str | None = None  # defaults to selecting `columns` from `relation`


COMPARISONS = (
    Comparison(
        "fct_order_events",
        "analytics.fct_order_events",
        (
            "event_id",
            "event_type",
            "occurred_at",
            "producer_id",
            "producer_epoch",
            "sequence_number",
            "order_id",
            "customer_id",
            "product_id",
            "quantity",
            "amount",
            "currency",
            "_source_file",
            "_line_number",
        ),
    ),
    Comparison(
        "fct_orders",
        "analytics.fct_orders",
        (
            "order_id",
            "customer_id",
            "product_id",
            "quantity",
            "order_amount",
            "placed_at",
            "captured_amount",
            "refunded_amount",
            "status",
        ),
    ),
    Comparison(
        "fct_daily_revenue",
        "analytics.fct_daily_revenue",
        ("revenue_date", "product_id", "orders_placed", "gross_revenue", "refunds", "net_revenue"),
    ),
    Comparison(
        "sequence_gaps",
        "dq.sequence_gaps",
        ("producer_id", "producer_epoch", "first_missing", "last_missing", "missing_count"),
    ),
    Comparison("event_conflicts", "dq.event_conflicts", ("event_id", "copies", "versions")),
    Comparison(
        "late_duplicates",
        "dq.late_duplicates",
        ("event_id", "source_file", "line_number", "occurred_at", "arrived_at"),
    ),
    Comparison(
        "files",
        "dq.batch_reconciliation",
        (
            "source_file",
            "status",
            "lines",
            "landed",
            "quarantined",
            "new_events",
            "duplicates_in_file",
            "duplicates_of_earlier",
        ),
    ),
    Comparison(
        "quarantine",
        "raw.quarantine",
        ("source_file", "line_number", "reason_code"),
    ),
)


def canonical(value: object) -> str:
    """One text form per value, whatever the engine or the CSV wrote."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _canonical_csv(value: str, like: object) -> str:
    if value == "":
        return ""
    if isinstance(like, Decimal):
        return f"{Decimal(value):.2f}"
    if isinstance(like, datetime):
        return datetime.fromisoformat(value).isoformat(sep=" ")
    return value


@dataclass
class Difference:
    table: str
    missing: Counter[tuple[str, ...]]  # in the truth, not in the warehouse
    unexpected: Counter[tuple[str, ...]]  # in the warehouse, not in the truth

    @property
    def equal(self) -> bool:
        return not self.missing and not self.unexpected


def compare(warehouse: Warehouse, truth_dir: Path) -> list[Difference]:
    out = []
    for c in COMPARISONS:
        with (truth_dir / f"{c.truth_file}.csv").open(newline="") as fh:
            truth_rows = [tuple(r[col] for col in c.columns) for r in csv.DictReader(fh)]
        cols = ", ".join(c.columns)
        rows = warehouse.query(c.query or f"select {cols} from {c.relation}")
        sample = rows[0] if rows else None
        got = Counter(tuple(canonical(v) for v in row) for row in rows)
        expected = Counter(
            tuple(
                _canonical_csv(v, sample[i] if sample is not None else None)
                for i, v in enumerate(row)
            )
            for row in truth_rows
        )
        out.append(Difference(c.truth_file, expected - got, got - expected))
    return out


def checksum(warehouse: Warehouse, relation: str, columns: tuple[str, ...]) -> str:
    """An order-independent digest of a table's rows (for idempotence checks)."""
    import hashlib

    rows = warehouse.query(f"select {', '.join(columns)} from {relation}")
    lines = sorted("\x1f".join(canonical(v) for v in row) for row in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()
