"""The generator: deterministic, faults as recorded, truth that holds by hand and in DuckDB."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import ORDERS
from pipeline import read_csv

from onceonly.generate import truth
from onceonly.generate.deliveries import GenFile, Line
from onceonly.generate.events import Event
from onceonly.generate.orders import MALFORMED_KINDS
from onceonly.generate.writer import generate
from onceonly.landing import land
from onceonly.targets.duckdb import DuckDBTarget


def tree_digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("messy")
    generate(out, n_events=3000, days=2, seed=11, profile="messy")
    return out


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path, messy: Path) -> None:
    again = tmp_path / "again"
    generate(again, n_events=3000, days=2, seed=11, profile="messy")
    assert tree_digest(again) == tree_digest(messy)
    other = tmp_path / "other"
    generate(other, n_events=3000, days=2, seed=12, profile="messy")
    assert tree_digest(other) != tree_digest(messy)


def test_messy_profile_injects_every_fault_kind(messy: Path) -> None:
    info = json.loads((messy / "_truth" / "orders" / "faults.json").read_text())
    injected = info["injected"]
    for kind in MALFORMED_KINDS:
        assert injected[f"malformed:{kind}"] >= 1, kind
    for fault in (
        "dropped",
        "delayed_hours",
        "late_days",
        "retry_same_file",
        "retry_next_file",
        "late_duplicate",
        "conflict",
        "redelivered_file",
        "replayed_hour",
        "truncated_file",
    ):
        assert injected[fault] >= 1, fault
    assert any(p.name.endswith(".gz") for p in messy.rglob("*.jsonl.gz"))
    epochs = {
        r["producer_epoch"] for r in read_csv(messy / "_truth" / "orders" / "fct_orders_events.csv")
    }
    assert epochs == {"0", "1"}


def test_clean_profile_has_one_copy_per_event(tmp_path: Path) -> None:
    generate(tmp_path, n_events=500, days=1, seed=3, profile="clean")
    t = tmp_path / "_truth" / "orders"
    files = read_csv(t / "files.csv")
    assert sum(int(f["landed"]) for f in files) == 500
    assert len(read_csv(t / "fct_orders_events.csv")) == 500
    assert read_csv(t / "quarantine.csv") == []
    assert read_csv(t / "sequence_gaps.csv") == []


def _event(eid: str, seq: int, kind: str = "order_placed", **kw: object) -> Event:
    base: dict[str, object] = dict(
        event_id=eid,
        event_type=kind,
        occurred_at=datetime(2026, 1, 5, 10, seq),
        producer_id="p",
        producer_epoch=0,
        sequence_number=seq,
        order_id="o1",
    )
    if kind == "order_placed":
        base.update(
            customer_id="c", product_id="sku", quantity=1, amount=Decimal("10.00"), currency="EUR"
        )
    base.update(kw)
    return Event(**base)  # type: ignore[arg-type]


def test_truth_on_a_hand_checked_case() -> None:
    placed = _event("a", 0)
    paid = _event(
        "b", 1, "payment_captured", product_id="sku", amount=Decimal("10.00"), currency="EUR"
    )
    paid_conflict = _event(
        "b", 1, "payment_captured", product_id="sku", amount=Decimal("99.00"), currency="EUR"
    )
    shipped = _event("d", 3, "order_shipped")  # sequence 2 was lost
    h10, h11 = datetime(2026, 1, 5, 10), datetime(2026, 1, 5, 11)
    late_hour = datetime(2026, 1, 14, 0)
    f1 = GenFile(
        h10,
        "x.jsonl",
        [
            Line(b"a", placed),
            Line(b"b", paid),
            Line(b"a", placed),
            Line(b"!", None, "invalid_json"),
        ],
    )
    f2 = GenFile(h11, "y.jsonl", [Line(b"b2", paid_conflict), Line(b"d", shipped)])
    f3 = GenFile(h11, "z.jsonl", f1.lines, payload=f1.data())  # byte-identical re-delivery
    f4 = GenFile(late_hour, "late.jsonl", [Line(b"a", placed)])
    f5 = GenFile(
        late_hour, "cut.jsonl", [Line(b"e", _event("e", 4, "order_shipped"))], truncated=True
    )
    t = truth.compute([f5, f4, f3, f2, f1], "orders", window_days=7)

    facts = {r["event_id"]: r for r in t.fct_orders_events}
    assert sorted(facts) == ["a", "b", "d"]
    assert facts["b"]["amount"] == Decimal("10.00")  # the first landed copy wins
    assert t.event_conflicts == [{"event_id": "b", "copies": 2, "versions": 2}]
    assert t.sequence_gaps == [
        {
            "producer_id": "p",
            "producer_epoch": 0,
            "first_missing": 2,
            "last_missing": 2,
            "missing_count": 1,
        }
    ]
    assert [(r["event_id"], r["source_file"]) for r in t.late_duplicates] == [
        ("a", "orders/dt=2026-01-14/hour=00/late.jsonl")
    ]
    [order] = t.fct_orders
    assert (order["status"], order["order_amount"], order["captured_amount"]) == (
        "order_shipped",
        Decimal("10.00"),
        Decimal("10.00"),
    )
    [revenue] = t.fct_daily_revenue
    assert (revenue["orders_placed"], revenue["gross_revenue"], revenue["net_revenue"]) == (
        1,
        Decimal("10.00"),
        Decimal("10.00"),
    )
    files = {str(r["source_file"]).rsplit("/", 1)[1]: r for r in t.files}
    assert (files["x.jsonl"]["landed"], files["x.jsonl"]["quarantined"]) == (3, 1)
    assert files["x.jsonl"]["duplicates_in_file"] == 1
    assert files["z.jsonl"]["status"] == "skipped"
    assert files["cut.jsonl"]["status"] == "rejected"
    assert files["y.jsonl"]["duplicates_of_earlier"] == 1
    assert t.quarantine == [
        {
            "source_file": "orders/dt=2026-01-05/hour=10/x.jsonl",
            "line_number": 4,
            "reason_code": "invalid_json",
        }
    ]


def test_landing_the_messy_zone_matches_the_truth(tmp_path: Path, messy: Path) -> None:
    target = DuckDBTarget(tmp_path / "w.duckdb")
    try:
        land(messy, target, ORDERS)
        con = target.con
        files = {
            r[0]: (r[1], r[2], r[3], r[4])
            for r in con.execute(
                "select source_file, status, lines_read, rows_landed, rows_quarantined "
                "from raw.load_ledger"
            ).fetchall()
        }
        expected = {
            r["source_file"]: (
                r["status"],
                int(r["lines"]),
                int(r["landed"]),
                int(r["quarantined"]),
            )
            for r in read_csv(messy / "_truth" / "orders" / "files.csv")
        }
        assert files == expected
        quarantine = con.execute(
            "select source_file, line_number, reason_code from raw.quarantine order by 1, 2"
        ).fetchall()
        assert quarantine == sorted(
            (r["source_file"], int(r["line_number"]), r["reason_code"])
            for r in read_csv(messy / "_truth" / "orders" / "quarantine.csv")
        )
        first_copies = con.execute(
            "select event_id, amount::varchar, occurred_at, _source_file, _line_number from ("
            " select *, row_number() over (partition by event_id"
            "   order by _loaded_at, _source_file, _line_number) as n"
            " from raw.orders_events) where n = 1 order by event_id"
        ).fetchall()
        truth_rows = read_csv(messy / "_truth" / "orders" / "fct_orders_events.csv")
        assert [(e, a, str(t), f, n) for e, a, t, f, n in first_copies] == [
            (
                r["event_id"],
                r["amount"] or None,
                r["occurred_at"],
                r["_source_file"],
                int(r["_line_number"]),
            )
            for r in truth_rows
        ]
    finally:
        target.close()
