"""`onceonly streams infer`: draft a stream declaration from sample lines.

The draft is a starting point for the user to edit: types (string, enum, timestamp,
integer, decimal(p, s), boolean), which fields every line carries, which ones lines of one
kind carry (``required_when`` the discriminator), enum candidates, a likely key, event
time and producer sequence. It is checked like any declaration before it is written.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from onceonly.errors import LandingPathError
from onceonly.validation import TIMESTAMP_PATTERN

_TIMESTAMP = re.compile(TIMESTAMP_PATTERN)
_DECIMAL_TEXT = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: at most this many distinct values (and each seen several times) make an enum
ENUM_MAX_VALUES = 12


@dataclass
class _Seen:
    """What the sample showed of one field."""

    present: int = 0  # lines with a non-null value
    kinds: Counter[str] = field(default_factory=Counter)
    texts: Counter[str] = field(default_factory=Counter)  # string values (bounded)
    numbers: list[float] = field(default_factory=list)
    scale: int = 0  # most decimal places seen
    max_length: int = 0


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        if _TIMESTAMP.match(value):
            return "timestamp"
        if _DECIMAL_TEXT.match(value):
            return "decimal_text"
        return "string"
    return "nested"


def read_samples(paths: list[Path]) -> tuple[list[dict[str, Any]], int]:
    """The JSON objects of the sample files (``.jsonl`` or ``.jsonl.gz``) and the number
    of lines that were not one."""
    import gzip

    objects: list[dict[str, Any]] = []
    skipped = 0
    for path in paths:
        try:
            raw = path.read_bytes()
            data = gzip.decompress(raw) if path.name.endswith(".gz") else raw
        except (OSError, EOFError) as exc:
            raise LandingPathError(path, f"cannot read the sample ({exc})") from None
        for line in data.splitlines():
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                skipped += int(bool(line.strip()))
                continue
            if isinstance(obj, dict):
                objects.append(obj)
            else:
                skipped += 1
    if not objects:
        raise LandingPathError(paths[0], "no JSON object lines in the sample")
    return objects, skipped


def _observe(objects: list[dict[str, Any]]) -> dict[str, _Seen]:
    seen: dict[str, _Seen] = {}
    for obj in objects:
        for name, value in obj.items():
            s = seen.setdefault(name, _Seen())
            if value is None:
                continue
            s.present += 1
            kind = _kind(value)
            s.kinds[kind] += 1
            if isinstance(value, str):
                s.max_length = max(s.max_length, len(value))
                if len(s.texts) <= 10 * ENUM_MAX_VALUES or value in s.texts:
                    s.texts[value] += 1
                if kind == "decimal_text" and "." in value:
                    s.scale = max(s.scale, len(value.split(".")[1]))
            if kind in ("integer", "number") and not isinstance(value, bool):
                s.numbers.append(float(value))
                if kind == "number":
                    text = repr(value)
                    if "." in text and "e" not in text:
                        s.scale = max(s.scale, len(text.split(".")[1].rstrip("0")))
    return seen


def _type(name: str, s: _Seen, lines: int) -> dict[str, Any]:
    """The declaration of one field from what the sample showed (its main kind wins)."""
    kinds = set(s.kinds)
    spec: dict[str, Any]
    if kinds == {"boolean"}:
        spec = {"type": "boolean"}
    elif kinds == {"integer"}:
        spec = {"type": "integer"}
        if s.numbers and min(s.numbers) >= 0:
            spec["min"] = 0
    elif kinds <= {"integer", "number", "decimal_text"} and not (
        name == "id" or name.endswith("_id")
    ):
        spec = {"type": f"decimal(18, {max(s.scale, 2)})"}
        if s.numbers and min(s.numbers) >= 0 and not any(t.startswith("-") for t in s.texts):
            spec["min"] = 0
    elif kinds == {"timestamp"}:
        spec = {"type": "timestamp"}
    else:
        spec = {"type": "string"}
        distinct = len(s.texts)
        identifier = name == "id" or name.endswith("_id")
        if (
            not identifier
            and kinds <= {"string", "decimal_text"}
            and 1 < distinct <= ENUM_MAX_VALUES
            and min(s.texts.values()) >= 2
            and lines >= 4 * distinct
        ):
            spec = {"type": "enum", "values": sorted(s.texts)}
        elif s.max_length:
            spec["max_length"] = max(64, 2 * s.max_length)
    return spec


@dataclass
class Draft:
    name: str
    fields: dict[str, dict[str, Any]]
    roles: dict[str, Any]
    notes: list[str]
    lines: int

    def to_yaml(self) -> str:
        from importlib import resources

        schema = resources.files("onceonly").joinpath("stream.schema.json")
        out = [
            f"# yaml-language-server: $schema={schema}",
            f"# Drafted by `onceonly streams infer` from {self.lines} sample lines: check every",
            "# rule below against what the producer promises, then `onceonly streams check`.",
            *[f"# note: {n}" for n in self.notes],
            f"name: {self.name}",
            "",
            "fields:",
        ]
        for name, spec in self.fields.items():
            out.append(f"  {name}: {_flow(spec)}")
        out += ["", "roles:"]
        for role, value in self.roles.items():
            out.append(f"  {role}: {_flow(value) if isinstance(value, dict) else value}")
        out += ["", "dedup_window_days: 7", "conflicts: first_landed", "unknown_fields: keep", ""]
        return "\n".join(out)


def _flow(value: Any) -> str:
    """A YAML flow value (JSON is YAML; strings that YAML would read otherwise are quoted)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, str):
        plain = re.fullmatch(r"[a-z][a-z0-9_]*", value) and value not in (
            "yes",
            "no",
            "on",
            "off",
            "true",
            "false",
            "null",
        )
        return value if plain else orjson.dumps(value).decode()
    return orjson.dumps(value).decode()


def draft(name: str, objects: list[dict[str, Any]], skipped: int = 0) -> Draft:
    lines = len(objects)
    seen = _observe(objects)
    notes: list[str] = []
    if skipped:
        notes.append(f"{skipped} sample lines were not JSON objects and were not read")
    fields: dict[str, dict[str, Any]] = {}
    for fname, s in seen.items():
        if not _NAME.match(fname):
            notes.append(f"field {fname!r} is not a plain name: left to _extra")
            continue
        if "nested" in s.kinds:
            notes.append(f"field {fname!r} holds objects or lists: left to _extra")
            continue
        if not s.present:
            notes.append(f"field {fname!r} was always null: left out")
            continue
        spec = _type(fname, s, lines)
        if s.present == lines:
            spec = {"type": spec.pop("type"), "required": True, **spec}
        fields[fname] = spec
    roles: dict[str, Any] = {}

    def pick(candidates: list[str]) -> str | None:
        """The first declared of the candidates."""
        return min(candidates, key=list(fields).index, default=None)

    required = [n for n, f in fields.items() if f.get("required")]
    # at-least-once samples repeat keys: a key is an id nearly every line has its own of;
    # the most distinct one wins, then the first declared
    identifiers = [
        n
        for n in required
        if fields[n]["type"] in ("string", "integer") and (n == "id" or n.endswith("_id"))
    ]
    distinct = {n: len({str(o[n]) for o in objects}) / lines for n in identifiers}
    key = min(
        (n for n in identifiers if distinct[n] >= 0.8),
        key=lambda n: (-distinct[n], list(fields).index(n)),
        default=None,
    )
    if key is None:
        notes.append("no field looks like a unique key: set roles.key to the idempotency key")
        key = required[0] if required else next(iter(fields))
    elif fields[key]["type"] == "string":
        fields[key]["not_blank"] = True
    roles["key"] = key
    times = [n for n in required if fields[n]["type"] == "timestamp"]
    # a time field named like one (…_at, …time…, ts) before any other timestamp
    time = pick([n for n in times if n.endswith("_at") or "time" in n or n == "ts"]) or pick(times)
    if time is None:
        notes.append("no timestamp every line carries: set roles.event_time")
        time = "FILL_IN"
    roles["event_time"] = time
    enums = [n for n in required if fields[n]["type"] == "enum"]
    discriminator = pick(
        [n for n in enums if any(w in n for w in ("type", "kind", "reason", "event"))] or enums
    )
    if discriminator:
        roles["discriminator"] = discriminator
        _required_when(fields, objects, discriminator)
    sequence = pick([n for n in required if fields[n]["type"] == "integer" and "seq" in n])
    producer = pick(
        [
            n
            for n in required
            if fields[n]["type"] == "string"
            and any(w in n for w in ("producer", "source", "device", "client"))
        ]
    )
    if sequence and producer:
        epoch = pick([n for n in fields if fields[n]["type"] == "integer" and "epoch" in n])
        start = int(min(seen[sequence].numbers)) if seen[sequence].numbers else 0
        spec = {"id": producer, **({"epoch": epoch} if epoch else {}), "sequence": sequence}
        roles["producer"] = {**spec, "sequence_start": max(start, 0)}
        notes.append(
            f"sequence_start {max(start, 0)} is the smallest {sequence} seen: use what the "
            "producer starts from"
        )
    return Draft(name, fields, roles, notes, lines)


def _required_when(
    fields: dict[str, dict[str, Any]], objects: list[dict[str, Any]], discriminator: str
) -> None:
    """Optional fields every line of some kinds carries become ``required_when`` those."""
    per_kind: dict[str, int] = Counter(str(o.get(discriminator)) for o in objects)
    carried: dict[str, Counter[str]] = defaultdict(Counter)
    for o in objects:
        kind = str(o.get(discriminator))
        for name, value in o.items():
            if value is not None:
                carried[name][kind] += 1
    for name, spec in fields.items():
        if spec.get("required"):
            continue
        kinds = sorted(k for k, n in carried[name].items() if n == per_kind[k] and n >= 2)
        if kinds:
            spec["required_when"] = kinds


def infer(samples: list[Path], name: str) -> str:
    objects, skipped = read_samples(samples)
    return draft(name, objects, skipped).to_yaml()
