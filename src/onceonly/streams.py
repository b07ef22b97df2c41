"""Load stream declarations (``streams/<name>.yml``) into :class:`StreamContract` values.

A declaration is checked three ways, each error naming the file, the line and what to
write instead: YAML syntax, the JSON Schema (``stream.schema.json``, which editors can use
too), then the rules a schema cannot say (a role names a field of the right type, a field
plays one role, names are not SQL keywords, ...). Every command loads the declarations
through here before it touches anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

from onceonly.contract import (
    ConflictRule,
    Field,
    Guarantee,
    Kind,
    Layout,
    Outbox,
    Producer,
    StreamContract,
    UnknownFields,
)
from onceonly.errors import OnceOnlyError

SUFFIXES = (".yml", ".yaml")

#: Words no field may be named: reserved in DuckDB, PostgreSQL or BigQuery SQL.
RESERVED_WORDS = frozenset(
    """all analyse analyze and any array as asc assert_rows_modified asymmetric at between
    both by case cast check collate column constraint contains create cross cube current
    current_date current_role current_time current_timestamp current_user default
    deferrable define desc describe distinct do else end enum escape except exclude exists
    extract false fetch following for foreign from full group grouping groups hash having
    if ignore in initially inner interval intersect into is join lambda lateral leading
    left like limit localtime localtimestamp lookup merge natural new no not null nulls
    of offset on only or order outer over partition pivot pivot_longer pivot_wider placing
    preceding primary proto qualify range recursive references respect returning right
    rollup rows select session_user set show some struct summarize symmetric table
    tablesample then to trailing treat true unbounded union unique unnest unpivot user
    using variadic when where window with within""".split()
)

_DECIMAL_TYPE = re.compile(r"^decimal(?:\(\s*(\d+)\s*,\s*(\d+)\s*\))?$")
_KINDS_FOR_ROLE: dict[str, tuple[Kind, ...]] = {
    "key": (Kind.STRING, Kind.INTEGER, Kind.CODE),
    "event_time": (Kind.TIMESTAMP,),
    "discriminator": (Kind.ENUM, Kind.STRING, Kind.CODE),
    "version": (Kind.INTEGER, Kind.TIMESTAMP),
    "producer.id": (Kind.STRING, Kind.CODE, Kind.ENUM),
    "producer.epoch": (Kind.INTEGER,),
    "producer.sequence": (Kind.INTEGER,),
}


class DeclarationError(OnceOnlyError):
    """A stream declaration is not usable: ``file:line: what, and what to write instead``."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


@cache
def json_schema() -> dict[str, Any]:
    text = resources.files("onceonly").joinpath("stream.schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


# --- YAML with line numbers -------------------------------------------------------------


@dataclass
class _Document:
    path: Path
    data: Any
    lines: dict[tuple[str | int, ...], int]  # key path -> 1-based line

    def line(self, *path: str | int) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)

    def error(self, path: Iterable[str | int], message: str) -> DeclarationError:
        return DeclarationError(self.path, self.line(*path), message)


def _read_yaml(path: Path) -> _Document:
    import yaml  # type: ignore[import-untyped]

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DeclarationError(path, None, f"cannot read the declaration ({exc})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line = mark.line + 1 if mark is not None else None
        raise DeclarationError(path, line, f"not valid YAML: {problem}") from None
    if node is None:
        raise DeclarationError(path, 1, "the file is empty: declare name, fields and roles")
    lines: dict[tuple[str | int, ...], int] = {}
    scalars = yaml.SafeLoader("")

    def walk(n: Any, at: tuple[str | int, ...]) -> Any:
        lines[at] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in n.value:
                key = key_node.value
                if key in out:
                    raise DeclarationError(
                        path, key_node.start_mark.line + 1, f"{key!r} is given twice; keep one"
                    )
                lines[(*at, key)] = key_node.start_mark.line + 1
                out[key] = walk(value_node, (*at, key))
                lines[(*at, key)] = key_node.start_mark.line + 1
            return out
        if isinstance(n, yaml.SequenceNode):
            return [walk(item, (*at, i)) for i, item in enumerate(n.value)]
        return scalars.construct_object(n, deep=True)

    try:
        data = walk(node, ())
    except yaml.YAMLError as exc:
        raise DeclarationError(path, None, f"not valid YAML: {exc}") from None
    return _Document(path, data, lines)


# --- schema and rules --------------------------------------------------------------------


def _schema_errors(doc: _Document) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(json_schema())
    errors = sorted(validator.iter_errors(doc.data), key=lambda e: list(map(str, e.path)))
    if not errors:
        return
    e = errors[0]
    where = ".".join(str(p) for p in e.path) or "the top level"
    path = list(e.path)
    if e.validator == "additionalProperties":
        allowed = sorted((e.schema.get("properties") or {}).keys())
        extra = sorted(set(e.instance) - set(allowed))
        path += extra[:1]
        message = f"unknown key {extra[0]!r} at {where}" if extra else e.message
        message += f"; allowed: {', '.join(allowed)}" if allowed else ""
    elif e.validator == "pattern" and e.path and e.path[-1] == "type":
        message = (
            f"{where}: unknown type {e.instance!r}; use one of string, enum, timestamp, "
            "integer, decimal(p, s), boolean, code"
        )
    elif e.validator == "pattern" and list(e.path) == ["name"]:
        message = f"name {e.instance!r}: lower-case letters, digits and _, starting with a letter"
    elif e.validator == "propertyNames":
        message = (
            f"field name {e.instance!r}: lower-case letters, digits and _, starting with a "
            "letter (names starting with _ are onceonly's own columns)"
        )
    else:
        message = f"{where}: {e.message}"
    raise doc.error(path, message)


def _field(doc: _Document, name: str, spec: dict[str, Any]) -> Field:
    at = ("fields", name)
    if name in RESERVED_WORDS:
        raise doc.error(at, f"field {name!r} is an SQL keyword; rename the field (e.g. {name}_)")
    type_text = str(spec["type"]).strip()
    decimal = _DECIMAL_TYPE.match(type_text)
    kind = Kind.DECIMAL if decimal else Kind(type_text)
    precision, scale = 18, 2
    if decimal and decimal.group(1):
        precision, scale = int(decimal.group(1)), int(decimal.group(2))
        if not (1 <= precision <= 38 and 0 <= scale <= precision):
            raise doc.error(
                (*at, "type"), f"{type_text}: need 1 <= precision <= 38 and 0 <= scale <= precision"
            )

    def only_for(key: str, kinds: tuple[Kind, ...]) -> None:
        if key in spec and kind not in kinds:
            names = " or ".join(k.value for k in kinds)
            raise doc.error((*at, key), f"field {name!r}: {key} applies to {names} fields only")

    only_for("values", (Kind.ENUM,))
    only_for("pattern", (Kind.CODE,))
    only_for("min", (Kind.INTEGER, Kind.DECIMAL))
    only_for("max", (Kind.INTEGER, Kind.DECIMAL))
    only_for("min_length", (Kind.STRING,))
    only_for("max_length", (Kind.STRING,))
    only_for("not_blank", (Kind.STRING,))
    if kind == Kind.ENUM and "values" not in spec:
        raise doc.error(at, f"enum field {name!r} needs values: [...]")
    if kind == Kind.CODE:
        if "pattern" not in spec:
            raise doc.error(at, f"code field {name!r} needs a pattern (a regular expression)")
        try:
            re.compile(spec["pattern"])
        except re.error as exc:
            raise doc.error(
                (*at, "pattern"), f"pattern is not a regular expression: {exc}"
            ) from None
    default: int | str | bool | None = spec.get("default")
    if default is not None:
        expected = {Kind.INTEGER: int, Kind.BOOLEAN: bool}.get(kind, str)
        if type(default) is not expected or kind in (Kind.DECIMAL, Kind.TIMESTAMP):
            raise doc.error(
                (*at, "default"),
                f"default of {name!r} must be a {kind.value} value"
                + (
                    " (defaults apply to integer, boolean and text fields)"
                    if kind in (Kind.DECIMAL, Kind.TIMESTAMP)
                    else ""
                ),
            )
    low = None if spec.get("min") is None else Decimal(str(spec["min"]))
    high = None if spec.get("max") is None else Decimal(str(spec["max"]))
    if low is not None and high is not None and low > high:
        raise doc.error((*at, "max"), f"field {name!r}: max is below min")
    return Field(
        name=name,
        kind=kind,
        required=bool(spec.get("required", False)),
        required_for=frozenset(spec.get("required_when") or ()),
        required_with=spec.get("required_with"),
        default=cast("int | str | bool | None", default),
        min_length=int(spec.get("min_length", 1 if kind == Kind.STRING else 0)),
        max_length=spec.get("max_length"),
        not_blank=bool(spec.get("not_blank", False)),
        allowed=tuple(spec.get("values") or ()),
        pattern=spec.get("pattern"),
        min_value=low,
        max_value=high,
        precision=precision,
        scale=scale,
        description=str(spec.get("description", "")),
    )


def _contract(doc: _Document) -> StreamContract:
    d = doc.data
    fields = tuple(_field(doc, name, spec) for name, spec in d["fields"].items())
    by_name = {f.name: f for f in fields}
    roles = d["roles"]
    producer_spec = roles.get("producer")
    assigned: dict[str, str] = {}

    def role(path: tuple[str, ...], name: str | None) -> str | None:
        if name is None:
            return None
        label = ".".join(path[1:])
        if name not in by_name:
            raise doc.error(
                path,
                f"role {label} names {name!r}, which is not a field; "
                f"declared fields: {', '.join(by_name)}",
            )
        kinds = _KINDS_FOR_ROLE[label]
        if by_name[name].kind not in kinds:
            raise doc.error(
                path,
                f"role {label} needs a {' or '.join(k.value for k in kinds)} field; "
                f"{name!r} is {by_name[name].kind.value}",
            )
        if name in assigned:
            raise doc.error(
                path,
                f"field {name!r} plays two roles ({assigned[name]} and {label}); "
                "give each role its own field",
            )
        assigned[name] = label
        return name

    key = role(("roles", "key"), roles["key"])
    event_time = role(("roles", "event_time"), roles["event_time"])
    discriminator = role(("roles", "discriminator"), roles.get("discriminator"))
    version = role(("roles", "version"), roles.get("version"))
    producer = None
    if producer_spec is not None:
        producer = Producer(
            id=role(("roles", "producer", "id"), producer_spec["id"]) or "",
            sequence=role(("roles", "producer", "sequence"), producer_spec["sequence"]) or "",
            epoch=role(("roles", "producer", "epoch"), producer_spec.get("epoch")),
            sequence_start=int(producer_spec.get("sequence_start", 0)),
        )
    assert key is not None and event_time is not None
    for name in (key, event_time):
        if not by_name[name].required:
            raise doc.error(("fields", name), f"field {name!r} plays a role: add required: true")
    for f in fields:
        if f.required_for:
            at = ("fields", f.name, "required_when")
            if discriminator is None:
                raise doc.error(
                    at, "required_when needs a discriminator role (roles.discriminator)"
                )
            allowed = by_name[discriminator].allowed
            unknown = sorted(f.required_for - set(allowed)) if allowed else []
            if unknown:
                raise doc.error(
                    at,
                    f"{', '.join(unknown)} not among {discriminator}'s values "
                    f"({', '.join(allowed)})",
                )
        if f.required_with is not None and (
            f.required_with not in by_name or f.required_with == f.name
        ):
            raise doc.error(
                ("fields", f.name, "required_with"),
                f"required_with names {f.required_with!r}, which is not another field",
            )
    conflicts = ConflictRule(d.get("conflicts", ConflictRule.FIRST_LANDED.value))
    if conflicts == ConflictRule.HIGHEST_VERSION and version is None:
        raise doc.error(
            ("conflicts",), "conflicts: highest_version needs a version role (roles.version)"
        )
    guarantee = Guarantee(d.get("guarantee", Guarantee.EFFECTIVELY_ONCE.value))
    if guarantee == Guarantee.EXACTLY_ONCE and conflicts == ConflictRule.HIGHEST_VERSION:
        raise doc.error(
            ("conflicts",),
            "guarantee: exactly_once publishes each key once, so its first landed copy is "
            "kept: use conflicts: first_landed, or effectively_once for newer versions",
        )
    totals = tuple(d.get("control_totals") or ())
    for i, name in enumerate(totals):
        if name not in by_name or not by_name[name].numeric:
            raise doc.error(
                ("control_totals", i), f"control total {name!r} must be an integer or decimal field"
            )
    from onceonly.quality.checks import CHECK_NAMES

    # a bare `off` is YAML 1.1's false
    severities = tuple(
        (str(k), "off" if v is False else str(v)) for k, v in (d.get("checks") or {}).items()
    )
    for k, _ in severities:
        if k not in CHECK_NAMES:
            raise doc.error(
                ("checks", k), f"unknown check {k!r}; known: {', '.join(sorted(CHECK_NAMES))}"
            )
    outbox = _outbox(doc, d.get("outbox"), by_name)
    return StreamContract(
        stream=d["name"],
        fields=fields,
        key=key,
        event_time=event_time,
        discriminator=discriminator,
        version=version,
        producer=producer,
        dedup_window_days=int(d.get("dedup_window_days", 7)),
        guarantee=guarantee,
        conflicts=conflicts,
        unknown_fields=UnknownFields(d.get("unknown_fields", UnknownFields.KEEP.value)),
        layout=Layout(d.get("layout", Layout.HOURLY.value)),
        control_totals=totals,
        severities=severities,
        cadence=d.get("cadence"),
        description=str(d.get("description", "")),
        source=doc.path,
        outbox=outbox,
    )


def _outbox(doc: Any, given: dict[str, Any] | None, by_name: dict[str, Any]) -> Outbox | None:
    """The declaration's ``outbox``: each mapped field a declared one, each ``$name`` an
    outbox column."""
    if not given:
        return None
    from onceonly.relay import COLUMNS

    mapped = tuple((str(k), str(v)) for k, v in (given.get("fields") or {}).items())
    for field, src in mapped:
        if field not in by_name:
            raise doc.error(("outbox", "fields", field), f"{field!r} is not a declared field")
        if src.startswith("$") and src not in COLUMNS:
            raise doc.error(
                ("outbox", "fields", field),
                f"{src!r} is no outbox column; use one of {', '.join(COLUMNS)} or a payload key",
            )
    return Outbox(
        table=str(given["table"]),
        aggregatetype=given.get("aggregatetype"),
        connection=given.get("connection"),
        fields=mapped,
        batch_rows=int(given.get("batch_rows", Outbox.batch_rows)),
    )


def load_stream(path: Path | str) -> StreamContract:
    """One declaration file, checked."""
    doc = _read_yaml(Path(path))
    if not isinstance(doc.data, dict):
        raise doc.error((), "a declaration is a mapping with name, fields and roles")
    _schema_errors(doc)
    return _contract(doc)


def declaration_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DeclarationError(
            folder, None, "streams folder does not exist (set ONCEONLY_STREAMS_DIR or --streams)"
        )
    return sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())


def load_streams(folder: Path) -> dict[str, StreamContract]:
    """Every declaration in ``folder``, by stream name; two files may not declare one name."""
    streams: dict[str, StreamContract] = {}
    for path in declaration_files(folder):
        contract = load_stream(path)
        other = streams.get(contract.stream)
        if other is not None:
            doc = _read_yaml(path)
            raise doc.error(
                ("name",),
                f"stream {contract.stream!r} is also declared in {other.source}; "
                "give each stream its own name",
            )
        streams[contract.stream] = contract
    if not streams:
        raise DeclarationError(folder, None, "no stream declarations (<name>.yml) in this folder")
    return streams


def select(streams: dict[str, StreamContract], names: list[str] | None) -> list[StreamContract]:
    """The named streams (all when ``names`` is empty), or an error naming what exists."""
    if not names:
        return list(streams.values())
    unknown = [n for n in names if n not in streams]
    if unknown:
        from onceonly.errors import ConfigError

        raise ConfigError(
            f"unknown stream {', '.join(map(repr, unknown))}; declared streams: "
            f"{', '.join(sorted(streams))} (add streams/<name>.yml to declare one)"
        )
    return [streams[n] for n in names]


def example(name: str) -> StreamContract:
    """A declaration shipped with onceonly (``streams/<name>.yml`` of the project): the
    streams the generator writes, for benchmarks and tests."""
    from onceonly.settings import PROJECT_ROOT

    return load_stream(PROJECT_ROOT / "streams" / f"{name}.yml")
