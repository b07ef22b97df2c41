"""How events reach the landing zone: files per arrival hour, and the injected faults."""

from __future__ import annotations

import gzip
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import orjson

from onceonly.contract import Layout
from onceonly.generate.model import GenEvent, StreamModel, dumps

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


@dataclass
class Line:
    text: bytes
    event: GenEvent | None  # the content this line carries; None for a malformed line
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
    layout: Layout = Layout.HOURLY
    partition: int = 0  # kafka_connect: the partition whose offset range the file holds
    parquet: bool = False  # written as Parquet (its lines are its rows)

    def data(self) -> bytes:
        if self.payload is not None:
            return self.payload
        if self.parquet:
            written = _parquet(_rows(self.lines) or [])
            assert written is not None
            return written
        if self.layout == Layout.FIREHOSE and not self.truncated:
            # (a file cut short keeps one record per line: the truth counts the lines of
            # what is left without the reader's splitter)
            raw = _back_to_back(self.lines)
        else:
            raw = b"".join(line.text + b"\n" for line in self.lines)
        return gzip.compress(raw, mtime=0) if self.gzip else raw

    def path(self, stream: str) -> str:
        if self.layout == Layout.KAFKA_CONNECT:
            return f"{stream}/partition={self.partition}/{self.name}"
        if self.layout == Layout.FIREHOSE:
            return f"{stream}/{self.arrived_at:%Y/%m/%d/%H}/{self.name}"
        return f"{stream}/dt={self.arrived_at:%Y-%m-%d}/hour={self.arrived_at:%H}/{self.name}"


def _object(text: bytes) -> dict[str, object] | None:
    """The line's JSON object; None for a line that is none."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _back_to_back(lines: list[Line]) -> bytes:
    """The lines as Firehose writes records: a JSON object right after the one before it,
    with no newline between them; any other line (broken, blank, not an object) on its
    own line, as a producer's newline-terminated record would be."""
    out: list[bytes] = []
    objects = [_object(line.text) is not None for line in lines]
    for i, line in enumerate(lines):
        out.append(line.text)
        joined = i + 1 < len(lines) and objects[i] and objects[i + 1]
        out.append(b"" if joined else b"\n")
    return b"".join(out)


def _as_sink_files(files: list[GenFile], stream: str) -> list[GenFile]:
    """The files as a Kafka Connect sink writes them: each the next offset range of a
    partition, one record per line, named ``<stream>+<p>+<start offset>.json[.gz]``; a
    file arrives when it is written (its modification time, set by the writer). Copies
    that land together are told apart by path (the first landed wins: load time, then
    path), which holds no time here; so each arrival day's files are one partition, and a
    path orders files as they arrived, as the truth expects."""
    out = []
    days = sorted({f.arrived_at.date() for f in files})
    next_offset = [0] * len(days)
    for f in sorted(files, key=lambda f: (f.arrived_at, f.name)):
        p = days.index(f.arrived_at.date())
        ext = ".parquet" if f.parquet else ".json" + (".gz" if f.gzip else "")
        name = f"{stream}+{p}+{next_offset[p]:010d}{ext}"
        next_offset[p] += len(f.lines)
        out.append(replace(f, name=name, layout=Layout.KAFKA_CONNECT, partition=p, payload=None))
    return out


def _rows(lines: list[Line]) -> list[dict[str, object]] | None:
    """The lines as rows, or None when one is no JSON object."""
    rows = [_object(line.text) for line in lines]
    return None if None in rows else rows  # type: ignore[return-value]


def _same_json(a: object, b: object) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _parquet(rows: list[dict[str, object]]) -> bytes | None:
    """The rows as a Parquet file whose rows read back as the same JSON values (a key a
    row lacks reads as null); None when Parquet's column types cannot keep them so (a
    column of numbers and strings, of integers and fractions)."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    keys = list(dict.fromkeys(k for r in rows for k in r))
    try:
        table = pa.Table.from_pylist([{k: r.get(k) for k in keys} for r in rows])
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None
    for row, back in zip(rows, table.to_pylist(), strict=True):
        if not all(_same_json(row[k], v) if k in row else v is None for k, v in back.items()):
            return None
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def in_format(files: list[GenFile], parquet: bool) -> list[GenFile]:
    """With ``parquet``, each file whose lines Parquet can hold as rows (every line a JSON
    object, each column of one type) written as ``<name>.parquet``; the others (broken
    lines, mixed column types, a file cut in transit) stay JSONL, as a producer that
    writes Parquet sends no broken JSON."""
    if not parquet:
        return files
    out = []
    for f in files:
        rows = _rows(f.lines)
        if f.truncated or not rows or _parquet(rows) is None:
            out.append(f)
            continue
        stem = f.name.removesuffix(".gz").removesuffix(".jsonl")
        out.append(replace(f, name=f"{stem}.parquet", parquet=True, gzip=False, payload=None))
    return out


def in_layout(files: list[GenFile], layout: Layout, stream: str) -> list[GenFile]:
    """The planned files as the layout's producer writes them. Firehose names an object
    ``<stream>-1-<yyyy-MM-dd-HH-mm-ss>-<name>`` under its hour and writes records back to
    back; the names keep their order within an hour (the landing order, which fixes which
    copy is first), and a byte-identical re-delivery stays byte-identical."""
    if layout == Layout.HOURLY:
        return files
    if layout == Layout.KAFKA_CONNECT:
        return _as_sink_files(files, stream)
    return [
        replace(
            f,
            name=f"{stream}-1-{f.arrived_at:%Y-%m-%d-%H-%M-%S}-{f.name}",
            layout=layout,
            payload=None,  # its lines and compression are the original's: the same bytes
        )
        for f in files
    ]


@dataclass
class Plan:
    files: list[GenFile]
    injected: dict[str, int]


def plan(
    events: Sequence[GenEvent], profile: Profile, rng: random.Random, model: StreamModel
) -> Plan:
    """Decide every delivery of every event and group them into files."""
    injected: dict[str, int] = defaultdict(int)
    # (arrival time, producer) -> lines; a line's order key keeps files near time order
    buckets: dict[tuple[datetime, str], list[tuple[float, Line]]] = defaultdict(list)

    def deliver(
        at: datetime,
        e: GenEvent,
        content: GenEvent | None = None,
        text: bytes | None = None,
        code: str | None = None,
    ) -> None:
        hour = at.replace(minute=0, second=0, microsecond=0)
        content = content if content is not None else e
        if text is None:
            text = dumps(model.to_json(content, rng))
        line = Line(text, None if code else content, code)
        buckets[(hour, e.producer)].append((at.timestamp(), line))

    delivered: list[GenEvent] = []
    for e in events:
        r = rng.random()
        if r < profile.drop:
            injected["dropped"] += 1
            continue
        delivered.append(e)
        at = e.time + timedelta(seconds=rng.expovariate(1 / 120))
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
            deliver(e.time + timedelta(days=rng.randint(8, 10)), e)
            injected["late_duplicate"] += 1
        if rng.random() < profile.conflict:
            deliver(at + timedelta(hours=rng.randint(1, 5)), e, content=model.conflicting(e))
            injected["conflict"] += 1
    if profile.malformed_each and delivered:
        for kind, code in model.malformed_kinds.items():
            n = (
                1
                if kind in model.once_only
                else max(1, round(profile.malformed_each * len(events)))
            )
            for _ in range(n):
                e = delivered[rng.randrange(len(delivered))]
                deliver(e.time, e, text=model.malformed(kind, e, rng), code=code)
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
    files.extend(_file_faults(files, profile, rng, injected, model))
    files.sort(key=lambda f: (f.arrived_at, f.name))
    return Plan(files, dict(injected))


def _file_faults(
    files: list[GenFile],
    profile: Profile,
    rng: random.Random,
    injected: dict[str, int],
    model: StreamModel,
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
                Line(dumps(model.to_json(line.event, rng)), line.event)
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
