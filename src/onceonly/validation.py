"""Line validation for a stream contract.

Validation runs in two stages, one place each:

1. ``prevalidate`` (Python, per line): UTF-8, size, blank line, strict RFC 8259 JSON
   (orjson: no NaN, no trailing commas) and a top-level object.
2. ``validation_sql`` (DuckDB, vectorised over a whole batch): every field rule of the
   contract, in field order, yielding typed columns or the first failing rule.

``validate_line`` runs both on one line; the landing step runs them on whole files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from onceonly.bytescan import positions
from onceonly.contract import Field, Kind, StreamContract, UnknownFields
from onceonly.raw_tables import logical_type
from onceonly.settings import DEFAULT_LIMITS
from onceonly.sql import ident, literal

TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]{1,9})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
#: The instants every target stores and the checks can reason about (UTC, end excluded):
#: a timestamp outside is quarantined as ``bad_timestamp``.
TIMESTAMP_RANGE = ("1970-01-01 00:00:00", "2100-01-01 00:00:00")
#: Blank for a string: whitespace and separators of any script, zero-width characters.
BLANK_PATTERN = r"[\s\p{Z}\x{200B}-\x{200D}\x{2060}\x{FEFF}]*"

#: Columns of the table that ``prevalidate`` produces and ``validation_sql`` reads.
LINES_SCHEMA = pa.schema(
    [
        ("file_index", pa.int32()),
        ("line_number", pa.int64()),
        ("line", pa.large_string()),  # with its line ending: see line_text
        ("pre_code", pa.string()),
        ("pre_reason", pa.string()),
    ]
)


#: A line of LINES_SCHEMA without its line ending (the LF and the CRs before it), in SQL.
LINE_TEXT_SQL = "rtrim(line, chr(13) || chr(10))"


def line_text(line: str) -> str:
    """A line of LINES_SCHEMA without its line ending, as LINE_TEXT_SQL."""
    return line.rstrip("\r\n")


@dataclass(frozen=True)
class Rejection:
    code: str
    reason: str


def json_depth(text: str) -> int:
    """How deeply the objects and arrays of a JSON text nest (brackets in strings aside)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "}]":
            depth -= 1
    return deepest


def prevalidate(
    text_line: str | None, max_depth: int = DEFAULT_LIMITS.json_depth
) -> Rejection | None:
    """Checks that need a real parser. ``text_line`` is None for bad UTF-8."""
    if text_line is None:
        return Rejection("bad_utf8", "line is not valid UTF-8")
    if not text_line.strip():
        return Rejection("blank_line", "line is blank")
    if json_depth(text_line) > max_depth:
        return Rejection(
            "too_deep",
            f"JSON nests deeper than {max_depth} levels (ONCEONLY_MAX_JSON_DEPTH), "
            "more than every target can store",
        )
    try:
        obj = orjson.loads(text_line)
    except orjson.JSONDecodeError as exc:
        return Rejection("invalid_json", f"invalid JSON: {exc}")
    if type(obj) is not dict:
        return Rejection("not_an_object", f"JSON value is a {type(obj).__name__}, not an object")
    return None


#: Lines that may use what DuckDB's lenient JSON reader accepts but RFC 8259 does not
#: (NaN/Infinity, trailing commas): these get a strict parse in Python.
LENIENT_JSON_SUSPECT = r"[:,\[]\s*[-+]?(nan|inf)|,\s*[\]}]"


def prevalidate_lines(
    lines: pa.ChunkedArray, max_depth: int = DEFAULT_LIMITS.json_depth
) -> dict[int, Rejection]:
    """Rejections by 0-based line index for the checks that SQL cannot make exactly.

    Vectorised: blank lines, lines with more brackets than ``max_depth`` (which alone get
    their nesting measured) and the few lines that might be lenient JSON, which alone are
    parsed strictly by orjson. Everything else is screened per line in ``validation_sql``
    (valid JSON, an object). Over-long lines were cut and marked when the file was split.
    ``lines`` end with their line endings, so a blank line is one of whitespace only.
    """
    if len(lines) == 0:
        return {}
    flagged = pc.or_(
        pc.utf8_is_space(lines),
        pc.match_substring_regex(lines, LENIENT_JSON_SUSPECT, ignore_case=True),
    ).to_numpy() | (_opening_brackets(lines) > max_depth)
    out: dict[int, Rejection] = {}
    for i in np.flatnonzero(flagged):
        rejection = prevalidate(line_text(lines[int(i)].as_py()), max_depth)
        if rejection is not None:
            out[int(i)] = rejection
    return out


def _opening_brackets(lines: pa.ChunkedArray) -> np.ndarray:
    """How many ``{`` and ``[`` bytes each line holds, counted on the arrays' bytes (about
    a quarter of the time of a regex count)."""
    counts = [np.empty(0, np.int64)]
    for chunk in lines.chunks:
        first = chunk.offset
        offsets = np.frombuffer(chunk.buffers()[1], np.int64)[first : first + len(chunk) + 1]
        data = np.frombuffer(chunk.buffers()[2], np.uint8)[offsets[0] : offsets[-1]]
        found = positions(data, ord("{"), ord("["))
        counts.append(np.diff(np.searchsorted(found, offsets - offsets[0])))
    return np.concatenate(counts)


def _type_name(v: str) -> str:
    """A readable JSON type name of a JSON value (evaluated for rejected lines only)."""
    t = f"json_type({v})"
    return (
        f"case when {t} in ('UBIGINT', 'BIGINT') then 'integer' when {t} = 'DOUBLE' then 'number' "
        f"when {t} = 'VARCHAR' then 'string' else lower({t}) end"
    )


Check = tuple[str, str, str]  # (failing condition, reason code, reason expression)


def _checks(f: Field, contract: StreamContract) -> list[Check]:
    """The rules of one field, in order. Column names: ``v_<f>`` is the field's JSON text
    (NULL when absent or null), ``s_<f>`` its string value, ``i_<f>`` its integer value."""
    q = f'"{f.name}"'
    v, s = f"v_{f.name}", f"s_{f.name}"
    present = f"({v} is not null)"
    checks: list[Check] = []
    if f.required:
        checks.append((f"not {present}", "missing_field", literal(f"missing required field {q}")))
    if f.required_for and contract.discriminator is not None:
        disc = f"s_{contract.discriminator}"
        kinds = ", ".join(literal(k) for k in sorted(f.required_for))
        checks.append(
            (
                f"not {present} and {disc} in ({kinds})",
                "missing_field",
                literal(f"missing field {q}, required for {contract.discriminator} ")
                + f" || {disc}",
            )
        )
    if f.required_with:
        checks.append(
            (
                f"not {present} and v_{f.required_with} is not null",
                "missing_field",
                literal(f'missing field {q}, required with "{f.required_with}"'),
            )
        )

    def rule(cond: str, code: str, reason: str) -> None:
        checks.append((f"{present} and ({cond})", code, reason))

    def wrong_type(cond: str, expected: str) -> None:
        reason = literal(f"{q} must be {expected}, got ") + " || " + _type_name(v)
        rule(cond, "wrong_type", reason)

    shown = literal(', got "') + f" || left({s}, 64) || " + literal('"')
    if f.kind in (Kind.STRING, Kind.ENUM, Kind.CODE, Kind.TIMESTAMP):
        wrong_type(f"{s} is null", "a string")
    if f.kind == Kind.STRING:
        rule(
            f"contains({s}, chr(0))",
            "bad_value",
            literal(f"{q} holds a NUL character (U+0000), which PostgreSQL cannot store"),
        )
        if f.not_blank:
            rule(
                f"regexp_full_match({s}, {literal(BLANK_PATTERN)})",
                "empty_field",
                literal(f"{q} is empty or blank"),
            )
        if f.min_length > 0:
            rule(f"length({s}) < {f.min_length}", "empty_field", literal(f"{q} is empty"))
        if f.max_length is not None:
            rule(
                f"length({s}) > {f.max_length}",
                "too_long",
                literal(f"{q} is longer than {f.max_length} characters"),
            )
    elif f.kind == Kind.ENUM:
        allowed = ", ".join(literal(a) for a in f.allowed)
        reason = literal(f"{q} is not one of {', '.join(f.allowed)}") + f" || {shown}"
        rule(f"{s} not in ({allowed})", "bad_value", reason)
    elif f.kind == Kind.CODE:
        assert f.pattern is not None
        pattern = literal(f.pattern.strip("^$"))
        reason = literal(f"{q} must match {f.pattern}") + f" || {shown}"
        rule(f"not regexp_full_match({s}, {pattern})", "bad_value", reason)
    elif f.kind == Kind.TIMESTAMP:
        reason = (
            literal(
                f"{q} must be an RFC 3339 timestamp with an offset, from "
                f"{TIMESTAMP_RANGE[0][:4]} to before {TIMESTAMP_RANGE[1][:4]} (UTC)"
            )
            + f" || {shown}"
        )
        rule(
            f"not regexp_full_match({s}, {literal(TIMESTAMP_PATTERN.strip('^$'))}) "
            f"or ts_{f.name} is null or ts_{f.name} < {literal(TIMESTAMP_RANGE[0] + '+00')} "
            f"or ts_{f.name} >= {literal(TIMESTAMP_RANGE[1] + '+00')}",
            "bad_timestamp",
            reason,
        )
    elif f.kind == Kind.INTEGER:
        wrong_type(f"not regexp_full_match({v}::varchar, '-?[0-9]+')", "an integer")
        low, high = f.integer_bounds()
        reason = literal(f"{q} must be an integer from {low} to {high}, got ")
        rule(
            f"coalesce(i_{f.name} not between {low} and {high}, true)",
            "out_of_range",
            reason + f" || {v}::varchar",
        )
    elif f.kind == Kind.BOOLEAN:
        wrong_type(f"json_type({v}) <> 'BOOLEAN'", "true or false")
    elif f.kind == Kind.DECIMAL:
        wrong_type(
            f"json_type({v}) not in ('UBIGINT', 'BIGINT', 'DOUBLE', 'VARCHAR')",
            "a number or a decimal string",
        )
        digits = f.precision - f.scale
        sign = "" if f.min_value is not None and f.min_value >= 0 else "-?"
        fraction = f"(\\.[0-9]{{1,{f.scale}}})?" if f.scale else ""
        pattern = f"{sign}([0-9]{{1,{digits}}}{fraction}|[0-9]{{1,{digits}}}\\.0*)"
        bound = ">= 0 " if sign == "" else ""
        reason = literal(f"{q} must be a decimal {bound}with at most {f.scale} decimal places")
        rule(
            f"not regexp_full_match({s}, {literal(pattern)})", "bad_value", reason + f" || {shown}"
        )
        typed = f"try_cast({s} as {logical_type(f.kind, f.precision, f.scale)})"
        for bound_value, op, word in (
            (f.min_value, "<", "at least"),
            (f.max_value, ">", "at most"),
        ):
            if bound_value is not None and not (op == "<" and bound_value == 0):
                rule(
                    f"{typed} {op} {bound_value}",
                    "out_of_range",
                    literal(f"{q} must be {word} {bound_value}") + f" || {shown}",
                )
    return checks


def _value_columns(f: Field) -> list[str]:
    """Columns computed once per line from the field's JSON text ``v_<f>``."""
    v = f"v_{f.name}"
    is_string = f"left({v}, 1) = '\"'"
    # a JSON string without escapes is its text between the quotes; others are decoded
    unquoted = (
        f"case when contains({v}::varchar, '\\') then {v}->>'$' else ({v}::varchar)[2:-2] end"
    )
    cols = []
    if f.kind == Kind.INTEGER:
        cols.append(f"try_cast({v}::varchar as bigint) as i_{f.name}")
    elif f.kind == Kind.BOOLEAN:
        cols.append(
            f"case when json_type({v}) = 'BOOLEAN' then {v}::varchar = 'true' end as b_{f.name}"
        )
    elif f.kind == Kind.DECIMAL:
        # a JSON string is unquoted; a JSON number is taken as written in the line (the
        # parsed value went through a binary double), when the text found is that number
        pattern = '"' + f.name + '"' + r"\s*:\s*(-?[0-9][0-9.eE+-]*)"
        raw = f"regexp_extract(line, {literal(pattern)}, 1)"
        cols.append(
            f"case when {is_string} then {unquoted} "
            f"when try_cast({raw} as double) = try_cast({v}::varchar as double) then {raw} "
            f"else {v}::varchar end as s_{f.name}"
        )
    else:
        cols.append(f"case when {is_string} then {unquoted} end as s_{f.name}")
    if f.kind == Kind.TIMESTAMP:
        cols.append(
            f"try_cast(case when {is_string} then {unquoted} end as timestamptz) as ts_{f.name}"
        )
    return cols


def _typed(f: Field) -> str:
    s = f"s_{f.name}"
    if f.kind == Kind.TIMESTAMP:
        expr = f"cast(timezone('UTC', ts_{f.name}) as timestamp)"
    elif f.kind == Kind.INTEGER:
        expr = f"i_{f.name}"
    elif f.kind == Kind.BOOLEAN:
        expr = f"b_{f.name}"
    elif f.kind == Kind.DECIMAL:
        expr = f"try_cast({s} as {logical_type(f.kind, f.precision, f.scale)})"
    else:
        expr = s
    if f.default is not None:
        default = (
            str(f.default).lower()
            if isinstance(f.default, bool)
            else str(int(f.default))
            if isinstance(f.default, int)
            else literal(str(f.default))
        )
        expr = f"coalesce({expr}, {default})"
    return f"case when reason_code is null then {expr} end as {ident(f.name)}"


#: Most undeclared keys ``validation_sql`` parses into columns of their own.
MAX_KEPT_KEYS = 64


def _kept_keys(contract: StreamContract, undeclared: Sequence[str]) -> list[str]:
    """The undeclared keys that can be columns of the parsed struct: not empty, and unique
    with the declared names ignoring case (struct field names ignore case)."""
    if contract.unknown_fields != UnknownFields.KEEP:
        return []
    seen = {n.lower() for n in contract.field_names}
    kept: list[str] = []
    for key in undeclared:
        if key and key.lower() not in seen and len(kept) < MAX_KEPT_KEYS:
            seen.add(key.lower())
            kept.append(key)
    return kept


def key_lists_sql(lines_relation: str = "lines", sample: int = 10_000) -> str:
    """The key lists of a sample of ``lines_relation``'s JSON objects with how many lines
    hold each, the most frequent first: what ``sampled_keys`` reads."""
    return f"""
select keys, count(*) as lines
from (
    select case when json_valid(line) and left(ltrim(line), 1) = '{{' then json_keys(line) end
        as keys
    from (select line from {lines_relation} where pre_code is null
        using sample reservoir({sample} rows) repeatable (1))
)
where keys is not null
group by keys
order by lines desc, keys
"""


@dataclass(frozen=True)
class SampledKeys:
    """What a sample of lines says about their keys, for ``validation_sql``."""

    undeclared: list[str]  # the undeclared keys found, in order
    shape: tuple[str, ...]  # the most frequent key list, when no key repeats in it


def sampled_keys(contract: StreamContract, key_lists: Sequence[tuple[Any, Any]]) -> SampledKeys:
    """Read the rows of ``key_lists_sql``: the undeclared keys (with ``unknown_fields:
    keep``, where they are parsed with the declared fields) and the lines' common shape."""
    declared = set(contract.field_names)
    found = {str(k) for keys, _ in key_lists for k in keys if k not in declared}
    undeclared = sorted(found) if contract.unknown_fields == UnknownFields.KEEP else []
    shape = tuple(str(k) for k in key_lists[0][0]) if key_lists else ()
    return SampledKeys(undeclared, shape if len(set(shape)) == len(shape) else ())


#: Undeclared keys written into ``_extra`` as they are: their JSON string is the key in
#: quotes, whichever serializer writes it.
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.:@$ -]+")


def validation_sql(
    contract: StreamContract,
    lines_relation: str = "lines",
    undeclared: Sequence[str] = (),
    shape: Sequence[str] = (),
) -> str:
    """SELECT over ``lines_relation`` (see LINES_SCHEMA) giving typed fields, ``_extra``,
    and ``_reason_code``/``_reason`` (NULL when the line is valid). Every column but the
    declared fields starts with ``_``, which no field name may.

    Each line is parsed once into its contract fields (``json_transform``); the rules are
    evaluated once into the number of the first failing one. The ``undeclared`` keys
    expected in the lines (see ``sampled_keys``) are parsed in the same pass, so
    that ``_extra`` is built from them; a line with other undeclared keys is parsed again
    for its ``_extra`` (the same value, more slowly).

    A line whose keys are ``shape`` (the same keys in the same order, none repeated: what a
    producer's serializer writes on every line) skips the work that depends on its keys
    alone: its undeclared keys are known, it has no repeated key, and its ``_extra`` is
    written from the parsed values. Every other line goes the general way; both give the
    same rows (tests/test_validation.py, tests/test_landing.py).
    """
    names = contract.field_names
    kept = _kept_keys(contract, undeclared)
    spec = literal("{" + ", ".join(f'{json.dumps(n)}: "JSON"' for n in (*names, *kept)) + "}")
    n_present = " + ".join(f"(v_{n} is not null)::int" for n in names)
    # A repeated key: hashing every line's key list is the costliest check, so it is made
    # only where the counts leave room for one. When the declared keys found equal the
    # declared fields with a value, no declared key repeats and only undeclared ones can.
    declared_found = "len(keys) - len(other_keys)"
    shape_others = [k for k in shape if k not in names]
    shaped = f"coalesce(keys = {_list(shape)}, false)" if shape else "false"
    checks: list[Check] = [
        (
            f"not shaped and len(keys) > {n_present} and case when {declared_found} = {n_present} "
            "then len(other_keys) > 1 and len(other_keys) <> len(list_distinct(other_keys)) "
            "else len(keys) <> len(list_distinct(keys)) end",
            "duplicate_key",
            literal("JSON object has a repeated key"),
        )
    ]
    for f in contract.fields:
        checks.extend(_checks(f, contract))
    declared = _list(names)
    if contract.unknown_fields == UnknownFields.QUARANTINE:
        undeclared = "array_to_string(other_keys, ', ')"
        checks.append(
            (
                "has_other_keys",
                "unknown_field",
                literal("fields not in the declaration: ") + f" || left({undeclared}, 200)",
            )
        )
    check_case = (
        "case "
        + " ".join(f"when {cond} then {i}" for i, (cond, _, _) in enumerate(checks, start=1))
        + " end"
    )
    codes = "[" + ", ".join(literal(code) for _, code, _ in checks) + "]"
    reason_case = (
        "case check_no "
        + " ".join(f"when {i} then {reason}" for i, (_, _, reason) in enumerate(checks, start=1))
        + " end"
    )
    field_cols = ", ".join(f"j.{ident(n)} as v_{n}" for n in names)
    value_cols = ", ".join(c for f in contract.fields for c in _value_columns(f))
    null_patch = literal("{" + ", ".join(f'"{n}": null' for n in names) + "}")
    typed = ",\n    ".join(_typed(f) for f in contract.fields)
    others = f"json_merge_patch(line, {null_patch})::varchar"
    if kept:
        field_cols += ", " + ", ".join(
            f"struct_extract(j, {literal(k)}) as u_{i}" for i, k in enumerate(kept)
        )
        value_of = " ".join(f"when {literal(k)} then u_{i}" for i, k in enumerate(kept))
        kept_list = _list(kept)
        others = (
            f"case when list_has_all({kept_list}, other_keys) then to_json(map(other_keys, "
            f"list_transform(other_keys, lambda k: case k {value_of} end)))::varchar "
            f"else {others} end"
        )
        if shape_others and all(k in kept and _PLAIN_KEY.fullmatch(k) for k in shape_others):
            # to_json's object, written out: its keys in the line's order, JSON null for
            # a NULL value (a JSON null)
            written = " || ',' || ".join(
                literal(json.dumps(k) + ":") + f" || coalesce(u_{kept.index(k)}::varchar, 'null')"
                for k in shape_others
            )
            others = f"case when shaped then '{{' || {written} || '}}' else {others} end"
    extra = (
        "cast(null as json)"
        if contract.unknown_fields == UnknownFields.DROP
        else f"case when reason_code is null and has_other_keys then nullif({others}, '{{}}') end"
    )
    return f"""
with screened_code as (
    select file_index, line_number, line, pre_reason,
        case when pre_code is not null then pre_code
            when not json_valid(line) then 'invalid_json'
            when left(ltrim(line), 1) <> '{{' then 'not_an_object' end as pre_code,
        pre_code is null as unscreened
    from {lines_relation}
),
screened as (
    select file_index, line_number, line, pre_code,
        case when not unscreened then pre_reason
            when pre_code = 'invalid_json' then 'line is not valid JSON'
            when pre_code = 'not_an_object' then 'JSON value is not an object' end
            as pre_reason
    from screened_code
),
parsed as (
    select file_index, line_number, line, pre_code, pre_reason,
        case when pre_code is null then json_transform(line, {spec}) end as j,
        case when pre_code is null then json_keys(line) end as keys
    from screened
),
fields as (
    select file_index, line_number, line, pre_code, pre_reason, keys, {field_cols}
    from parsed
),
shaped as (
    select *, {shaped} as shaped
    from fields
),
keyed as (
    select *, case when shaped then {_list(shape_others)}
        else list_filter(keys, lambda k: not list_contains({declared}, k)) end as other_keys
    from shaped
),
valued as (
    select *, {value_cols}, len(other_keys) > 0 as has_other_keys
    from keyed
),
numbered as (
    select *, case when pre_code is null then {check_case} end as check_no
    from valued
),
checked as (
    select *,
        coalesce(pre_code, {codes}[check_no]) as reason_code,
        case when pre_code is not null then pre_reason else {reason_case} end as reason
    from numbered
)
select
    file_index as _file_index,
    line_number as _line_number,
    reason_code as _reason_code,
    reason as _reason,
    case when reason_code is not null then {LINE_TEXT_SQL} end as _raw_text,
    {typed},
    {extra} as {ident(contract.extra_column)},
    reason_code is null and has_other_keys as _dropped_fields
from checked
"""


def _list(strings: Sequence[str]) -> str:
    """A SQL list of string literals (typed, when empty)."""
    return "[" + ", ".join(literal(x) for x in strings) + "]" if strings else "[]::varchar[]"


@dataclass(frozen=True)
class Verdict:
    """The outcome for one line: either a rejection or the typed values."""

    rejection: Rejection | None
    values: dict[str, Any]
    dropped_fields: bool = False  # undeclared fields were dropped (``unknown_fields: drop``)


def validate_line(contract: StreamContract, line: str | bytes) -> Verdict:
    """Validate one line exactly as landing does (for tests, tooling and fuzzing)."""
    from onceonly.landing_zone import split_lines

    data = line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass")
    lines, pre = split_lines(data.replace(b"\n", b" ") + b"\n")
    if len(lines) == 0:
        lines = pa.array(["\n"], pa.large_string())
    table = lines_table([(lines, {i: Rejection(*r) for i, r in pre.items()})])
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
    if record["_reason_code"] is not None:
        return Verdict(Rejection(record["_reason_code"], record["_reason"]), {})
    values = {k: record[k] for k in (*contract.field_names, contract.extra_column)}
    return Verdict(None, values, record["_dropped_fields"] and contract.unknown_fields == "drop")


def lines_table(
    files: Sequence[tuple[pa.LargeStringArray, dict[int, Rejection]]],
    max_depth: int = DEFAULT_LIMITS.json_depth,
) -> pa.Table:
    """The LINES_SCHEMA table for a group of files: each file's lines (``file_index`` is
    the position in ``files``) with the line-level rejections, known and found here. The
    lines stay the files' own arrays (one chunk each), uncopied."""
    if not files:
        return LINES_SCHEMA.empty_table()
    lines = pa.chunked_array([f[0] for f in files], pa.large_string())
    sizes = np.array([len(f[0]) for f in files], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    rejected = prevalidate_lines(lines, max_depth)
    for start, (_, known) in zip(starts, files, strict=True):
        rejected.update({int(start) + j: r for j, r in known.items()})
    n = len(lines)
    # each line's rejection by position in a list whose last entry is none
    slot = np.full(n, len(rejected), np.int64)
    slot[np.fromiter(rejected, np.int64, len(rejected))] = np.arange(len(rejected))
    found = list(rejected.values())
    codes = pa.array([r.code for r in found] + [None], pa.string()).take(slot)
    reasons = pa.array([r.reason for r in found] + [None], pa.string()).take(slot)
    file_index = np.repeat(np.arange(len(files), dtype=np.int32), sizes)
    line_number = np.arange(1, n + 1, dtype=np.int64) - np.repeat(starts, sizes)
    return pa.table(
        [pa.array(file_index), pa.array(line_number), lines, codes, reasons],
        schema=LINES_SCHEMA,
    )
