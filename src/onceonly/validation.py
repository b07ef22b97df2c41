"""Line validation for a stream contract.

Validation runs in two stages, one place each:

1. ``prevalidate`` (Python, per line): UTF-8, size, blank line, strict RFC 8259 JSON
   (orjson: no NaN, no trailing commas) and a top-level object.
2. ``validation_sql`` (DuckDB, vectorised over a whole batch): every field rule of the
   contract, in field order, yielding typed columns or the first failing rule.

``validate_line`` runs both on one line; the landing step runs them on whole files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from onceonly.contract import MAX_LINE_BYTES, Field, Kind, StreamContract
from onceonly.raw_tables import logical_type
from onceonly.sql import ident, literal

TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)

#: Columns of the table that ``prevalidate`` produces and ``validation_sql`` reads.
LINES_SCHEMA = pa.schema(
    [
        ("file_index", pa.int32()),
        ("line_number", pa.int64()),
        ("line", pa.string()),
        ("pre_code", pa.string()),
        ("pre_reason", pa.string()),
    ]
)


@dataclass(frozen=True)
class Rejection:
    code: str
    reason: str


def prevalidate(text_line: str | None, raw: bytes | None = None) -> Rejection | None:
    """Checks that need a real parser or raw bytes. ``text_line`` is None for bad UTF-8."""
    if text_line is None:
        return Rejection("bad_utf8", "line is not valid UTF-8")
    if len(text_line) * 4 > MAX_LINE_BYTES and len(text_line.encode()) > MAX_LINE_BYTES:
        return Rejection("line_too_long", f"line is longer than {MAX_LINE_BYTES} bytes")
    if not text_line.strip():
        return Rejection("blank_line", "line is blank")
    try:
        obj = orjson.loads(text_line)
    except orjson.JSONDecodeError as exc:
        return Rejection("invalid_json", f"invalid JSON: {exc}")
    if type(obj) is not dict:
        return Rejection("not_an_object", f"JSON value is a {type(obj).__name__}, not an object")
    return None


def _json_type_name(t: str) -> str:
    return (
        "case "
        + f"when {t} in ('UBIGINT', 'BIGINT') then 'integer' "
        + f"when {t} = 'DOUBLE' then 'number' when {t} = 'VARCHAR' then 'string' "
        + f"else lower({t}) end"
    )


def _checks(f: Field, contract: StreamContract, t: str, s: str, present: dict[str, str]) -> list[
    tuple[str, str, str]
]:
    """(failing condition, code, reason expression) for one field, in order."""
    name = f.name
    q = f'"{name}"'
    checks: list[tuple[str, str, str]] = []
    absent = f"not {present[name]}"
    if f.required:
        checks.append((absent, "missing_field", literal(f"missing required field {q}")))
    if f.required_for:
        kinds = ", ".join(literal(k) for k in sorted(f.required_for))
        disc = f"s_{contract.discriminator}"
        checks.append(
            (
                f"{absent} and {disc} in ({kinds})",
                "missing_field",
                literal(f"missing field {q}, required for event_type ") + f" || {disc}",
            )
        )
    if f.required_with:
        checks.append(
            (
                f"{absent} and {present[f.required_with]}",
                "missing_field",
                literal(f"missing field {q}, required with \"{f.required_with}\""),
            )
        )
    got = literal(f"{q} must be ") + " || {what} || " + literal(", got ") + " || " + _json_type_name(t)

    def wrong(cond: str, what: str) -> None:
        checks.append((f"{present[name]} and ({cond})", "wrong_type", got.format(what=literal(what))))

    def bad(cond: str, code: str, reason: str) -> None:
        checks.append((f"{present[name]} and ({cond})", code, reason))

    value_shown = literal(", got \"") + f" || left({s}, 64) || " + literal('"')
    if f.kind in (Kind.STRING, Kind.ENUM, Kind.CODE, Kind.TIMESTAMP):
        wrong(f"{t} <> 'VARCHAR'", "a string")
    if f.kind == Kind.STRING:
        if f.not_blank:
            bad(f"regexp_full_match({s}, '\\s*')", "empty_field", literal(f"{q} is empty or blank"))
        bad(f"length({s}) < {f.min_length}", "empty_field", literal(f"{q} is empty"))
        if f.max_length is not None:
            bad(
                f"length({s}) > {f.max_length}",
                "too_long",
                literal(f"{q} is longer than {f.max_length} characters"),
            )
    elif f.kind == Kind.ENUM:
        allowed = ", ".join(literal(a) for a in f.allowed)
        bad(f"{s} not in ({allowed})", "bad_value", literal(f"{q} is not one of {', '.join(f.allowed)}") + f" || {value_shown}")
    elif f.kind == Kind.CODE:
        assert f.pattern is not None
        bad(
            f"not regexp_full_match({s}, {literal(f.pattern.strip('^$'))})",
            "bad_value",
            literal(f"{q} must match {f.pattern}") + f" || {value_shown}",
        )
    elif f.kind == Kind.TIMESTAMP:
        bad(
            f"not regexp_full_match({s}, {literal(TIMESTAMP_PATTERN.strip('^$'))}) "
            f"or left({s}, 4) = '0000' or try_cast({s} as timestamptz) is null",
            "bad_timestamp",
            literal(f"{q} must be an RFC 3339 timestamp with an offset") + f" || {value_shown}",
        )
    elif f.kind == Kind.INTEGER:
        wrong(f"{t} not in ('UBIGINT', 'BIGINT')", "an integer")
        bad(
            f"coalesce(try_cast({s} as bigint) < {f.min_value}, true)",
            "out_of_range",
            literal(f"{q} must be an integer from {f.min_value} to 9223372036854775807")
            + f" || {value_shown}",
        )
    elif f.kind == Kind.DECIMAL:
        wrong(f"{t} not in ('UBIGINT', 'BIGINT', 'DOUBLE', 'VARCHAR')", "a number or a decimal string")
        digits = f.precision - f.scale
        pattern = f"[0-9]{{1,{digits}}}(\\.[0-9]{{1,{f.scale}}})?|[0-9]{{1,{digits}}}\\.0*"
        bad(
            f"not regexp_full_match({s}, {literal(pattern)})",
            "bad_value",
            literal(f"{q} must be a decimal >= 0 with at most {f.scale} decimal places")
            + f" || {value_shown}",
        )
    return checks


def _typed(f: Field, s: str) -> str:
    if f.kind == Kind.TIMESTAMP:
        expr = f"cast(timezone('UTC', try_cast({s} as timestamptz)) as timestamp)"
    elif f.kind in (Kind.INTEGER, Kind.DECIMAL):
        expr = f"try_cast({s} as {logical_type(f.kind, f.precision, f.scale)})"
    else:
        expr = s
    if f.default is not None:
        expr = f"coalesce({expr}, {int(f.default)})"
    return f"case when reason_code is null then {expr} end as {ident(f.name)}"


def validation_sql(contract: StreamContract, lines_relation: str = "lines") -> str:
    """SELECT over ``lines_relation`` (see LINES_SCHEMA) giving typed fields, ``_extra``,
    and ``reason_code``/``reason`` (NULL when the line is valid)."""
    names = contract.field_names
    paths = "[" + ", ".join(literal(f'$."{n}"') for n in names) + "]"
    extract_cols = []
    present: dict[str, str] = {}
    for i, n in enumerate(names, start=1):
        extract_cols.append(f"json_type(j[{i}]) as t_{n}, s[{i}] as s_{n}")
        present[n] = f"coalesce(t_{n} <> 'NULL', false)"
    checks: list[tuple[str, str, str]] = [
        (
            "len(json_keys(line)) <> len(list_distinct(json_keys(line)))",
            "duplicate_key",
            literal("JSON object has a repeated key"),
        )
    ]
    for f in contract.fields:
        checks.extend(_checks(f, contract, f"t_{f.name}", f"s_{f.name}", present))
    code_case = "case when pre_code is not null then pre_code " + " ".join(
        f"when {cond} then {literal(code)}" for cond, code, _ in checks
    ) + " end"
    reason_case = "case when pre_code is not null then pre_reason " + " ".join(
        f"when {cond} then {reason}" for cond, _, reason in checks
    ) + " end"
    null_patch = "{" + ", ".join(f'"{n}": null' for n in names) + "}"
    typed = ",\n    ".join(_typed(f, f"s_{f.name}") for f in contract.fields)
    return f"""
with extracted as (
    select file_index, line_number, line, pre_code, pre_reason,
        case when pre_code is null then json_extract(line, {paths}) end as j,
        case when pre_code is null then json_extract_string(line, {paths}) end as s
    from {lines_relation}
),
typed_values as (
    select file_index, line_number, line, pre_code, pre_reason, {", ".join(extract_cols)}
    from extracted
),
checked as (
    select *, {code_case} as reason_code, {reason_case} as reason
    from typed_values
)
select
    file_index,
    line_number,
    reason_code,
    reason,
    case when reason_code is not null then line end as raw_text,
    {typed},
    case when reason_code is null then nullif(
        json_merge_patch(line, {literal(null_patch)})::varchar, '{{}}') end
        as {ident(contract.extra_column)}
from checked
"""


@dataclass(frozen=True)
class Verdict:
    """The outcome for one line: either a rejection or the typed values."""

    rejection: Rejection | None
    values: dict[str, Any]


def validate_line(contract: StreamContract, line: str | bytes) -> Verdict:
    """Validate one line exactly as landing does (for tests, tooling and fuzzing)."""
    text: str | None
    if isinstance(line, bytes):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    else:
        text = line
    pre = prevalidate(text)
    table = pa.table(
        {
            "file_index": pa.array([0], pa.int32()),
            "line_number": pa.array([1], pa.int64()),
            "line": pa.array([text if text is not None else ""], pa.string()),
            "pre_code": pa.array([pre.code if pre else None], pa.string()),
            "pre_reason": pa.array([pre.reason if pre else None], pa.string()),
        }
    )
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.register("lines", table)
        row = con.execute(validation_sql(contract)).fetchone()
        assert row is not None
        columns = [d[0] for d in con.description or []]
    finally:
        con.close()
    record = dict(zip(columns, row, strict=True))
    if record["reason_code"] is not None:
        return Verdict(Rejection(record["reason_code"], record["reason"]), {})
    return Verdict(None, {k: record[k] for k in (*contract.field_names, contract.extra_column)})
