"""The expected warehouse contents, computed from the planned deliveries alone.

This is a second, independent implementation of the contract in DESIGN §4 (plain Python
over the generator's own records, no SQL): the tests hold the warehouse to it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from onceonly.generate.deliveries import GenFile
from onceonly.generate.events import Event

ZERO = Decimal("0.00")

#: The columns of each _truth/<name>.csv, in order.
TRUTH_COLUMNS: dict[str, tuple[str, ...]] = {
    "fct_orders_events": (
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
    "fct_orders": (
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
    "fct_daily_revenue": (
        "revenue_date",
        "product_id",
        "orders_placed",
        "gross_revenue",
        "refunds",
        "net_revenue",
    ),
    "sequence_gaps": (
        "producer_id",
        "producer_epoch",
        "first_missing",
        "last_missing",
        "missing_count",
    ),
    "event_conflicts": ("event_id", "copies", "versions"),
    "late_duplicates": ("event_id", "source_file", "line_number", "occurred_at", "arrived_at"),
    "files": (
        "source_file",
        "arrived_at",
        "status",
        "lines",
        "landed",
        "quarantined",
        "new_events",
        "duplicates_in_file",
        "duplicates_of_earlier",
    ),
    "quarantine": ("source_file", "line_number", "reason_code"),
}


@dataclass
class Copy:
    event: Event
    source_file: str
    line_number: int
    arrived_at: datetime


@dataclass
class Truth:
    fct_orders_events: list[dict[str, object]]
    fct_orders: list[dict[str, object]]
    fct_daily_revenue: list[dict[str, object]]
    sequence_gaps: list[dict[str, object]]
    event_conflicts: list[dict[str, object]]
    late_duplicates: list[dict[str, object]]
    files: list[dict[str, object]]
    quarantine: list[dict[str, object]]
    tables: dict[str, list[dict[str, object]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.tables = {
            name: getattr(self, name)
            for name in (
                "fct_orders_events",
                "fct_orders",
                "fct_daily_revenue",
                "sequence_gaps",
                "event_conflicts",
                "late_duplicates",
                "files",
                "quarantine",
            )
        }


def _line_count(data: bytes) -> int:
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def compute(files: list[GenFile], stream: str, window_days: int = 7) -> Truth:
    ordered = sorted(files, key=lambda f: (f.arrived_at, f.name))
    landed_hashes: set[str] = set()
    copies: list[Copy] = []
    file_rows: list[dict[str, object]] = []
    quarantine: list[dict[str, object]] = []
    file_of_copy: list[int] = []
    for index, f in enumerate(ordered):
        data = f.data()
        source = f.path(stream)
        row: dict[str, object] = {"source_file": source, "arrived_at": f.arrived_at}
        sha = hashlib.sha256(data).hexdigest()
        if f.truncated:
            cut = data[: len(data) // 2]
            row.update(status="rejected", lines=_line_count(cut), landed=0, quarantined=0)
        elif sha in landed_hashes:
            row.update(status="skipped", lines=0, landed=0, quarantined=0)
        else:
            landed_hashes.add(sha)
            bad = 0
            for number, line in enumerate(f.lines, start=1):
                if line.event is None:
                    bad += 1
                    quarantine.append(
                        {
                            "source_file": source,
                            "line_number": number,
                            "reason_code": line.reason_code,
                        }
                    )
                else:
                    copies.append(Copy(line.event, source, number, f.arrived_at))
                    file_of_copy.append(index)
            n = len(f.lines)
            row.update(status="landed", lines=n, landed=n - bad, quarantined=bad)
        file_rows.append(row)

    winners: dict[str, Copy] = {}
    first_file: dict[str, int] = {}
    per_file: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    versions: dict[str, set[Event]] = defaultdict(set)
    n_copies: dict[str, int] = defaultdict(int)
    late: list[dict[str, object]] = []
    for c, fi in zip(copies, file_of_copy, strict=True):
        eid = c.event.event_id
        versions[eid].add(c.event)
        n_copies[eid] += 1
        if eid not in winners:
            winners[eid] = c
            first_file[eid] = fi
            per_file[fi]["new_events"] += 1
            continue
        if first_file[eid] == fi:
            per_file[fi]["duplicates_in_file"] += 1
        else:
            per_file[fi]["duplicates_of_earlier"] += 1
        if c.arrived_at - winners[eid].event.occurred_at > timedelta(days=window_days):
            late.append(
                {
                    "event_id": eid,
                    "source_file": c.source_file,
                    "line_number": c.line_number,
                    "occurred_at": winners[eid].event.occurred_at,
                    "arrived_at": c.arrived_at,
                }
            )
    for fi, row in enumerate(file_rows):
        for k in ("new_events", "duplicates_in_file", "duplicates_of_earlier"):
            row[k] = per_file[fi][k]

    facts = [w.event for w in winners.values()]
    fact_rows: list[dict[str, object]] = [
        {
            "event_id": e.event_id,
            "event_type": e.event_type,
            "occurred_at": e.occurred_at,
            "producer_id": e.producer_id,
            "producer_epoch": e.producer_epoch,
            "sequence_number": e.sequence_number,
            "order_id": e.order_id,
            "customer_id": e.customer_id,
            "product_id": e.product_id,
            "quantity": e.quantity,
            "amount": e.amount,
            "currency": e.currency,
            "_source_file": winners[e.event_id].source_file,
            "_line_number": winners[e.event_id].line_number,
        }
        for e in facts
    ]
    conflicts = [
        {"event_id": eid, "copies": n_copies[eid], "versions": len(v)}
        for eid, v in versions.items()
        if len(v) > 1
    ]
    return Truth(
        sorted(fact_rows, key=lambda r: str(r["event_id"])),
        _orders(facts),
        _daily_revenue(facts),
        _gaps(facts),
        sorted(conflicts, key=lambda r: str(r["event_id"])),
        sorted(late, key=lambda r: (str(r["event_id"]), str(r["source_file"]), r["line_number"])),
        file_rows,
        quarantine,
    )


def _orders(facts: list[Event]) -> list[dict[str, object]]:
    by_order: dict[str, list[Event]] = defaultdict(list)
    for e in facts:
        by_order[e.order_id].append(e)
    rows: list[dict[str, object]] = []
    for order_id, events in sorted(by_order.items()):
        placed = [e for e in events if e.event_type == "order_placed"]
        p = min(placed, key=lambda e: (e.occurred_at, e.sequence_number)) if placed else None
        latest = max(events, key=lambda e: (e.occurred_at, e.sequence_number))
        rows.append(
            {
                "order_id": order_id,
                "customer_id": p.customer_id if p else None,
                "product_id": p.product_id if p else None,
                "quantity": p.quantity if p else None,
                "order_amount": p.amount if p else None,
                "placed_at": p.occurred_at if p else None,
                "captured_amount": sum(
                    (e.amount or ZERO for e in events if e.event_type == "payment_captured"), ZERO
                ),
                "refunded_amount": sum(
                    (e.amount or ZERO for e in events if e.event_type == "order_refunded"), ZERO
                ),
                "status": latest.event_type,
            }
        )
    return rows


def _daily_revenue(facts: list[Event]) -> list[dict[str, object]]:
    keyed: dict[tuple[date, str], dict[str, object]] = {}
    placed: dict[tuple[date, str], set[str]] = defaultdict(set)
    for e in facts:
        if e.event_type not in ("order_placed", "payment_captured", "order_refunded"):
            continue
        if e.product_id is None:
            continue
        key = (e.occurred_at.date(), e.product_id)
        row = keyed.setdefault(key, {"gross_revenue": ZERO, "refunds": ZERO})
        if e.event_type == "order_placed":
            placed[key].add(e.order_id)
        elif e.event_type == "payment_captured":
            row["gross_revenue"] = row["gross_revenue"] + (e.amount or ZERO)  # type: ignore[operator]
        else:
            row["refunds"] = row["refunds"] + (e.amount or ZERO)  # type: ignore[operator]
    return [
        {
            "revenue_date": d,
            "product_id": p,
            "orders_placed": len(placed[(d, p)]),
            "gross_revenue": row["gross_revenue"],
            "refunds": row["refunds"],
            "net_revenue": row["gross_revenue"] - row["refunds"],  # type: ignore[operator]
        }
        for (d, p), row in sorted(keyed.items())
    ]


def _gaps(facts: list[Event]) -> list[dict[str, object]]:
    seqs: dict[tuple[str, int], set[int]] = defaultdict(set)
    for e in facts:
        seqs[(e.producer_id, e.producer_epoch)].add(e.sequence_number)
    rows = []
    for (producer, epoch), present in sorted(seqs.items()):
        expected = 0
        for s in sorted(present):
            if s > expected:
                rows.append(
                    {
                        "producer_id": producer,
                        "producer_epoch": epoch,
                        "first_missing": expected,
                        "last_missing": s - 1,
                        "missing_count": s - expected,
                    }
                )
            expected = s + 1
    return rows
