"""Stream contracts as data: fields, their types and when they are required.

A new stream is a new :class:`StreamContract` value, never new branches in code.
Validation (``validation.py``), landing and the warehouse DDL are all derived from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

#: A line longer than this (in bytes, without its line ending) is quarantined unread.
MAX_LINE_BYTES = 1024 * 1024


class Kind(StrEnum):
    STRING = "string"
    ENUM = "enum"
    TIMESTAMP = "timestamp"  # RFC 3339 with offset, stored as UTC
    INTEGER = "integer"  # JSON integer, 0 <= value <= 2**63-1
    DECIMAL = "decimal"  # JSON number or string, >= 0, at most `scale` decimal places
    CODE = "code"  # matches `pattern`


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    required: bool = False
    required_for: frozenset[str] = frozenset()  # required when the discriminator is one of these
    required_with: str | None = None  # required when this other field is present
    default: int | None = None
    min_length: int = 1
    max_length: int | None = None
    not_blank: bool = False
    allowed: tuple[str, ...] = ()
    pattern: str | None = None
    min_value: int = 0  # integers: smallest allowed value
    precision: int = 18  # decimals: total digits
    scale: int = 2  # decimals: digits after the point

    def __post_init__(self) -> None:
        if not IDENTIFIER.match(self.name):
            raise ValueError(f"field name {self.name!r} is not a plain identifier")


@dataclass(frozen=True)
class StreamContract:
    """What one line of a stream's JSONL must look like."""

    stream: str
    fields: tuple[Field, ...]
    key: str = "event_id"
    discriminator: str = "event_type"
    extra_column: str = "_extra"
    ordering: tuple[str, ...] = field(default=("occurred_at", "sequence_number"))

    def __post_init__(self) -> None:
        if not IDENTIFIER.match(self.stream):
            raise ValueError(f"stream name {self.stream!r} is not a plain identifier")
        names = [f.name for f in self.fields]
        if self.key not in names or self.discriminator not in names:
            raise ValueError("key and discriminator must be contract fields")

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def raw_table(self) -> str:
        return f"{self.stream}_events"

    def get(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


ORDER_EVENT_TYPES = (
    "order_placed",
    "payment_captured",
    "order_shipped",
    "order_cancelled",
    "order_refunded",
)
_AMOUNT_EVENTS = frozenset({"order_placed", "payment_captured", "order_refunded"})

ORDERS = StreamContract(
    stream="orders",
    fields=(
        Field("event_id", Kind.STRING, required=True, max_length=128, not_blank=True),
        Field("event_type", Kind.ENUM, required=True, allowed=ORDER_EVENT_TYPES),
        Field("occurred_at", Kind.TIMESTAMP, required=True),
        Field("producer_id", Kind.STRING, required=True, max_length=256),
        Field("producer_epoch", Kind.INTEGER, default=0),
        Field("sequence_number", Kind.INTEGER, required=True),
        Field("order_id", Kind.STRING, required=True, max_length=256),
        Field("customer_id", Kind.STRING, required_for=frozenset({"order_placed"}), max_length=256),
        Field("product_id", Kind.STRING, required_for=_AMOUNT_EVENTS, max_length=256),
        Field("quantity", Kind.INTEGER, required_for=frozenset({"order_placed"}), min_value=1),
        Field("amount", Kind.DECIMAL, required_for=_AMOUNT_EVENTS),
        Field("currency", Kind.CODE, required_with="amount", pattern=r"^[A-Z]{3}$"),
    ),
)

STREAMS: dict[str, StreamContract] = {ORDERS.stream: ORDERS}


def get_contract(stream: str) -> StreamContract:
    try:
        return STREAMS[stream]
    except KeyError:
        from onceonly.errors import ConfigError

        raise ConfigError(
            f"unknown stream {stream!r}; known streams: {', '.join(sorted(STREAMS))}"
        ) from None
