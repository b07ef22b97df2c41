"""A hostile landing zone: only regular files under the landing root are read, within
byte limits; everything else is recorded in the ledger with a reason, once."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from conftest import ORDERS, jsonl, order_placed

from onceonly.landing import land
from onceonly.settings import Limits, Settings
from onceonly.targets import open_target

HOUR = "orders/dt=2026-01-05/hour=10"


@pytest.fixture(params=["duckdb", "postgres"])
def target_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "postgres":
        request.getfixturevalue("postgres_env")
        return Settings.from_env(target="postgres")
    return Settings(target="duckdb", duckdb_path=tmp_path / "w.duckdb")


@pytest.fixture
def hour(tmp_path: Path) -> Path:
    """An hour folder of the orders stream in a fresh landing zone (``tmp_path/zone``)."""
    folder = tmp_path / "zone" / HOUR
    folder.mkdir(parents=True)
    return folder


def _land(settings: Settings, zone: Path, limits: Limits | None = None):  # type: ignore[no-untyped-def]
    target = open_target(settings)
    try:
        return land(zone, target, ORDERS, limits=limits or Limits())
    finally:
        target.close()


def _query(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    target = open_target(settings)
    try:
        return target.query(sql)
    finally:
        target.close()


def test_links_pipes_and_misnamed_entries_are_recorded_never_read(
    target_settings: Settings, tmp_path: Path, hour: Path
) -> None:
    zone = tmp_path / "zone"
    (hour / "good.jsonl").write_bytes(jsonl(order_placed("e-1", 0), order_placed("e-2", 1)))
    outside = tmp_path / "secret.txt"
    outside.write_text("root:x:0:0:secret\n")
    (hour / "passwd.jsonl").symlink_to(outside)
    (hour / "zero.jsonl").symlink_to("/dev/zero")
    os.mkfifo(hour / "pipe.jsonl")
    (hour / ".partial.jsonl").write_bytes(jsonl(order_placed("e-3", 2)))
    (hour / "upper.JSONL").write_bytes(jsonl(order_placed("e-4", 3)))
    (hour / "lonely.jsonl.manifest.json").write_text('{"record_count": 1, "sha256": "00"}')
    bad_hour = zone / "orders/dt=2026-01-05/hour=25"
    bad_hour.mkdir(parents=True)
    (bad_hour / "late.jsonl").write_bytes(jsonl(order_placed("e-5", 4)))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.jsonl").write_bytes(jsonl(order_placed("e-6", 5)))
    (zone / "orders/dt=2026-01-05/hour=11").symlink_to(elsewhere, target_is_directory=True)

    summary = _land(target_settings, zone)
    assert [(f.source_file, f.status, f.landed) for f in summary.files] == [
        (f"{HOUR}/good.jsonl", "landed", 2)
    ]
    reasons = {r.source_file.rsplit("/", 1)[-1]: r.reason for r in summary.refused}
    assert set(reasons) == {
        "passwd.jsonl",
        "zero.jsonl",
        "pipe.jsonl",
        ".partial.jsonl",
        "upper.JSONL",
        "lonely.jsonl.manifest.json",
        "late.jsonl",
        "hour=11",
    }
    assert "symbolic link" in reasons["passwd.jsonl"] and "symbolic link" in reasons["hour=11"]
    assert "not a regular file" in reasons["pipe.jsonl"]
    assert "hidden" in reasons[".partial.jsonl"]
    assert "layout" in reasons["upper.JSONL"] and "layout" in reasons["late.jsonl"]
    assert "without its data file" in reasons["lonely.jsonl.manifest.json"]
    ledger = _query(
        target_settings,
        "select source_file, detail from raw.load_ledger where status = 'rejected'",
    )
    assert {str(d) for _, d in ledger} == set(reasons.values())
    # nothing outside the landing root was read into any table
    stored = _query(target_settings, "select count(*) from raw.quarantine")
    assert stored == [(0,)]
    assert _query(target_settings, "select count(*) from raw.orders_events") == [(2,)]
    # a second run records nothing again and lands nothing twice
    again = _land(target_settings, zone)
    assert again.refused == [] and [f.status for f in again.files] == ["skipped"]
    assert _query(
        target_settings, "select count(*) from raw.load_ledger where status = 'rejected'"
    ) == [(len(reasons),)]


def test_byte_limits_reject_files_and_quarantine_long_lines(
    target_settings: Settings, tmp_path: Path, hour: Path
) -> None:
    zone = tmp_path / "zone"
    good = [order_placed(f"e-{i}", i) for i in range(3)]
    long_line = json.dumps(order_placed("e-long", 9, customer_id="c" * 5000)).encode()
    (hour / "a-long-line.jsonl").write_bytes(jsonl(*good) + long_line + b"\n")
    (hour / "b-big.jsonl").write_bytes(jsonl(*good) * 200)
    (hour / "c-bomb.jsonl.gz").write_bytes(gzip.compress(b"\n" * 1_000_000))
    (hour / "d-empty.jsonl.gz").write_bytes(b"")
    (hour / "e-members.jsonl.gz").write_bytes(
        gzip.compress(jsonl(order_placed("e-7", 7))) + gzip.compress(jsonl(order_placed("e-8", 8)))
    )
    limits = Limits(file_bytes=20_000, decompressed_bytes=50_000, line_bytes=2_000)
    by_name = {
        f.source_file.rsplit("/", 1)[-1]: f for f in _land(target_settings, zone, limits).files
    }
    long = by_name["a-long-line.jsonl"]
    assert (long.status, long.landed, dict(long.reasons)) == ("landed", 3, {"line_too_long": 1})
    assert by_name["b-big.jsonl"].status == "rejected"
    assert "ONCEONLY_MAX_FILE_BYTES" in (by_name["b-big.jsonl"].detail or "")
    assert by_name["c-bomb.jsonl.gz"].status == "rejected"
    assert "ONCEONLY_MAX_DECOMPRESSED_BYTES" in (by_name["c-bomb.jsonl.gz"].detail or "")
    assert by_name["d-empty.jsonl.gz"].status == "rejected"
    assert "not a readable gzip file" in (by_name["d-empty.jsonl.gz"].detail or "")
    assert (by_name["e-members.jsonl.gz"].status, by_name["e-members.jsonl.gz"].landed) == (
        "landed",
        2,
    )
    [(code, text)] = _query(target_settings, "select reason_code, raw_text from raw.quarantine")
    assert code == "line_too_long" and str(text) == long_line.decode()[:1024]


def test_empty_files_each_land_as_empty_not_as_copies_of_each_other(
    tmp_path: Path, hour: Path
) -> None:
    zone = tmp_path / "zone"
    for name in ("a.jsonl", "b.jsonl", "c.jsonl"):
        (hour / name).write_bytes(b"")
    summary = _land(Settings(target="duckdb", duckdb_path=tmp_path / "w.duckdb"), zone)
    assert [(f.status, f.lines, f.detail) for f in summary.files] == [("landed", 0, None)] * 3


def _bomb(path: Path, line: bytes, total: int) -> None:
    """A gzip file of ``total`` bytes of ``line`` repeated, written in pieces."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    piece = line * max(1, (1 << 20) // len(line))
    with path.open("wb") as fh:
        for _ in range(total // len(piece)):
            fh.write(packer.compress(piece))
        fh.write(packer.flush())


def test_a_hostile_zone_lands_its_good_lines_in_bounded_memory(tmp_path: Path, hour: Path) -> None:
    """Default limits, in a process of its own: a gzip of 1 GiB of lines, one of a single
    256 MiB line, links out of the zone and good lines beside them. The good lines land,
    every other entry is rejected with a reason, and the peak RSS stays under 1 GiB."""
    zone = tmp_path / "zone"
    good = jsonl(*[order_placed(f"e-{i}", i) for i in range(50)])
    (hour / "a-good.jsonl").write_bytes(good)
    _bomb(hour / "b-lines.jsonl.gz", jsonl(order_placed("e-bomb", 0)), 1 << 30)
    with gzip.open(hour / "c-one-line.jsonl.gz", "wb", compresslevel=9) as fh:
        for _ in range(256):
            fh.write(b"x" * (1 << 20))
        fh.write(b"\n")
    (hour / "d-passwd.jsonl").symlink_to("/etc/passwd")
    (hour / "e-more-good.jsonl").write_bytes(good + jsonl(order_placed("e-50", 50)))
    db = tmp_path / "w.duckdb"
    script = (
        "import resource, sys\n"
        "from onceonly.cli import main\n"
        "sys.argv = ['onceonly', 'land', '--stream', 'orders']\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    print('peak', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)\n"
    )
    env = {
        **os.environ,
        "ONCEONLY_LANDING": str(zone),
        "ONCEONLY_DUCKDB_PATH": str(db),
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 3, done.stderr[-2000:]  # completed, files rejected
    peak = int(done.stdout.strip().splitlines()[-1].split()[-1])
    assert peak < 1 << 30, f"peak RSS {peak / (1 << 20):.0f} MiB"
    settings = Settings(target="duckdb", duckdb_path=db)
    rows = dict(
        _query(settings, "select source_file, status from raw.load_ledger")  # type: ignore[arg-type]
    )
    assert rows == {
        f"{HOUR}/a-good.jsonl": "landed",
        f"{HOUR}/b-lines.jsonl.gz": "rejected",
        f"{HOUR}/c-one-line.jsonl.gz": "rejected",
        f"{HOUR}/d-passwd.jsonl": "rejected",
        f"{HOUR}/e-more-good.jsonl": "landed",
    }
    assert _query(settings, "select count(distinct event_id), count(*) from raw.orders_events") == [
        (51, 101)
    ]
    assert _query(settings, "select count(*) from raw.quarantine") == [(0,)]


def test_names_are_shown_as_text_never_as_markup_or_terminal_codes(
    tmp_path: Path, hour: Path
) -> None:
    zone = tmp_path / "zone"
    (hour / "good.jsonl").write_bytes(jsonl(order_placed("e-1", 0)))
    (hour / "[bold]x.txt").write_bytes(b"not data")
    (hour / "\x1b[31mred.txt").write_bytes(b"not data")
    (zone / "junk[").mkdir()
    (zone / "junk[" / "a.jsonl").write_bytes(b"{}\n")
    done = subprocess.run(
        [sys.executable, "-m", "onceonly", "land", "--landing", str(zone)],
        env={**os.environ, "ONCEONLY_DUCKDB_PATH": str(tmp_path / "w.duckdb"), "COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 3, done.stderr  # completed; entries and a folder rejected
    assert "\x1b" not in done.stdout + done.stderr
    assert "[bold]x.txt" in done.stderr and "\\x1b[31mred.txt" in done.stderr
    assert "junk[/" in done.stderr
