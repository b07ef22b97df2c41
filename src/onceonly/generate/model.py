"""What the generator needs to know of a stream it can simulate.

The delivery faults (``deliveries.py``) and the truth (``truth.py``) are the same for every
stream; a :class:`StreamModel` supplies the rest: how events are simulated, serialised,
corrupted and made to conflict, and what the stream's facts and marts must hold. The
generator knows the shipped example streams (``orders``, ``inventory``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson


class GenEvent(Protocol):
    """One event as its producer meant it (naive UTC times)."""

    @property
    def key(self) -> str: ...

    @property
    def time(self) -> datetime: ...

    @property
    def producer(self) -> str: ...

    @property
    def epoch(self) -> int: ...

    @property
    def sequence(self) -> int: ...


Rows = list[dict[str, object]]


@dataclass(frozen=True)
class StreamModel:
    name: str
    key_name: str
    time_name: str
    producer_name: str
    epoch_name: str | None
    sequence_start: int
    simulate: Callable[[random.Random, int, datetime, int], Sequence[Any]]
    to_json: Callable[[Any, random.Random], dict[str, object]]
    conflicting: Callable[[Any], Any]
    malformed: Callable[[str, Any, random.Random], bytes]
    malformed_kinds: dict[str, str]  # kind -> the quarantine reason code it must get
    once_only: frozenset[str]  # malformed kinds injected once (large lines)
    fact_row: Callable[[Any], dict[str, object]]
    marts: Callable[[list[Any]], dict[str, Rows]]
    truth_columns: dict[str, tuple[str, ...]]  # facts and marts; dq tables are added

    @property
    def facts_name(self) -> str:
        return f"fct_{self.name}_events"

    def columns(self) -> dict[str, tuple[str, ...]]:
        """The columns of every _truth/<stream>/<name>.csv, in order."""
        producer = (self.producer_name, *([self.epoch_name] if self.epoch_name else []))
        return {
            **self.truth_columns,
            "sequence_gaps": (*producer, "first_missing", "last_missing", "missing_count"),
            "event_conflicts": (self.key_name, "copies", "versions"),
            "late_duplicates": (
                self.key_name,
                "source_file",
                "line_number",
                self.time_name,
                "arrived_at",
            ),
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


_OFFSETS = [timedelta(0), timedelta(hours=2), timedelta(hours=-5), timedelta(hours=5, minutes=30)]


def timestamp(at: datetime, rng: random.Random) -> str:
    """RFC 3339 in one of a few offsets: the same instant, written differently."""
    offset = _OFFSETS[rng.randrange(len(_OFFSETS))]
    local = at + offset
    text = local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}"
    if not offset:
        return text + "Z"
    sign = "+" if offset > timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def dumps(obj: object) -> bytes:
    return orjson.dumps(obj)


#: Corruptions any stream's lines suffer in transit, and the reason code each must get.
COMMON_MALFORMED_KINDS = {
    "truncated_json": "invalid_json",
    "not_an_object": "not_an_object",
    "timestamp_without_offset": "bad_timestamp",
    "bad_utf8": "bad_utf8",
    "blank_line": "blank_line",
}


def common_malformed(
    kind: str, obj: dict[str, object], time_field: str, at: datetime, text_field: str
) -> bytes | None:
    """A line of ``obj`` corrupted in a way that does not depend on the stream (None for a
    stream's own kind): cut short, not an object, a time without offset, bad UTF-8 inside
    ``text_field``, or blank."""
    if kind == "truncated_json":
        text = dumps(obj)
        return text[: len(text) // 2]
    if kind == "not_an_object":
        return dumps([obj])
    if kind == "timestamp_without_offset":
        return dumps({**obj, time_field: at.strftime("%Y-%m-%d %H:%M:%S")})
    if kind == "bad_utf8":
        value = str(obj[text_field]).encode()
        return dumps(obj).replace(value, value + b"\xff\xfe")
    if kind == "blank_line":
        return b"   "
    return None


def uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:]}"


def models() -> dict[str, StreamModel]:
    """The streams the generator can simulate, by name."""
    from onceonly.generate.inventory import INVENTORY
    from onceonly.generate.orders import ORDERS

    return {m.name: m for m in (ORDERS, INVENTORY)}
