"""The contract validator: one precise reason per rejected line, typed values otherwise."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from decimal import Decimal

import duckdb
import pytest
from conftest import ORDERS, order_placed

from onceonly.contract import UnknownFields
from onceonly.validation import Rejection, validate_line


def reject(line: str | bytes) -> tuple[str, str]:
    verdict = validate_line(ORDERS, line)
    assert verdict.rejection is not None, f"expected a rejection for {line!r:.80}"
    return verdict.rejection.code, verdict.rejection.reason


def test_valid_line_is_typed_and_utc_with_extras_kept() -> None:
    line = json.dumps(order_placed(amount=12.3, client={"app": "ios"}))
    verdict = validate_line(ORDERS, line)
    assert verdict.rejection is None
    v = verdict.values
    assert v["occurred_at"] == datetime(2026, 1, 5, 9, 30)  # +02:00 stored as UTC
    assert v["amount"] == Decimal("12.30")
    assert v["producer_epoch"] == 0
    assert json.loads(v["_extra"]) == {"client": {"app": "ios"}}


def test_producer_epoch_defaults_to_zero() -> None:
    event = order_placed()
    del event["producer_epoch"]
    assert validate_line(ORDERS, json.dumps(event)).values["producer_epoch"] == 0


def test_same_instant_in_another_offset_is_the_same_value() -> None:
    a = validate_line(ORDERS, json.dumps(order_placed(occurred_at="2026-01-05T09:30:00Z")))
    b = validate_line(ORDERS, json.dumps(order_placed(occurred_at="2026-01-05T04:30:00-05:00")))
    assert a.values["occurred_at"] == b.values["occurred_at"]


@pytest.mark.parametrize(
    ("change", "code", "mentions"),
    [
        ({"event_id": None}, "missing_field", "event_id"),
        ({"event_id": ""}, "empty_field", "event_id"),
        ({"event_id": "   "}, "empty_field", "event_id"),
        ({"event_id": "x" * 129}, "too_long", "event_id"),
        ({"event_id": 17}, "wrong_type", "event_id"),
        ({"event_type": "order_teleported"}, "bad_value", "order_teleported"),
        ({"occurred_at": "2026-01-05T10:00:00"}, "bad_timestamp", "occurred_at"),
        ({"occurred_at": "2026-02-30T10:00:00Z"}, "bad_timestamp", "occurred_at"),
        ({"occurred_at": "0000-01-01T00:00:00Z"}, "bad_timestamp", "occurred_at"),
        ({"occurred_at": 1767600000}, "wrong_type", "occurred_at"),
        ({"sequence_number": "3"}, "wrong_type", "sequence_number"),
        ({"sequence_number": -1}, "out_of_range", "sequence_number"),
        ({"sequence_number": 2**63}, "out_of_range", "sequence_number"),
        ({"sequence_number": 1.5}, "wrong_type", "sequence_number"),
        ({"quantity": 0}, "out_of_range", "quantity"),
        ({"customer_id": None}, "missing_field", "customer_id"),
        ({"amount": "12.345"}, "bad_value", "amount"),
        ({"amount": -1}, "bad_value", "amount"),
        ({"amount": "1e3"}, "bad_value", "amount"),
        ({"amount": True}, "wrong_type", "amount"),
        ({"currency": None}, "missing_field", "currency"),
        ({"currency": "euro"}, "bad_value", "currency"),
    ],
)
def test_each_rule_names_the_field(change: dict[str, object], code: str, mentions: str) -> None:
    event = order_placed()
    for key, value in change.items():
        if value is None:
            event.pop(key)
        else:
            event[key] = value
    got_code, reason = reject(json.dumps(event))
    assert got_code == code
    assert mentions in reason


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ('{"event_id": "a", ', "invalid_json"),
        ('{"event_id": "a", "amount": NaN}', "invalid_json"),
        ('{"event_id": "a",}', "invalid_json"),
        ("[1, 2]", "not_an_object"),
        ('"just a string"', "not_an_object"),
        ("", "blank_line"),
        ("   \t", "blank_line"),
        (b'{"event_id": "\xff\xfe"}', "bad_utf8"),
        ('{"event_id": "a", "event_id": "b"}', "duplicate_key"),
        ('{"event_id": "a\u0000b"}', "invalid_json"),
    ],
)
def test_line_level_rejections(line: str | bytes, code: str) -> None:
    assert reject(line)[0] == code


def test_line_over_one_mib_is_rejected_without_parsing() -> None:
    line = json.dumps(order_placed(padding="x" * (1024 * 1024)))
    assert reject(line)[0] == "line_too_long"


def test_conditional_fields_only_where_required() -> None:
    shipped = {
        k: v
        for k, v in order_placed(event_type="order_shipped").items()
        if k not in ("customer_id", "product_id", "quantity", "amount", "currency")
    }
    assert validate_line(ORDERS, json.dumps(shipped)).rejection is None
    captured = dict(shipped, event_type="payment_captured")
    code, reason = reject(json.dumps(captured))
    assert code == "missing_field" and "payment_captured" in reason


def _with_repeat(event: dict[str, object], key: str, value: object, *, first: bool) -> str:
    """The event as a JSON object with ``key`` written once more (before or after the rest)."""
    body = json.dumps(event)[1:-1]
    extra = f"{json.dumps(key)}: {json.dumps(value)}"
    return "{" + (f"{extra}, {body}" if first else f"{body}, {extra}") + "}"


@pytest.mark.parametrize(
    ("event_change", "key", "value"),
    [
        ({}, "event_id", "ev-2"),  # a declared key repeated
        ({"client": "web"}, "event_id", "ev-2"),  # ... beside an undeclared field
        ({"client": "web"}, "client", "ios"),  # an undeclared key repeated
        ({"customer_id": None}, "currency", "EUR"),  # beside a declared field set to null
        ({"note": None}, "note", None),  # an undeclared key repeated, both null
    ],
)
@pytest.mark.parametrize("first", [True, False])
def test_a_repeated_key_is_found_wherever_it_is(
    event_change: dict[str, object], key: str, value: object, first: bool
) -> None:
    event = order_placed() | event_change
    assert reject(_with_repeat(event, key, value, first=first))[0] == "duplicate_key"


def test_a_declared_field_set_to_null_is_not_an_undeclared_field() -> None:
    """JSON null in an optional declared field is that field left empty: it lands in every
    ``unknown_fields`` mode, with nothing kept or dropped beside it."""
    event = order_placed(event_type="order_shipped") | {"customer_id": None, "quantity": None}
    for mode in ("keep", "quarantine", "drop"):
        declaration = dataclasses.replace(ORDERS, unknown_fields=UnknownFields(mode))
        verdict = validate_line(declaration, json.dumps(event))
        assert verdict.rejection is None, (mode, verdict.rejection)
        assert verdict.values["customer_id"] is None and verdict.values["_extra"] is None
        assert not verdict.dropped_fields
    dropped = validate_line(
        dataclasses.replace(ORDERS, unknown_fields=UnknownFields.DROP),
        json.dumps(event | {"client": "web"}),
    )
    assert dropped.rejection is None and dropped.dropped_fields


def _validated(
    lines: list[str], undeclared: list[str], shape: tuple[str, ...] = ()
) -> list[tuple[object, ...]]:
    from onceonly.landing_zone import split_lines
    from onceonly.validation import lines_table, validation_sql

    split, pre = split_lines("".join(line + "\n" for line in lines).encode())
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.register("lines", lines_table([(split, {i: Rejection(*r) for i, r in pre.items()})]))
    sql = validation_sql(ORDERS, "lines", undeclared, shape)
    rows = con.execute(sql + " order by 2").fetchall()
    con.close()
    return rows


def test_undeclared_fields_parsed_with_the_line_keep_the_same_extra() -> None:
    """The undeclared keys named to ``validation_sql`` are parsed in the same pass as the
    declared fields; ``_extra`` is then built from them instead of parsing the line again.
    Both ways give the same rows, whatever the keys and values, and for lines holding keys
    that were not named."""
    extras: list[dict[str, object]] = [
        {"client": {"app": "ios", "v": [1, 2.50, None, {"deep": True}]}},
        {"client": None, "note": 'caf\u00e9 \u2603 "quoted" back\\slash\nline'},
        {"Amount": 5, "a/b~c": 1, "": "empty key", "sp ace": 1e2, "big": 2**70},
        {"esc\u00e9": "\ud83d\ude00", "unnamed_only_here": [{}]},
        {"client": "web", "client_version": -0.0},
    ]
    lines = [json.dumps(order_placed(f"e-{i}") | extra) for i, extra in enumerate(extras)]
    lines.append(json.dumps(order_placed("e-plain")))
    lines.append('{"event_id": "x", "client": 1, "client": 2}')  # quarantined, either way
    named = ["client", "note", "Amount", "a/b~c", "", "sp ace", "big", "escé", "client_version"]
    reparsed = _validated(lines, [])
    assert _validated(lines, named) == reparsed
    assert _validated(lines, named[:2]) == reparsed
    extra_at = 5 + len(ORDERS.field_names)  # after file, line, code, reason, raw text
    for row, extra in zip(reparsed, extras, strict=False):
        assert json.loads(str(row[extra_at])) == json.loads(json.dumps(extra))
    assert reparsed[-2][extra_at] is None and reparsed[-1][2] == "duplicate_key"


def test_lines_of_the_shape_validate_as_every_other_line() -> None:
    """Lines whose keys are the given shape skip the checks their keys alone decide; with
    each shape below, every line (of that shape, of its keys in another order, with a key
    repeated, with nulls, with undeclared keys kept or not) gets the row it gets with no
    shape."""
    placed = order_placed("e-1")
    variants: list[dict[str, object]] = [
        placed | {"client": {"app": "ios", "v": [1, 2.50, None, {"deep": True}]}},
        placed | {"client": None},
        placed | {"client": 'caf\u00e9 "q" \\ \n', "a/b~c": -0.0},
        placed | {"customer_id": None, "client": 2**70},
        order_placed("e-2", event_type="order_shipped") | {"quantity": None, "client": 1e2},
        {"client": "first", **placed},
        placed,
        placed | {"amount": "-1.00", "client": 1},
    ]
    lines = [json.dumps(v) for v in variants]
    lines.append(json.dumps(placed | {"client": 1})[:-1] + ', "client": 2}')  # repeated key
    lines.append(json.dumps(placed | {"client": 1})[:-1] + ', "event_id": "x"}')
    lines.append(json.dumps(placed | {"client": 1})[:-1] + ', "a/b~c": 1, "a/b~c": 2}')
    named = ["client", "a/b~c"]
    general = _validated(lines, named)
    codes = [row[2] for row in general]
    assert (
        codes == [None] * 3 + ["missing_field"] + [None] * 3 + ["bad_value"] + ["duplicate_key"] * 3
    )
    for variant in variants:
        shape = tuple(variant)
        assert _validated(lines, named, shape) == general, shape
        assert _validated(lines, ["client"], shape) == general, shape
