"""The inventory example stream for the generator: stock movements from each warehouse's
management system, numbered from 1 per system, and the expected stock levels
(``fct_stock_levels``): applying a movement twice would oversell."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from onceonly.generate.model import (
    COMMON_MALFORMED_KINDS,
    StreamModel,
    common_malformed,
    dumps,
    timestamp,
    uuid,
)

WAREHOUSES = ("berlin", "lyon", "porto")
REASONS = ("received", "sold", "returned", "adjusted", "transferred_in", "transferred_out")
SEQUENCE_START = 1


@dataclass(frozen=True)
class Movement:
    movement_id: str
    reason: str
    sku: str
    warehouse_id: str
    quantity_delta: int
    moved_at: datetime  # naive UTC
    source_id: str
    source_seq: int
    unit_cost: Decimal | None = None

    @property
    def key(self) -> str:
        return self.movement_id

    @property
    def time(self) -> datetime:
        return self.moved_at

    @property
    def producer(self) -> str:
        return self.source_id

    @property
    def epoch(self) -> int:
        return 0

    @property
    def sequence(self) -> int:
        return self.source_seq


def simulate(rng: random.Random, n_events: int, start: datetime, days: int) -> list[Movement]:
    """About ``n_events`` movements in [start, start + days): receipts, sales, returns,
    adjustments and transfers between warehouses."""
    span_ms = int(timedelta(days=days).total_seconds() * 1000)
    skus = [f"sku-{i:03d}" for i in range(40)]
    drafts: list[Movement] = []

    def move(reason: str, sku: str, warehouse: str, delta: int, at: datetime) -> None:
        price = (Decimal(rng.randrange(100, 5000)) / 100).quantize(Decimal("0.01"))
        cost = price if reason == "received" else None
        drafts.append(
            Movement(uuid(rng), reason, sku, warehouse, delta, at, f"wms-{warehouse}", 0, cost)
        )

    while len(drafts) < n_events:
        at = start + timedelta(milliseconds=rng.randrange(span_ms))
        sku = skus[rng.randrange(len(skus))]
        warehouse = WAREHOUSES[rng.randrange(len(WAREHOUSES))]
        r = rng.random()
        if r < 0.2:
            move("received", sku, warehouse, rng.randint(10, 100), at)
        elif r < 0.75:
            move("sold", sku, warehouse, -rng.randint(1, 5), at)
        elif r < 0.85:
            move("returned", sku, warehouse, rng.randint(1, 2), at)
        elif r < 0.92:
            move("adjusted", sku, warehouse, rng.choice((-3, -2, -1, 1, 2, 3)), at)
        else:
            other = WAREHOUSES[(WAREHOUSES.index(warehouse) + 1) % len(WAREHOUSES)]
            n = rng.randint(1, 20)
            move("transferred_out", sku, warehouse, -n, at)
            move("transferred_in", sku, other, n, at + timedelta(minutes=rng.randint(30, 300)))
    end = start + timedelta(days=days)
    return _sequence([m for m in drafts[:n_events] if m.moved_at < end])


def _sequence(movements: list[Movement]) -> list[Movement]:
    """Number each system's movements by time, from SEQUENCE_START."""
    counters: dict[str, int] = {}
    out = []
    for m in sorted(movements, key=lambda m: (m.moved_at, m.movement_id)):
        seq = counters.get(m.source_id, SEQUENCE_START)
        counters[m.source_id] = seq + 1
        out.append(replace(m, source_seq=seq))
    return out


def to_json(m: Movement, rng: random.Random) -> dict[str, object]:
    obj: dict[str, object] = {
        "movement_id": m.movement_id,
        "reason": m.reason,
        "sku": m.sku,
        "warehouse_id": m.warehouse_id,
        "quantity_delta": m.quantity_delta,
        "moved_at": timestamp(m.moved_at, rng),
        "source_id": m.source_id,
        "source_seq": m.source_seq,
    }
    if m.unit_cost is not None:
        obj["unit_cost"] = f"{m.unit_cost:.2f}" if rng.random() < 0.5 else float(m.unit_cost)
    if rng.random() < 0.1:
        obj["operator"] = f"op-{rng.randrange(50):02d}"
    return obj


def conflicting(m: Movement) -> Movement:
    return replace(m, quantity_delta=m.quantity_delta + (1 if m.quantity_delta != -1 else -1))


#: Malformed kinds and the quarantine reason code each must get.
MALFORMED_KINDS = {
    **COMMON_MALFORMED_KINDS,
    "missing_movement_id": "missing_field",
    "delta_as_string": "wrong_type",
    "unknown_reason": "bad_value",
    "received_without_cost": "missing_field",
    "delta_out_of_range": "out_of_range",
}


def malformed(kind: str, m: Movement, rng: random.Random) -> bytes:
    obj = to_json(m, rng)
    common = common_malformed(kind, obj, "moved_at", m.moved_at, "sku")
    if common is not None:
        return common
    if kind == "missing_movement_id":
        obj.pop("movement_id")
    elif kind == "delta_as_string":
        obj["quantity_delta"] = str(m.quantity_delta)
    elif kind == "unknown_reason":
        obj["reason"] = "teleported"
    elif kind == "received_without_cost":
        obj.update(reason="received", quantity_delta=5)
        obj.pop("unit_cost", None)
    elif kind == "delta_out_of_range":
        obj["quantity_delta"] = 10_000_000
    return dumps(obj)


FACT_COLUMNS = (
    "movement_id",
    "reason",
    "sku",
    "warehouse_id",
    "quantity_delta",
    "unit_cost",
    "moved_at",
    "source_id",
    "source_seq",
)


def fact_row(m: Movement) -> dict[str, object]:
    return {name: getattr(m, name) for name in FACT_COLUMNS}


def marts(facts: list[Movement]) -> dict[str, list[dict[str, object]]]:
    """Stock per (sku, warehouse): the sum of every movement, each applied once."""
    levels: dict[tuple[str, str], list[Movement]] = defaultdict(list)
    for m in facts:
        levels[(m.sku, m.warehouse_id)].append(m)
    return {
        "fct_stock_levels": [
            {
                "sku": sku,
                "warehouse_id": warehouse,
                "stock": sum(m.quantity_delta for m in moves),
                "movements": len(moves),
                "last_moved_at": max(m.moved_at for m in moves),
            }
            for (sku, warehouse), moves in sorted(levels.items())
        ]
    }


INVENTORY = StreamModel(
    name="inventory",
    key_name="movement_id",
    time_name="moved_at",
    producer_name="source_id",
    epoch_name=None,
    sequence_start=SEQUENCE_START,
    simulate=simulate,
    to_json=to_json,
    conflicting=conflicting,
    malformed=malformed,
    malformed_kinds=MALFORMED_KINDS,
    once_only=frozenset(),
    fact_row=fact_row,
    marts=marts,
    truth_columns={
        "fct_inventory_events": (*FACT_COLUMNS, "_source_file", "_line_number"),
        "fct_stock_levels": ("sku", "warehouse_id", "stock", "movements", "last_moved_at"),
    },
)
