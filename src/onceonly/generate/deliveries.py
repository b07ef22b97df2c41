"""How events reach the landing zone: files per arrival hour, and the injected faults."""

from __future__ import annotations

import gzip
import random
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

import orjson

from onceonly.generate.events import Event

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Profile:
    """Fault rates, as fractions of events (or counts where named so)."""

    name: str
    drop: float = 0.0  # never delivered: a sequence gap
    delay_hours: float = 0.0  # delivered 1-6 hours late, out of order
    late_days: float = 0.0  # first delivered 1-3 days late (inside the dedup window)
    retry_same_file: float = 0.0  # a second copy in the same file
    retry_next_file: float = 0.0  # a second copy in a later file
    late_duplicate: float = 0.0  # a second copy 8-10 days later (outside the window)
    conflict: float = 0.0  # a second copy with different content
    malformed_each: float = 0.0  # corrupt copies, per malformed kind (at least one each)
    gzip_files: float = 0.0
    manifest_files: float = 1.0
    redelivered_files_per_day: int = 0  # byte-identical copies under another name
    replayed_hours: int = 0  # every file of an hour sent again, re-serialised
    truncated_files: int = 0  # a file cut short (manifest mismatch), then resent whole
    shuffle: float = 0.0  # adjacent lines swapped inside a file


PROFILES = {
    "clean": Profile("clean"),
    "messy": Profile(
        "messy",
        drop=0.004,
        delay_hours=0.03,
        late_days=0.004,
        retry_same_file=0.02,
        retry_next_file=0.02,
        late_duplicate=0.002,
        conflict=0.002,
        malformed_each=0.0004,
        gzip_files=0.2,
        manifest_files=0.7,
        redelivered_files_per_day=1,
        replayed_hours=1,
        truncated_files=1,
        shuffle=0.05,
    ),
}

#: Malformed kinds and the quarantine reason code each must get.
MALFORMED_KINDS = {
    "truncated_json": "invalid_json",
    "nan_amount": "invalid_json",
    "not_an_object": "not_an_object",
    "missing_event_id": "missing_field",
    "blank_event_id": "empty_field",
    "sequence_as_string": "wrong_type",
    "unknown_event_type": "bad_value",
    "timestamp_without_offset": "bad_timestamp",
    "bad_utf8": "bad_utf8",
    "placed_without_customer": "missing_field",
    "amount_three_decimals": "bad_value",
    "blank_line": "blank_line",
    "over_1_mib": "line_too_long",
}
_ONCE_ONLY = {"over_1_mib"}
_OFFSETS = [timedelta(0), timedelta(hours=2), timedelta(hours=-5), timedelta(hours=5, minutes=30)]


@dataclass
class Line:
    text: bytes
    event: Event | None  # the content this line carries; None for a malformed line
    reason_code: str | None = None  # the expected quarantine code of a malformed line


@dataclass
class GenFile:
    arrived_at: datetime
    name: str
    lines: list[Line] = field(default_factory=list)
    gzip: bool = False
    manifest: bool = True
    truncated: bool = False  # bytes cut after the manifest was computed
    payload: bytes | None = None  # fixed bytes (a byte-identical re-delivery)

    def data(self) -> bytes:
        if self.payload is not None:
            return self.payload
        raw = b"".join(line.text + b"\n" for line in self.lines)
        return gzip.compress(raw, mtime=0) if self.gzip else raw

    def path(self, stream: str) -> str:
        return f"{stream}/dt={self.arrived_at:%Y-%m-%d}/hour={self.arrived_at:%H}/{self.name}"


def _timestamp(at: datetime, rng: random.Random) -> str:
    offset = _OFFSETS[rng.randrange(len(_OFFSETS))]
    local = at + offset
    text = local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}"
    if not offset:
        return text + "Z"
    sign = "+" if offset > timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def to_json(e: Event, rng: random.Random) -> dict[str, object]:
    """One serialisation of an event: offsets and number formats vary, content does not."""
    obj: dict[str, object] = {
        "event_id": e.event_id,
        "event_type": e.event_type,
        "occurred_at": _timestamp(e.occurred_at, rng),
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


def _dumps(obj: object) -> bytes:
    return orjson.dumps(obj)


def _conflicting(e: Event) -> Event:
    if e.amount is not None:
        return replace(e, amount=e.amount + Decimal("1.00"))
    return replace(e, occurred_at=e.occurred_at + timedelta(minutes=1))


def _malformed(kind: str, e: Event, rng: random.Random) -> bytes:
    obj = to_json(e, rng)
    if kind == "truncated_json":
        text = _dumps(obj)
        return text[: len(text) // 2]
    if kind == "nan_amount":
        return _dumps({**obj, "amount": 0}).replace(b'"amount":0', b'"amount":NaN')
    if kind == "not_an_object":
        return _dumps([obj])
    if kind == "missing_event_id":
        obj.pop("event_id")
    elif kind == "blank_event_id":
        obj["event_id"] = "   "
    elif kind == "sequence_as_string":
        obj["sequence_number"] = str(e.sequence_number)
    elif kind == "unknown_event_type":
        obj["event_type"] = "order_teleported"
    elif kind == "timestamp_without_offset":
        obj["occurred_at"] = e.occurred_at.strftime("%Y-%m-%d %H:%M:%S")
    elif kind == "bad_utf8":
        return _dumps(obj).replace(e.producer_id.encode(), e.producer_id.encode() + b"\xff\xfe")
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
    elif kind == "blank_line":
        return b"   "
    elif kind == "over_1_mib":
        obj["padding"] = "x" * (1024 * 1024 + 10)
    return _dumps(obj)


@dataclass
class Plan:
    files: list[GenFile]
    injected: dict[str, int]


def plan(events: list[Event], profile: Profile, rng: random.Random) -> Plan:
    """Decide every delivery of every event and group them into files."""
    injected: dict[str, int] = defaultdict(int)
    # (arrival time, producer) -> lines; a line's order key keeps files near time order
    buckets: dict[tuple[datetime, str], list[tuple[float, Line]]] = defaultdict(list)

    def deliver(
        at: datetime,
        e: Event,
        content: Event | None = None,
        text: bytes | None = None,
        code: str | None = None,
    ) -> None:
        hour = at.replace(minute=0, second=0, microsecond=0)
        content = content if content is not None else e
        if text is None:
            text = _dumps(to_json(content, rng))
        line = Line(text, None if code else content, code)
        buckets[(hour, e.producer_id)].append((at.timestamp(), line))

    delivered: list[Event] = []
    for e in events:
        r = rng.random()
        if r < profile.drop:
            injected["dropped"] += 1
            continue
        delivered.append(e)
        at = e.occurred_at + timedelta(seconds=rng.expovariate(1 / 120))
        if rng.random() < profile.delay_hours:
            at += timedelta(hours=rng.randint(1, 6))
            injected["delayed_hours"] += 1
        elif rng.random() < profile.late_days:
            at += timedelta(days=rng.randint(1, 3))
            injected["late_days"] += 1
        deliver(at, e)
        if rng.random() < profile.retry_same_file:
            deliver(at + timedelta(seconds=1), e)
            injected["retry_same_file"] += 1
        if rng.random() < profile.retry_next_file:
            deliver(at + HOUR, e)
            injected["retry_next_file"] += 1
        if rng.random() < profile.late_duplicate:
            deliver(e.occurred_at + timedelta(days=rng.randint(8, 10)), e)
            injected["late_duplicate"] += 1
        if rng.random() < profile.conflict:
            deliver(at + timedelta(hours=rng.randint(1, 5)), e, content=_conflicting(e))
            injected["conflict"] += 1
    if profile.malformed_each and delivered:
        for kind, code in MALFORMED_KINDS.items():
            n = 1 if kind in _ONCE_ONLY else max(1, round(profile.malformed_each * len(events)))
            for _ in range(n):
                e = delivered[rng.randrange(len(delivered))]
                deliver(e.occurred_at, e, text=_malformed(kind, e, rng), code=code)
                injected[f"malformed:{kind}"] += 1

    files: list[GenFile] = []
    for (hour, producer), lines in sorted(buckets.items()):
        lines.sort(key=lambda pair: pair[0])
        ordered = [line for _, line in lines]
        for i in range(len(ordered) - 1):
            if rng.random() < profile.shuffle:
                ordered[i], ordered[i + 1] = ordered[i + 1], ordered[i]
        files.append(
            GenFile(
                hour,
                f"{producer}-{hour:%Y%m%d%H}.jsonl"
                + (".gz" if rng.random() < profile.gzip_files else ""),
                ordered,
                gzip=False,
                manifest=rng.random() < profile.manifest_files,
            )
        )
    for f in files:
        f.gzip = f.name.endswith(".gz")
    files.extend(_file_faults(files, profile, rng, injected))
    files.sort(key=lambda f: (f.arrived_at, f.name))
    return Plan(files, dict(injected))


def _file_faults(
    files: list[GenFile], profile: Profile, rng: random.Random, injected: dict[str, int]
) -> list[GenFile]:
    extra: list[GenFile] = []
    if not files:
        return extra
    days = sorted({f.arrived_at.date() for f in files})
    for day in days:
        for _ in range(profile.redelivered_files_per_day):
            todays = [f for f in files if f.arrived_at.date() == day and f.lines]
            f = todays[rng.randrange(len(todays))]
            stem, dot, ext = f.name.partition(".")
            extra.append(
                GenFile(
                    f.arrived_at + 2 * HOUR,
                    f"{stem}-redelivered{dot}{ext}",
                    f.lines,
                    gzip=f.gzip,
                    manifest=f.manifest,
                    payload=f.data(),
                )
            )
            injected["redelivered_file"] += 1
    hours = sorted({f.arrived_at for f in files})
    for _ in range(profile.replayed_hours):
        hour = hours[len(hours) // 2]
        for f in [f for f in files if f.arrived_at == hour]:
            stem = f.name.partition(".")[0]
            relines = [
                Line(_dumps(to_json(line.event, rng)), line.event)
                for line in f.lines
                if line.event is not None
            ]
            extra.append(GenFile(hour + 3 * HOUR, f"replay-{stem}.jsonl.gz", relines, gzip=True))
        injected["replayed_hour"] += 1
    for _ in range(profile.truncated_files):
        candidates = [f for f in files if not f.gzip and len(f.lines) >= 4]
        if not candidates:
            break
        f = candidates[rng.randrange(len(candidates))]
        f.manifest, f.truncated = True, True
        stem = f.name.partition(".")[0]
        extra.append(GenFile(f.arrived_at + HOUR, f"{stem}-resent.jsonl", f.lines, manifest=True))
        injected["truncated_file"] += 1
    return extra
