"""`layout: firehose`: Firehose's YYYY/MM/dd/HH/ prefixes and its concatenated records,
for a stream declared only here, from a folder and from a bucket."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from object_stores import NewBucket

from onceonly.contract import Layout, StreamContract
from onceonly.landing import land
from onceonly.object_store import ObjectZone
from onceonly.settings import Settings
from onceonly.streams import DeclarationError, load_stream
from onceonly.targets import open_target

DECLARATION = """\
name: clicks
layout: firehose
fields:
  click_id: {type: string, required: true}
  clicked_at: {type: timestamp, required: true}
  page: {type: string, required: true}
roles:
  key: click_id
  event_time: clicked_at
"""
FIREHOSE = "clicks/2026/01/05/10/clicks-1-2026-01-05-10-00-07-3f1c.gz"


def _click(n: int) -> bytes:
    return json.dumps(
        {"click_id": f"c-{n}", "clicked_at": f"2026-01-05T10:0{n}:00Z", "page": f"/p/{n}"}
    ).encode()


BROKEN = b'{"click_id": "c-x", "clicked_at": 5'
#: one object per arrival hour: records back to back, a broken one, a newline, gzip
FIREHOSE_FILES = {
    "clicks/2026/01/05/10/clicks-1-2026-01-05-10-00-07-3f1c": _click(1)
    + _click(2)
    + BROKEN
    + b"\n\n"  # a blank line stays a line: the numbers after it hold
    + _click(3),
    "clicks/2026/01/05/11/clicks-1-2026-01-05-11-00-02-9a0e.gz": gzip.compress(
        _click(4) + _click(5), mtime=0
    ),
    "clicks/2026/01/05/stray.json": _click(6),  # no hour folder: refused, recorded
}
#: the same records as the hourly layout's JSONL, one per line
HOURLY_FILES = {
    "clicks/dt=2026-01-05/hour=10/a.jsonl": b"\n".join(
        [_click(1), _click(2), BROKEN, b"", _click(3)]
    ),
    "clicks/dt=2026-01-05/hour=11/b.jsonl.gz": gzip.compress(
        _click(4) + b"\n" + _click(5) + b"\n", mtime=0
    ),
}


def _write(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _landed(
    db: Path, zone: Path | ObjectZone, contract: StreamContract, **interval: datetime
) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """The copies' values, the quarantine and the ledger, by arrival hour and line."""
    target = open_target(Settings(duckdb_path=db))
    try:
        land(zone, target, contract, **interval)
        copies = target.query(
            "select * exclude (_batch_id, _source_file, _loaded_at) from raw.clicks_events "
            "order by click_id"
        )
        quarantined = target.query(
            "select l.arrived_at, q.line_number, q.reason_code from raw.quarantine q "
            "join raw.load_ledger l using (source_file) order by 1, 2"
        )
        ledger = target.query(
            "select arrived_at, status, lines_read, rows_landed, rows_quarantined "
            "from raw.load_ledger order by arrived_at nulls last, status"
        )
    finally:
        target.close()
    return copies, quarantined, ledger


@pytest.fixture
def clicks(tmp_path: Path) -> StreamContract:
    path = tmp_path / "streams" / "clicks.yml"
    path.parent.mkdir()
    path.write_text(DECLARATION)
    return load_stream(path)


def test_firehose_records_land_one_by_one_as_the_same_lines_do(
    clicks: StreamContract, tmp_path: Path
) -> None:
    assert clicks.layout == Layout.FIREHOSE
    got = _landed(tmp_path / "f.duckdb", _write(tmp_path / "fh", FIREHOSE_FILES), clicks)
    expected = _landed(
        tmp_path / "h.duckdb",
        _write(tmp_path / "hourly", HOURLY_FILES),
        replace(clicks, layout=Layout.HOURLY),
    )
    copies, quarantined, ledger = got
    assert [c[0] for c in copies] == ["c-1", "c-2", "c-3", "c-4", "c-5"]
    assert [q[1:] for q in quarantined] == [(3, "invalid_json"), (4, "blank_line")]
    assert (copies, quarantined) == expected[:2]
    assert (
        ledger[:2]
        == expected[2]
        == [
            (datetime(2026, 1, 5, 10), "landed", 5, 3, 2),
            (datetime(2026, 1, 5, 11), "landed", 2, 2, 0),
        ]
    )
    assert ledger[2][1] == "rejected"  # the stray object, with the layout it missed


def test_a_firehose_bucket_is_listed_by_its_hour_prefixes(
    clicks: StreamContract, new_bucket: NewBucket, tmp_path: Path
) -> None:
    server, name, zone = new_bucket("s3", "firehose")
    for rel, data in FIREHOSE_FILES.items():
        server.put(name, "firehose/" + rel, data)
    db = tmp_path / "w.duckdb"
    hour = _landed(db, zone, clicks, start=datetime(2026, 1, 5, 11), end=datetime(2026, 1, 5, 12))
    assert [c[0] for c in hour[0]] == ["c-4", "c-5"] and len(hour[2]) == 1
    whole = _landed(db, zone, clicks)
    assert [c[0] for c in whole[0]] == ["c-1", "c-2", "c-3", "c-4", "c-5"]
    assert [row[1] for row in whole[2]] == ["landed", "landed", "skipped", "rejected"]


def test_an_unknown_layout_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "clicks.yml"
    path.write_text(DECLARATION.replace("layout: firehose", "layout: kinesis"))
    with pytest.raises(DeclarationError) as caught:
        load_stream(path)
    assert f"{path}:2:" in str(caught.value) and "firehose" in str(caught.value)


def test_a_generated_firehose_zone_builds_facts_equal_to_the_truth(tmp_path: Path) -> None:
    """The generator's messy orders in Firehose's layout (records back to back, broken
    and blank lines on their own): landed as `layout: firehose`, the facts, marts, dq
    tables, file outcomes and quarantine equal the truth, which names Firehose's paths."""
    from conftest import ORDERS
    from pipeline import build, differences, land_zone

    from onceonly.generate.writer import generate

    zone = tmp_path / "zone"
    generate(zone, n_events=600, days=1, seed=17, profile="messy", layout=Layout.FIREHOSE)
    names = [p.relative_to(zone).as_posix() for p in (zone / "orders").rglob("orders-1-*")]
    assert names and all(re.match(r"orders/\d{4}/\d{2}/\d{2}/\d{2}/orders-1-", n) for n in names)
    back_to_back = [p for p in (zone / "orders").rglob("*.jsonl") if b"}{" in p.read_bytes()]
    assert back_to_back  # records written as Firehose writes them, not one per line
    settings = Settings(duckdb_path=tmp_path / "w.duckdb", landing=zone)
    land_zone(settings, zone, contract=replace(ORDERS, layout=Layout.FIREHOSE))
    build(settings)
    assert differences(settings, zone / "_truth" / "orders") == {}


def test_onceonly_generate_writes_a_layout_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "onceonly", "generate", "--events", "50", "--stream", "orders"]
    done = subprocess.run(
        [*cli, "--out", "z", "--layout", "firehose"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    hours = {
        p.parent.relative_to(tmp_path / "z").as_posix() for p in (tmp_path / "z").rglob("*.jsonl*")
    }
    assert hours and all(re.fullmatch(r"orders/\d{4}/\d{2}/\d{2}/\d{2}", h) for h in hours)
    refused = subprocess.run(
        [*cli, "--out", "y", "--layout", "kafka"], cwd=tmp_path, capture_output=True, text=True
    )
    assert refused.returncode == 2 and "--layout" in refused.stderr
    assert not (tmp_path / "y").exists()
    csv = subprocess.run(
        [*cli, "--out", "x", "--format", "csv"], cwd=tmp_path, capture_output=True, text=True
    )
    assert csv.returncode == 2 and "--format" in csv.stderr and not (tmp_path / "x").exists()
