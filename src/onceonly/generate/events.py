"""Simulated order lifecycles from a few producers, each with contiguous sequences."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from onceonly.generate.model import uuid

PRODUCERS = ("shop-eu", "shop-us", "shop-ap", "mobile")
#: This producer restarts (epoch 1, sequence from 0) half-way through the period.
EPOCH_RESET_PRODUCER = "mobile"
CURRENCIES = ("EUR", "USD", "GBP")  # a product is sold in one currency


@dataclass(frozen=True)
class Event:
    """One event as its producer meant it: the contract fields, typed, UTC."""

    event_id: str
    event_type: str
    occurred_at: datetime  # naive UTC
    producer_id: str
    producer_epoch: int
    sequence_number: int
    order_id: str
    customer_id: str | None = None
    product_id: str | None = None
    quantity: int | None = None
    amount: Decimal | None = None
    currency: str | None = None

    # the roles the generator's delivery faults and truth work with
    @property
    def key(self) -> str:
        return self.event_id

    @property
    def time(self) -> datetime:
        return self.occurred_at

    @property
    def producer(self) -> str:
        return self.producer_id

    @property
    def epoch(self) -> int:
        return self.producer_epoch

    @property
    def sequence(self) -> int:
        return self.sequence_number


def simulate(rng: random.Random, n_events: int, start: datetime, days: int) -> list[Event]:
    """About ``n_events`` events of orders placed in [start, start + days)."""
    end = start + timedelta(days=days)
    span = (end - start).total_seconds()
    products = [f"sku-{i:03d}" for i in range(60)]
    prices = {p: Decimal(rng.randrange(199, 25000)) / 100 for p in products}
    drafts: list[Event] = []
    order_no = 0
    while len(drafts) < n_events:
        order_no += 1
        producer = PRODUCERS[rng.randrange(len(PRODUCERS))]
        t = start + timedelta(milliseconds=rng.randrange(int(span * 1000)))
        product = products[rng.randrange(len(products))]
        qty = rng.randint(1, 4)
        amount = (prices[product] * qty).quantize(Decimal("0.01"))
        order = f"ord-{order_no:08d}"
        base = dict(producer_id=producer, producer_epoch=0, sequence_number=-1, order_id=order)

        def ev(kind: str, at: datetime, base: dict[str, object] = base, **kw: object) -> None:
            if at < end:
                drafts.append(Event(uuid(rng), kind, at, **base, **kw))  # type: ignore[arg-type]

        currency = CURRENCIES[int(product[-3:]) % len(CURRENCIES)]
        ev(
            "order_placed",
            t,
            customer_id=f"cust-{rng.randrange(20000):05d}",
            product_id=product,
            quantity=qty,
            amount=amount,
            currency=currency,
        )
        r = rng.random()
        if r < 0.06:
            ev("order_cancelled", t + timedelta(minutes=rng.randint(1, 120)))
            continue
        t2 = t + timedelta(seconds=rng.randint(5, 1800))
        ev("payment_captured", t2, product_id=product, amount=amount, currency=currency)
        if r < 0.9:
            t3 = t2 + timedelta(minutes=rng.randint(30, 600))
            ev("order_shipped", t3)
            if r < 0.15:
                refund = (amount / 2).quantize(Decimal("0.01")) if r < 0.1 else amount
                ev(
                    "order_refunded",
                    t3 + timedelta(hours=rng.randint(2, 30)),
                    product_id=product,
                    amount=refund,
                    currency=currency,
                )
    return _sequence(drafts[:n_events], start + timedelta(days=days) / 2)


def _sequence(events: list[Event], reset_at: datetime) -> list[Event]:
    """Number each producer's events by time; one producer starts epoch 1 at ``reset_at``."""
    out: list[Event] = []
    counters: dict[tuple[str, int], int] = {}
    for e in sorted(events, key=lambda e: (e.occurred_at, e.event_id)):
        epoch = 1 if e.producer_id == EPOCH_RESET_PRODUCER and e.occurred_at >= reset_at else 0
        key = (e.producer_id, epoch)
        seq = counters.get(key, 0)
        counters[key] = seq + 1
        out.append(replace(e, producer_epoch=epoch, sequence_number=seq))
    return out
