"""The report's verdict reads as English at every count: one of a thing is singular."""

from __future__ import annotations

from pathlib import Path

import pytest

from onceonly.report.figures import Figures
from onceonly.report.html import verdict
from onceonly.streams import load_stream

PAYMENTS = """\
name: payments
guarantee: {guarantee}
fields:
  id: {{type: string, required: true}}
  ts: {{type: timestamp, required: true}}
roles:
  key: id
  event_time: ts
"""


def _payments(tmp_path: Path, guarantee: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "payments.yml"
    path.write_text(PAYMENTS.format(guarantee=guarantee))
    return load_stream(path)


def _figures(n: int, **overrides: int) -> Figures:
    totals = {
        "delivered_copies": 3 * n,
        "quarantined": n,
        "fact_rows": n,
        "fact_event_ids": n,
        "duplicates_removed": n,
        "events_lost_in_gaps": n,
        "sequence_gaps": n,
        "conflicting_events": 0,
        "unpublished": 0,
        **overrides,
    }
    return Figures(days=[], totals=totals, gaps=[], conflicts=[])


@pytest.mark.parametrize("guarantee", ["effectively_once", "at_least_once"])
def test_one_of_each_is_singular(tmp_path: Path, guarantee: str) -> None:
    contract = _payments(tmp_path, guarantee)
    # at least once: one valid copy in the facts for the verdict to hold
    figures = _figures(1, delivered_copies=2, fact_rows=1)
    ok, reasons = verdict(figures, [], contract)
    text = " | ".join(reasons)
    assert ok, text
    assert "1 bad line quarantined" in text and "1 duplicate copy " in text, text
    assert "1 event never arrived (1 sequence gap)" in text, text
    for plural in ("1 bad lines", "1 events", "1 sequence gaps", "1 duplicate copies"):
        assert plural not in text, text


def test_several_are_plural_with_thousands_separated(tmp_path: Path) -> None:
    contract = _payments(tmp_path, "effectively_once")
    ok, reasons = verdict(_figures(1200), [], contract)
    text = " | ".join(reasons)
    assert ok, text
    assert "3,600 delivered copies became 1,200 events" in text, text
    assert "1,200 bad lines quarantined" in text and "1,200 sequence gaps" in text, text


def test_a_failed_check_and_a_repeated_key_name_their_counts(tmp_path: Path) -> None:
    contract = _payments(tmp_path, "effectively_once")
    figures = _figures(2, fact_rows=3, conflicting_events=1)
    check = {
        "name": "amount_positive",
        "severity": "error",
        "success": False,
        "error": None,
        "unexpected_count": 1,
    }
    ok, reasons = verdict(figures, [check], contract)
    assert not ok
    assert "id repeated in the facts: 1 extra row (run the full audit)" in reasons, reasons
    assert "check amount_positive failed (1 offending row)" in reasons, reasons
    assert "1 id value arrived with differing content; one copy was kept" in reasons, reasons


@pytest.mark.parametrize(
    ("conflicting", "held", "says"),
    [(2, 2, "all of them held"), (3, 1, "2 published with one copy, 1 held")],
)
def test_conflicting_copies_say_how_many_are_held(
    tmp_path: Path, conflicting: int, held: int, says: str
) -> None:
    contract = _payments(tmp_path, "effectively_once")
    figures = _figures(5, conflicting_events=conflicting)
    figures.waiting = {"held": [f"p-{i}" for i in range(held)]}
    _, reasons = verdict(figures, [], contract)
    text = " | ".join(reasons)
    assert f"{conflicting} id values arrived with differing content; {says}" in text, text
