"""The orders example stream for the generator: serialisation, corruption, conflicts and
the expected facts and marts (``fct_orders``, ``fct_daily_revenue``)."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from onceonly.generate.events import Event, simulate
from onceonly.generate.model import (
    COMMON_MALFORMED_KINDS,
    StreamModel,
    common_malformed,
    dumps,
    timestamp,
)

ZERO = Decimal("0.00")

#: Malformed kinds and the quarantine reason code each must get.
MALFORMED_KINDS = {
    **COMMON_MALFORMED_KINDS,
    "nan_amount": "invalid_json",
    "missing_event_id": "missing_field",
    "blank_event_id": "empty_field",
    "sequence_as_string": "wrong_type",
    "unknown_event_type": "bad_value",
    "placed_without_customer": "missing_field",
    "amount_three_decimals": "bad_value",
    "over_1_mib": "line_too_long",
}


def to_json(e: Event, rng: random.Random) -> dict[str, object]:
    """One serialisation of an event: offsets and number formats vary, content does not."""
    obj: dict[str, object] = {
        "event_id": e.event_id,
        "event_type": e.event_type,
        "occurred_at": timestamp(e.occurred_at, rng),
        "producer_id": e.producer_id,
        "sequence_number": e.sequence_number,
        "order_id": e.order_id,
    }
    if e.producer_epoch or rng.random() < 0.5:
        obj["producer_epoch"] = e.producer_epoch
    for name in ("customer_id", "product_id", "quantity", "currency"):
        if getattr(e, name) is not None:
            obj[name] = getattr(e, name)
    if e.amount is not None:
        obj["amount"] = f"{e.amount:.2f}" if rng.random() < 0.5 else float(e.amount)
    if rng.random() < 0.1:
        obj["client"] = {"app": "web", "version": rng.randint(1, 9)}
    return obj


def conflicting(e: Event) -> Event:
    if e.amount is not None:
        return replace(e, amount=e.amount + Decimal("1.00"))
    return replace(e, occurred_at=e.occurred_at + timedelta(minutes=1))


def malformed(kind: str, e: Event, rng: random.Random) -> bytes:
    obj = to_json(e, rng)
    common = common_malformed(kind, obj, "occurred_at", e.occurred_at, "producer_id")
    if common is not None:
        return common
    if kind == "nan_amount":
        return dumps({**obj, "amount": 0}).replace(b'"amount":0', b'"amount":NaN')
    if kind == "missing_event_id":
        obj.pop("event_id")
    elif kind == "blank_event_id":
        obj["event_id"] = "   "
    elif kind == "sequence_as_string":
        obj["sequence_number"] = str(e.sequence_number)
    elif kind == "unknown_event_type":
        obj["event_type"] = "order_teleported"
    elif kind == "placed_without_customer":
        obj.update(
            event_type="order_placed",
            product_id="sku-000",
            quantity=1,
            amount="1.00",
            currency="EUR",
        )
        obj.pop("customer_id", None)
    elif kind == "amount_three_decimals":
        obj.update(amount="12.345", currency="EUR")
    elif kind == "over_1_mib":
        obj["padding"] = "x" * (1024 * 1024 + 10)
    return dumps(obj)


FACT_COLUMNS = (
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
)


def fact_row(e: Event) -> dict[str, object]:
    return {name: getattr(e, name) for name in FACT_COLUMNS}


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
    keyed: dict[tuple[date, str], dict[str, Decimal]] = {}
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
            row["gross_revenue"] += e.amount or ZERO
        else:
            row["refunds"] += e.amount or ZERO
    return [
        {
            "revenue_date": d,
            "product_id": p,
            "orders_placed": len(placed[(d, p)]),
            "gross_revenue": row["gross_revenue"],
            "refunds": row["refunds"],
            "net_revenue": row["gross_revenue"] - row["refunds"],
        }
        for (d, p), row in sorted(keyed.items())
    ]


def marts(facts: list[Event]) -> dict[str, list[dict[str, object]]]:
    return {"fct_orders": _orders(facts), "fct_daily_revenue": _daily_revenue(facts)}


ORDERS = StreamModel(
    name="orders",
    key_name="event_id",
    time_name="occurred_at",
    producer_name="producer_id",
    epoch_name="producer_epoch",
    sequence_start=0,
    simulate=simulate,
    to_json=to_json,
    conflicting=conflicting,
    malformed=malformed,
    malformed_kinds=MALFORMED_KINDS,
    once_only=frozenset({"over_1_mib"}),
    fact_row=fact_row,
    marts=marts,
    truth_columns={
        "fct_orders_events": (*FACT_COLUMNS, "_source_file", "_line_number"),
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
    },
)
