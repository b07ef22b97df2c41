"""Parquet deliveries land and quarantine row by row as the JSONL of the same events does."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from conftest import ORDERS, jsonl, order_placed

from onceonly.landing import land
from onceonly.settings import Settings
from onceonly.targets import open_target

HOUR = "orders/dt=2026-01-05/hour=10"
BASE = "split_part(split_part(source_file, '/', 4), '.', 1)"  # the file name, no suffix


def _parquet(rows: list[dict[str, object]], schema: pa.Schema | None = None) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), out)
    return out.getvalue()


def _landed(settings: Settings, zone: Path) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Raw copies (their values), quarantined lines and ledger rows, names without suffix."""
    target = open_target(settings)
    try:
        land(zone, target, ORDERS)
        copies = target.query(
            "select * exclude (_batch_id, _source_file, _loaded_at) from raw.orders_events "
            "order by _line_number"
        )
        quarantined = target.query(
            f"select {BASE}, line_number, reason_code, reason from raw.quarantine order by 1, 2"
        )
        ledger = target.query(
            f"select {BASE}, status, lines_read, rows_landed, rows_quarantined, detail "
            "from raw.load_ledger order by 1"
        )
    finally:
        target.close()
    return copies, quarantined, ledger


def _zone(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / HOUR / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def test_parquet_rows_land_and_quarantine_as_the_same_jsonl_lines(tmp_path: Path) -> None:
    """A file whose string columns hold one value the declaration refuses (a timestamp
    that is none, a decimal with too many places), and one whose column has the wrong type
    for every row: each refused row is quarantined alone with the JSONL's reason, the rest
    lands, the ledger is the same."""
    rows = [
        order_placed("e-1", 0),
        order_placed("e-2", 1, occurred_at="yesterday"),
        order_placed("e-3", 2, amount="1.999"),
        order_placed("e-4", 3),
    ]
    wrong_column = [order_placed("e-5", 4, producer_epoch="0"), order_placed("e-6", 5)]
    for row in wrong_column:
        row["producer_epoch"] = str(row["producer_epoch"])  # a string column, every row
    as_jsonl = _zone(tmp_path / "jsonl", {"a.jsonl": jsonl(*rows), "b.jsonl": jsonl(*wrong_column)})
    as_parquet = _zone(
        tmp_path / "parquet", {"a.parquet": _parquet(rows), "b.parquet": _parquet(wrong_column)}
    )
    expected = _landed(Settings(duckdb_path=tmp_path / "j.duckdb"), as_jsonl)
    got = _landed(Settings(duckdb_path=tmp_path / "p.duckdb"), as_parquet)
    assert got == expected
    copies, quarantined, ledger = got
    assert [c[0] for c in copies] == ["e-1", "e-4"]
    assert [(q[0], q[1], q[2]) for q in quarantined] == [
        ("a", 2, "bad_timestamp"),
        ("a", 3, "bad_value"),
        ("b", 1, "wrong_type"),
        ("b", 2, "wrong_type"),
    ]
    assert [row[:5] for row in ledger] == [("a", "landed", 4, 2, 2), ("b", "landed", 2, 0, 2)]


def test_typed_parquet_columns_land_as_their_json_form(tmp_path: Path) -> None:
    """Timestamps with a zone, decimals and integers in their own Parquet types land as
    the JSONL carrying their RFC 3339 and decimal-string forms; the manifest counts rows."""
    event = order_placed("e-1", 0)
    typed = {
        **event,
        "occurred_at": datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
        "amount": Decimal("19.90"),
    }
    schema = pa.Table.from_pylist([event]).schema
    schema = schema.set(
        schema.get_field_index("occurred_at"), pa.field("occurred_at", pa.timestamp("us", "UTC"))
    )
    schema = schema.set(schema.get_field_index("amount"), pa.field("amount", pa.decimal128(9, 2)))
    data = _parquet([typed], schema)
    manifest = json.dumps({"record_count": 1, "sha256": hashlib.sha256(data).hexdigest()})
    as_parquet = _zone(
        tmp_path / "parquet",
        {"a.parquet": data, "a.parquet.manifest.json": manifest.encode(), "c.parquet": b"PAR1"},
    )
    written = {**event, "occurred_at": "2026-01-05T09:30:00+00:00", "amount": "19.90"}
    as_jsonl = _zone(tmp_path / "jsonl", {"a.jsonl": jsonl(written)})
    copies, _, ledger = _landed(Settings(duckdb_path=tmp_path / "p.duckdb"), as_parquet)
    assert copies == _landed(Settings(duckdb_path=tmp_path / "j.duckdb"), as_jsonl)[0]
    assert ledger[0][:4] == ("a", "landed", 1, 1)
    assert ledger[1][:2] == ("c", "rejected")
    assert str(ledger[1][5]).startswith("not a readable Parquet file")


def test_a_generated_parquet_zone_builds_facts_equal_to_the_truth(tmp_path: Path) -> None:
    """`onceonly generate --format parquet`: every file Parquet can hold as rows is a
    Parquet file (the rest, broken lines among them, JSONL); the facts, marts, dq tables,
    file outcomes and quarantine equal the truth."""
    from pipeline import build, differences, land_zone

    from onceonly.generate.writer import generate

    zone = tmp_path / "zone"
    info = generate(zone, n_events=600, days=1, seed=17, profile="messy", parquet=True)
    parquet = list(zone.rglob("*.parquet"))
    assert len(parquet) == info["parquet_files"] > 10 and list(zone.rglob("*.jsonl*"))
    assert all(pq.ParquetFile(p).metadata.num_rows > 0 for p in parquet)
    settings = Settings(duckdb_path=tmp_path / "w.duckdb", landing=zone)
    land_zone(settings, zone)
    build(settings)
    assert differences(settings, zone / "_truth" / "orders") == {}
