"""The bad-input corpus (tests/data/bad_inputs/): each case lands, one file at a time,
with its expected outcome, and nothing is lost or crashes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import ORDERS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onceonly.landing import land
from onceonly.targets.duckdb import DuckDBTarget
from onceonly.validation import validate_line

CORPUS = Path(__file__).parent / "data" / "bad_inputs"
CASES = json.loads((CORPUS / "cases.json").read_text())


def test_the_corpus_is_complete() -> None:
    assert len(CASES) >= 30
    for name in CASES:
        assert (CORPUS / name).exists(), name


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_has_its_expected_outcome(name: str, tmp_path: Path) -> None:
    expected = CASES[name]
    zone = tmp_path / "zone"
    hour = zone / "orders" / "dt=2026-01-05" / "hour=10"
    hour.mkdir(parents=True)
    shutil.copy(CORPUS / name, hour / name)
    manifest = CORPUS / f"{name}.manifest.json"
    if manifest.exists():
        shutil.copy(manifest, hour / manifest.name)
    target = DuckDBTarget(tmp_path / "w.duckdb")
    try:
        [outcome] = land(zone, target, ORDERS).files
        assert outcome.status == expected["status"], outcome.detail
        if expected["status"] == "rejected":
            assert expected["detail_contains"] in (outcome.detail or "")
            assert target.query("select count(*) from raw.orders_events") == [(0,)]
            return
        assert outcome.landed == expected["landed"]
        assert dict(outcome.reasons) == expected["quarantined"]
        assert outcome.lines == outcome.landed + outcome.quarantined
        rows = target.query("select reason_code, raw_text from raw.quarantine")
        assert sorted(code for code, _ in rows) == sorted(
            code for code, n in expected["quarantined"].items() for _ in range(n)
        )
        assert all(text is not None for _, text in rows)  # the raw text is kept
        # SQL and HTML in the data are stored verbatim, never executed
        assert target.query("select count(*) from raw.load_ledger") == [(1,)]
    finally:
        target.close()


def test_strings_with_sql_are_kept_exactly(tmp_path: Path) -> None:
    name = "sql_injection_in_every_string.jsonl"
    sent = json.loads((CORPUS / name).read_text())
    verdict = validate_line(ORDERS, (CORPUS / name).read_text().strip())
    assert verdict.rejection is None
    for field in ("event_id", "producer_id", "order_id", "customer_id", "product_id"):
        assert verdict.values[field] == sent[field]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
field_names = st.sampled_from([*ORDERS.field_names, "extra", ""])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.dictionaries(field_names, json_values, max_size=14).map(json.dumps),
        st.text(max_size=200),
        st.binary(max_size=200),
    )
)
def test_validator_never_crashes_and_always_decides(line: str | bytes) -> None:
    verdict = validate_line(ORDERS, line)
    if verdict.rejection is None:
        values = verdict.values
        assert values["event_id"] and values["event_id"].strip()
        assert values["event_type"] in (
            "order_placed",
            "payment_captured",
            "order_shipped",
            "order_cancelled",
            "order_refunded",
        )
        assert values["sequence_number"] >= 0 and values["producer_epoch"] >= 0
    else:
        assert verdict.rejection.code and verdict.rejection.reason


@settings(max_examples=100, deadline=None)
@given(
    # a valid id: not blank in any script, no NUL (which PostgreSQL cannot store)
    event_id=st.text(min_size=1, max_size=128).filter(
        lambda s: "\x00" not in s and not re.fullmatch(r"[\s\u200b-\u200d\u2060\ufeff]*", s)
    ),
    sequence=st.integers(min_value=0, max_value=2**63 - 1),
    cents=st.integers(min_value=0, max_value=10**16 - 1),
    as_string=st.booleans(),
)
def test_any_valid_event_is_accepted_with_its_values(
    event_id: str, sequence: int, cents: int, as_string: bool
) -> None:
    amount = f"{cents // 100}.{cents % 100:02d}"
    event = {
        "event_id": event_id,
        "event_type": "payment_captured",
        "occurred_at": "2026-01-05T10:00:00Z",
        "producer_id": "p",
        "sequence_number": sequence,
        "order_id": "o",
        "product_id": "s",
        "amount": amount if as_string else float(amount) if cents < 2**50 else amount,
        "currency": "EUR",
    }
    verdict = validate_line(ORDERS, json.dumps(event))
    assert verdict.rejection is None, verdict.rejection
    assert verdict.values["event_id"] == event_id
    assert verdict.values["sequence_number"] == sequence
    assert str(verdict.values["amount"]) == amount
