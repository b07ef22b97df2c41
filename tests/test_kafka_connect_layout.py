"""`layout: kafka_connect`: a sink's offset ranges, one written twice in part and one
missing, land into exact facts, and the report names the overlap and the hole."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from conftest import ORDERS, jsonl, order_placed
from object_stores import NewBucket
from pipeline import build, land_zone

from onceonly.contract import Layout
from onceonly.offsets import Hole, Range, holes, overlaps, sink_file
from onceonly.report.build import build_report
from onceonly.settings import Settings
from onceonly.targets import open_target

SINK = replace(ORDERS, layout=Layout.KAFKA_CONNECT)
WRITTEN = datetime(2026, 1, 5, 10, 30, tzinfo=UTC).timestamp()
#: partition 0: offsets 0-3, then 2-5 (2-3 written again), then 9-10 (6-8 in a file that
#: is rejected whole, see _sink);
#: partition 1: 0-1, then 2-3 with the same bytes (skipped at landing, yet no hole), 4
FILES = {
    "orders/partition=0/orders+0+0000000000.json": range(0, 4),
    "orders/partition=0/orders+0+0000000002.json": range(2, 6),
    "orders/partition=0/orders+0+0000000009.json": range(9, 11),
    "orders/partition=1/orders+1+0000000000.json": range(20, 22),
    "orders/partition=1/orders+1+0000000002.json": range(20, 22),
    "orders/partition=1/orders+1+0000000004.json": range(24, 25),
}


def _sink(root: Path) -> Path:
    for rel, offsets in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(jsonl(*(order_placed(f"e-{i}", i) for i in offsets)))
        os.utime(path, (WRITTEN, WRITTEN))
    (root / "orders" / "partition=1" / "notes.txt").write_text("not a sink file\n")
    cut = root / "orders" / "partition=0" / "orders+0+0000000006.json"  # cut in transit
    cut.write_bytes(jsonl(*(order_placed(f"e-{i}", i) for i in range(6, 9))))
    cut.with_name(cut.name + ".manifest.json").write_text(
        json.dumps({"record_count": 3, "sha256": "0" * 64})
    )
    os.utime(cut, (WRITTEN, WRITTEN))
    return root


def test_a_sink_with_a_range_written_twice_and_one_missing(tmp_path: Path) -> None:
    zone = _sink(tmp_path / "zone")
    settings = Settings(duckdb_path=tmp_path / "w.duckdb", landing=zone)
    summary = land_zone(settings, zone, contract=SINK)
    statuses = ["landed", "landed", "rejected", "landed", "landed", "skipped", "landed"]
    assert [f.status for f in summary.files] == statuses
    assert [r.source_file for r in summary.refused] == ["orders/partition=1/notes.txt"]
    build(settings)
    target = open_target(settings)
    try:
        facts = target.query("select event_id from analytics.fct_orders_events order by 1")
        arrived = target.query(
            "select distinct arrived_at from raw.load_ledger where status = 'landed'"
        )
    finally:
        target.close()
    written = {f"e-{i}" for offsets in FILES.values() for i in offsets}
    assert sorted(e for (e,) in facts) == sorted(written)
    assert arrived == [(datetime(2026, 1, 5, 10),)]  # the hour each file was written
    build_report(settings, [SINK], tmp_path / "reports", checked={"checks": []})
    page = json.loads((tmp_path / "reports" / "orders" / "summary.json").read_text())
    assert page["offsets"] == {
        "overlaps": [
            {
                "partition": 0,
                "first": 2,
                "last": 3,
                "source_file": "orders/partition=0/orders+0+0000000002.json",
                "landed_before_by": "orders/partition=0/orders+0+0000000000.json",
            }
        ],
        "gaps": [
            {
                "partition": 0,
                "first_missing": 6,
                "last_missing": 8,
                "missing": 3,
                "in_rejected_files": ["orders/partition=0/orders+0+0000000006.json"],
            }
        ],
    }
    totals = page["totals"]
    assert totals["duplicates_offset_overlap"] == 2 == totals["duplicates_removed"]
    assert (totals["offset_overlaps"], totals["offset_gaps"], totals["offsets_missing"]) == (
        1,
        1,
        3,
    )
    html = (tmp_path / "reports" / "orders" / "index.html").read_text()
    assert 'data-testid="offset-overlaps"' in html and 'data-testid="offset-gaps"' in html
    assert "in a file rejected whole" in html


def test_sink_objects_in_a_bucket_arrive_when_written(
    new_bucket: NewBucket, tmp_path: Path
) -> None:
    server, name, bucket = new_bucket("s3", "topics")
    zone = _sink(tmp_path / "zone")
    before = datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    for rel in FILES:
        server.put(name, "topics/" + rel, (zone / rel).read_bytes())
    settings = Settings(duckdb_path=tmp_path / "w.duckdb", landing=bucket)
    summary = land_zone(settings, bucket, contract=SINK)
    assert [f.status for f in summary.files] == ["landed"] * 4 + ["skipped", "landed"]
    assert all(f.source_file.startswith("orders/partition=") for f in summary.files)
    target = open_target(settings)
    try:
        [(arrived,)] = target.query(
            "select distinct arrived_at from raw.load_ledger where status = 'landed'"
        )
    finally:
        target.close()
    assert before <= arrived <= datetime.now(UTC).replace(tzinfo=None)


def test_offsets_of_names_overlaps_and_holes() -> None:
    assert sink_file("orders/partition=3/orders+3+0000000120.json.gz") == (3, 120)
    assert sink_file("orders/partition=3/orders+4+0000000120.json") is None  # two partitions
    assert sink_file("orders/partition=3/x+3+7.json?versionId=abc") == (3, 7)
    landed = [
        Range(0, 10, 19, "b"),
        Range(0, 0, 9, "a"),
        Range(0, 5, 24, "c"),  # 5-19 landed before, by a and b
        Range(0, 30, 31, "d"),
        Range(1, 3, 3, "e"),
    ]
    found = overlaps(landed)
    assert [(o.first, o.last, o.source_file, o.landed_before_by) for o in found] == [
        (5, 19, "c", "a")
    ]
    assert holes(landed) == [Hole(0, 25, 29)]


def test_a_generated_sink_zone_builds_facts_equal_to_the_truth(tmp_path: Path) -> None:
    """`onceonly generate --layout kafka_connect`: the messy orders as sink files (one
    partition per arrival day, offsets in arrival order, written at their arrival hour)
    land into facts, marts, dq tables, file outcomes and quarantine equal to the truth."""
    from pipeline import differences

    from onceonly.generate.writer import generate

    zone = tmp_path / "zone"
    generate(zone, n_events=600, days=2, seed=23, profile="messy", layout=Layout.KAFKA_CONNECT)
    files = [p.relative_to(zone).as_posix() for p in zone.rglob("orders+*.json*")]
    named = [sink_file(f) for f in files if not f.endswith(".manifest.json")]
    assert named and None not in named and {n[0] for n in named if n is not None} >= {0, 1}
    settings = Settings(duckdb_path=tmp_path / "w.duckdb", landing=zone)
    land_zone(settings, zone, contract=SINK)
    build(settings)
    assert differences(settings, zone / "_truth" / "orders") == {}
