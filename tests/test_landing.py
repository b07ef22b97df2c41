"""Landing into real DuckDB files: every copy kept, every bad line quarantined, per file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import HOUR_DIR, WriteFile, jsonl, order_placed

from onceonly.errors import LandingPathError
from onceonly.landing import land
from onceonly.landing_zone import discover

GOOD_MIXED_BAD = (
    jsonl(order_placed("e-1", 0))
    + b'{"event_id": "broken", \n'
    + jsonl(order_placed("e-2", 1, event_type="order_teleported"))
    + b"\n"
    + jsonl(order_placed("e-3", 2))
    + b'{"event_id": "\xff bad utf8"}\n'
    + jsonl(order_placed("", 3))
    + jsonl(order_placed("e-4", 4, occurred_at="2026-01-05 10:00:00"))
    + jsonl(order_placed("e-5", 5, quantity="2"))
    + jsonl(order_placed("e-6", 6, amount=True))
    + json.dumps(order_placed("e-7", 7, pad="x" * (1024 * 1024 + 1))).encode()
    + b"\n"
    + jsonl({k: v for k, v in order_placed("e-8", 8).items() if k != "event_id"})
    + jsonl(order_placed("e-9", 9))
)


def rows(target, sql: str, *params: object) -> list[tuple]:
    return target.con.execute(sql, list(params)).fetchall()


def test_bad_lines_are_quarantined_with_reason_and_good_lines_land(
    landing: Path, write_file: WriteFile, target, contract
) -> None:
    write_file("a.jsonl", GOOD_MIXED_BAD, manifest=True)
    summary = land(landing, target, contract)
    [f] = summary.files
    assert (f.status, f.lines, f.landed, f.quarantined) == ("landed", 13, 3, 10)
    landed = rows(target, "select event_id, _line_number from raw.orders_events order by 2")
    assert landed == [("e-1", 1), ("e-3", 5), ("e-9", 13)]
    quarantined = rows(
        target, "select line_number, reason_code from raw.quarantine order by line_number"
    )
    assert quarantined == [
        (2, "invalid_json"),
        (3, "bad_value"),
        (4, "blank_line"),
        (6, "bad_utf8"),
        (7, "empty_field"),
        (8, "bad_timestamp"),
        (9, "wrong_type"),
        (10, "wrong_type"),
        (11, "line_too_long"),
        (12, "missing_field"),
    ]
    # the raw text is kept, so nothing is lost
    [(text,)] = rows(target, "select raw_text from raw.quarantine where line_number = 2")
    assert text == '{"event_id": "broken", '
    [ledger] = rows(
        target,
        "select lines_read, rows_landed, rows_quarantined, status from raw.load_ledger",
    )
    assert ledger == (13, 3, 10, "landed")


def test_manifest_mismatch_rejects_the_file_whole(
    landing: Path, write_file: WriteFile, target, contract
) -> None:
    data = jsonl(*(order_placed(f"e-{i}", i) for i in range(6)))
    path = write_file("cut.jsonl", data, manifest=True)
    path.write_bytes(data[: len(data) // 2])  # truncated in transit
    write_file("count.jsonl", data, manifest={"record_count": 7, "sha256": _sha(data)})
    summary = land(landing, target, contract)
    by_name = {Path(f.source_file).name: f for f in summary.files}
    assert by_name["cut.jsonl"].status == "rejected"
    assert "sha256 does not match" in (by_name["cut.jsonl"].detail or "")
    assert by_name["count.jsonl"].status == "rejected"
    assert "record_count 7" in (by_name["count.jsonl"].detail or "")
    assert rows(target, "select count(*) from raw.orders_events") == [(0,)]
    assert rows(target, "select count(*) from raw.quarantine") == [(0,)]
    assert rows(target, "select status, count(*) from raw.load_ledger group by 1") == [
        ("rejected", 2)
    ]


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_manifest_control_totals_are_recorded_and_bad_ones_reject_the_file(
    landing: Path, write_file: WriteFile, target, contract
) -> None:
    """A manifest may declare the producer's sums of the stream's control_totals fields;
    they are recorded per landed file. One naming a field the stream does not declare as
    a control total, or not a decimal number, rejects its file whole, saying which."""
    assert contract.control_totals == ("amount",)
    data = jsonl(order_placed("e-1", 0), order_placed("e-2", 1))

    def manifest(**totals: object) -> dict:
        return {"record_count": 2, "sha256": _sha(data), "control_totals": totals}

    write_file("ok.jsonl", data, manifest=manifest(amount="39.98"))
    write_file("num.jsonl", data, manifest=manifest(amount=1e2), hour_dir=HOUR_DIR)
    write_file(
        "other.jsonl", data, manifest=manifest(quantity=2), hour_dir="orders/dt=2026-01-05/hour=11"
    )
    write_file(
        "nan.jsonl", data, manifest=manifest(amount="NaN"), hour_dir="orders/dt=2026-01-05/hour=12"
    )
    write_file(
        "fine.jsonl",
        data,
        manifest=manifest(amount="1.0000000001"),
        hour_dir="orders/dt=2026-01-05/hour=13",
    )
    summary = land(landing, target, contract, force=True)
    status = {Path(f.source_file).name: (f.status, f.detail or "") for f in summary.files}
    assert status["ok.jsonl"] == ("landed", "")
    assert status["num.jsonl"] == ("landed", "")
    assert status["other.jsonl"][0] == "rejected"
    assert "control total 'quantity'" in status["other.jsonl"][1]
    assert "declared: amount" in status["other.jsonl"][1]
    for name in ("nan.jsonl", "fine.jsonl"):
        assert status[name][0] == "rejected"
        assert "at most 9 decimal places" in status[name][1], status[name]
    recorded = rows(
        target,
        "select source_file, field, cast(declared as varchar) from raw.manifest_totals "
        "order by source_file",
    )
    assert recorded == [
        (f"{HOUR_DIR}/num.jsonl", "amount", "100.000000000"),
        (f"{HOUR_DIR}/ok.jsonl", "amount", "39.980000000"),
    ]


def test_gzip_files_and_broken_manifests(landing: Path, write_file: WriteFile, target, contract):
    data = jsonl(order_placed("e-1", 0), order_placed("e-2", 1))
    write_file("ok.jsonl.gz", data, manifest=True, compress=True)
    write_file("notgzip.jsonl.gz", data)
    bad_manifest = write_file("m.jsonl", jsonl(order_placed("e-3", 2)))
    bad_manifest.with_name("m.jsonl.manifest.json").write_text("{not json")
    summary = land(landing, target, contract)
    status = {Path(f.source_file).name: (f.status, f.landed) for f in summary.files}
    assert status == {
        "ok.jsonl.gz": ("landed", 2),
        "notgzip.jsonl.gz": ("rejected", 0),
        "m.jsonl": ("rejected", 0),
    }
    details = {Path(f.source_file).name: f.detail for f in summary.files}
    assert "gzip" in (details["notgzip.jsonl.gz"] or "")
    assert "m.jsonl.manifest.json" in (details["m.jsonl"] or "")


def test_landing_twice_adds_nothing_and_force_adds_copies(
    landing: Path, write_file: WriteFile, target, contract
) -> None:
    data = jsonl(order_placed("e-1", 0), order_placed("e-2", 1)) + b"oops\n"
    write_file("a.jsonl", data)
    write_file("a-again.jsonl", data, hour_dir="orders/dt=2026-01-05/hour=11")  # re-delivery
    first = land(landing, target, contract)
    assert [f.status for f in first.files] == ["landed", "skipped"]
    assert "orders/dt=2026-01-05/hour=10/a.jsonl" in (first.files[1].detail or "")

    second = land(landing, target, contract)
    assert [f.status for f in second.files] == ["skipped", "skipped"]
    assert rows(target, "select count(*) from raw.orders_events") == [(2,)]
    assert rows(target, "select count(*) from raw.quarantine") == [(1,)]

    forced = land(landing, target, contract, force=True)
    assert [f.status for f in forced.files] == ["landed", "landed"]
    assert rows(target, "select count(*), count(distinct event_id) from raw.orders_events") == [
        (6, 2)
    ]
    ledger = rows(
        target,
        "select source_file, status, forced from raw.load_ledger "
        "where source_file like '%/a.jsonl' order by attempted_at, status",
    )
    assert [(s, f) for _, s, f in ledger] == [
        ("landed", False),
        ("skipped", False),
        ("landed", True),
    ]
    batches = rows(target, "select count(distinct _batch_id) from raw.orders_events")
    assert batches == [(2,)]


def test_interval_selects_arrival_hours(landing: Path, write_file: WriteFile, target, contract):
    from datetime import datetime

    for hour in (9, 10, 11):
        write_file(
            f"h{hour}.jsonl",
            jsonl(order_placed(f"e-{hour}", hour)),
            hour_dir=f"orders/dt=2026-01-05/hour={hour:02d}",
        )
    summary = land(
        landing, target, contract, start=datetime(2026, 1, 5, 10), end=datetime(2026, 1, 5, 11)
    )
    assert [f.source_file for f in summary.files] == ["orders/dt=2026-01-05/hour=10/h10.jsonl"]
    assert rows(target, "select _arrived_at::varchar from raw.orders_events") == [
        ("2026-01-05 10:00:00",)
    ]


def test_accounting_holds_for_every_file_and_crlf_bom_are_line_endings(
    landing: Path, write_file: WriteFile, target, contract
) -> None:
    crlf = (
        b"\xef\xbb\xbf"
        + jsonl(order_placed("e-1", 0)).replace(b"\n", b"\r\n")
        + b'x\r\n \r\r\n{"a": 1}\r\r\n'
    )
    write_file("crlf.jsonl", crlf)
    write_file("empty.jsonl", b"")
    write_file("nonl.jsonl", json.dumps(order_placed("e-2", 1)).encode())  # no final newline
    summary = land(landing, target, contract)
    got = {Path(f.source_file).name: (f.lines, f.landed, f.quarantined) for f in summary.files}
    assert got == {"crlf.jsonl": (4, 1, 3), "empty.jsonl": (0, 0, 0), "nonl.jsonl": (1, 1, 0)}
    # the quarantine keeps each line's text without its line ending (LF and the CRs before)
    kept = "select line_number, reason_code, raw_text from raw.quarantine order by line_number"
    assert rows(target, kept) == [
        (2, "invalid_json", "x"),
        (3, "blank_line", " "),
        (4, "missing_field", '{"a": 1}'),
    ]
    check = rows(
        target,
        "select count(*) from raw.load_ledger where lines_read <> rows_landed + rows_quarantined",
    )
    assert check == [(0,)]


def test_missing_landing_folder_names_the_path(tmp_path: Path, target, contract) -> None:
    with pytest.raises(LandingPathError, match=str(tmp_path / "nowhere")):
        land(tmp_path / "nowhere", target, contract)


def test_a_dangling_link_is_recorded_and_the_other_files_land(
    landing: Path, write_file: WriteFile, target, contract
):
    path = write_file("gone.jsonl", jsonl(order_placed()))
    path.unlink()
    path.symlink_to(path.with_name("missing-target.jsonl"))  # unreadable even for root
    write_file("ok.jsonl", jsonl(order_placed("e-2", 1)))
    summary = land(landing, target, contract)
    assert [(f.source_file.rsplit("/", 1)[-1], f.status) for f in summary.files] == [
        ("ok.jsonl", "landed")
    ]
    [refused] = summary.refused
    assert refused.source_file.endswith("gone.jsonl") and "symbolic link" in refused.reason


def test_stray_files_are_reported_not_landed(landing: Path, write_file: WriteFile, contract):
    write_file("a.jsonl", jsonl(order_placed()))
    write_file("notes.txt", b"hello")
    write_file("b.jsonl", jsonl(order_placed("e-2", 1)), hour_dir="orders/2026/b")
    found = discover(landing, contract.stream)
    assert [f.source_file for f in found.files] == [f"{HOUR_DIR}/a.jsonl"]
    assert sorted(r.source_file for r in found.refused) == [
        "orders/2026/b/b.jsonl",
        f"{HOUR_DIR}/notes.txt",
    ]


def test_lines_land_the_same_by_their_shape_or_the_general_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the generator's messy profile and the whole bad-input corpus, landing as it runs
    (the sampled undeclared keys parsed in the validation's one pass, and the lines of the
    most frequent key list validated by their shape) and with neither (every line the
    general way, every `_extra` parsed again) gives the same rows, quarantine and ledger."""
    import shutil

    import onceonly.landing as landing_module
    from onceonly.generate.writer import generate
    from onceonly.streams import example
    from onceonly.targets.duckdb import DuckDBTarget
    from onceonly.validation import SampledKeys, sampled_keys

    zone = tmp_path / "zone"
    generate(zone, n_events=2000, days=1, seed=5, profile="messy")
    corpus = zone / "orders" / "dt=2027-03-01" / "hour=00"  # a folder of its own
    shutil.copytree(Path(__file__).parent / "data" / "bad_inputs", corpus)
    (corpus / "cases.json").unlink()
    tables = {
        "events": "select * exclude (_batch_id, _loaded_at) from raw.orders_events",
        "quarantine": "select * exclude (batch_id, quarantined_at) from raw.quarantine",
        "ledger": "select * exclude (batch_id, attempted_at) from raw.load_ledger",
        "extras": "select count(_extra) from raw.orders_events",
    }
    shapes: list[tuple[str, ...]] = []

    def recorded(contract, key_lists):  # type: ignore[no-untyped-def]
        sampled = sampled_keys(contract, key_lists)
        shapes.append(sampled.shape)
        return sampled

    def landed(name: str) -> dict[str, list[tuple]]:
        target = DuckDBTarget(tmp_path / f"{name}.duckdb")
        try:
            land(zone, target, example("orders"))
            return {k: sorted(rows(target, q), key=repr) for k, q in tables.items()}
        finally:
            target.close()

    monkeypatch.setattr(landing_module, "sampled_keys", recorded)
    as_it_runs = landed("as_it_runs")
    monkeypatch.setattr(landing_module, "sampled_keys", lambda *_: SampledKeys([], ()))
    general = landed("general")
    assert as_it_runs == general
    assert shapes and all(shapes), shapes  # every chunk had a shape to validate by
    assert as_it_runs["extras"][0][0] > 0 and as_it_runs["quarantine"]
    reasons = {row[4] for row in as_it_runs["quarantine"]}  # reason_code
    assert {"duplicate_key", "invalid_json", "wrong_type", "missing_field"} <= reasons
