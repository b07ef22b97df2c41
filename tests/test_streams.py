"""Stream declarations: checked with file:line errors before anything is touched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from onceonly.settings import PROJECT_ROOT
from onceonly.streams import DeclarationError, load_stream, load_streams

GOOD = """\
name: payments
fields:
  id: {type: string, required: true}
  ts: {type: timestamp, required: true}
  account: {type: string, required: true}
  amount: {type: "decimal(12, 2)", required: true}
  units: {type: integer, min: 0}
roles:
  key: id
  event_time: ts
"""


def _declare(folder: Path, text: str, name: str = "payments.yml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def test_the_shipped_declarations_load() -> None:
    streams = load_streams(PROJECT_ROOT / "streams")
    orders = streams["orders"]
    assert (orders.key, orders.event_time, orders.discriminator) == (
        "event_id",
        "occurred_at",
        "event_type",
    )
    assert orders.producer is not None and orders.producer.sequence == "sequence_number"
    assert orders.get("amount").scale == 2 and orders.control_totals == ("amount",)


def test_a_minimal_declaration_loads_with_defaults(tmp_path: Path) -> None:
    contract = load_stream(_declare(tmp_path, GOOD))
    assert contract.stream == "payments" and contract.producer is None
    assert contract.dedup_window_days == 7 and contract.unknown_fields == "keep"
    amount = contract.get("amount")
    assert (amount.precision, amount.scale, amount.min_value) == (12, 2, None)


BAD = {
    "unknown type": (
        GOOD.replace("type: integer, min: 0", "type: int64"),
        7,
        "unknown type 'int64'",
    ),
    "key that is not a field": (GOOD.replace("key: id", "key: payment_id"), 9, "not a field"),
    "one field in two roles": (
        GOOD.replace("event_time: ts", "event_time: ts\n  version: ts"),
        11,
        "plays two roles",
    ),
    "broken YAML": (GOOD.replace("account: {type", "account: {type: [string"), 5, "not valid YAML"),
    "a field named select": (
        GOOD.replace("  units:", "  select: {type: string}\n  units:"),
        7,
        "SQL keyword",
    ),
    "an event time that is not a timestamp": (
        GOOD.replace("event_time: ts", "event_time: account"),
        10,
        "needs a timestamp field",
    ),
    "an unknown top-level key": (GOOD + "windows: 3\n", 11, "windows"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_declarations_name_file_line_and_what_to_write(tmp_path: Path, case: str) -> None:
    text, line, words = BAD[case]
    path = _declare(tmp_path, text)
    with pytest.raises(DeclarationError) as info:
        load_stream(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert words in message and "\n" not in message


def test_two_files_declaring_one_stream(tmp_path: Path) -> None:
    _declare(tmp_path, GOOD, "a.yml")
    second = _declare(tmp_path, GOOD, "b.yml")
    with pytest.raises(DeclarationError) as info:
        load_streams(tmp_path)
    assert str(info.value).startswith(f"{second}:1: ")
    assert "also declared in" in str(info.value) and str(tmp_path / "a.yml") in str(info.value)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "onceonly", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_bad_declaration_stops_every_command_before_it_touches_anything(
    tmp_path: Path,
) -> None:
    streams = tmp_path / "streams"
    bad = _declare(streams, GOOD.replace("key: id", "key: payment_id"))
    landing = tmp_path / "landing"
    (landing / "payments" / "dt=2026-03-01" / "hour=10").mkdir(parents=True)
    (landing / "payments" / "dt=2026-03-01" / "hour=10" / "a.jsonl").write_text(
        json.dumps({"id": "p-1", "ts": "2026-03-01T09:00:00Z", "account": "a", "amount": 1}) + "\n"
    )
    db = tmp_path / "w.duckdb"
    for command in (
        ["streams", "check"],
        ["land", "--landing", str(landing), "--duckdb-path", str(db)],
        ["run", "--landing", str(landing), "--duckdb-path", str(db)],
    ):
        result = _cli(*command, "--streams-dir", str(streams), cwd=tmp_path)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {bad}:9: "), result.stderr
    assert not db.exists()  # nothing landed, no warehouse created


def test_streams_check_lists_valid_declarations(tmp_path: Path) -> None:
    streams = tmp_path / "streams"
    _declare(streams, GOOD)
    result = _cli("streams", "check", "--streams-dir", str(streams), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "payments" in result.stdout and "1 stream declaration(s)" in result.stdout
    assert "effectively_once" in result.stdout  # the default guarantee, shown


def test_the_readme_example_declaration_is_valid(tmp_path: Path) -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("## Add your own stream", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    text = "\n".join(line.removeprefix("   ") for line in block.splitlines()) + "\n"
    contract = load_stream(_declare(tmp_path, text))
    assert contract.stream == "payments" and contract.key == "id"
    assert contract.producer is not None and contract.producer.sequence_start == 1
    assert dict(contract.severities) == {"conflicts": "error", "gaps.missing_hours": "off"}


def test_unknown_fields_keep_quarantine_or_drop(tmp_path: Path) -> None:
    from onceonly.validation import validate_line

    line = json.dumps(
        {"id": "p-1", "ts": "2026-03-01T09:00:00Z", "account": "a", "amount": 1, "note": "x"}
    )
    kept = validate_line(load_stream(_declare(tmp_path, GOOD)), line)
    assert kept.rejection is None and json.loads(kept.values["_extra"]) == {"note": "x"}
    quarantine = load_stream(_declare(tmp_path / "q", GOOD + "unknown_fields: quarantine\n"))
    refused = validate_line(quarantine, line)
    assert refused.rejection is not None and refused.rejection.code == "unknown_field"
    assert "note" in refused.rejection.reason
    dropped = validate_line(
        load_stream(_declare(tmp_path / "d", GOOD + "unknown_fields: drop\n")), line
    )
    assert dropped.rejection is None and dropped.values["_extra"] is None


def test_missing_hours_are_checked_only_for_a_stream_with_an_hourly_cadence(
    tmp_path: Path,
) -> None:
    """Quiet hours are normal for many streams: without `cadence: hourly` a sparse stream
    gets no missing-hour check (and so no false alarm); with it, the check is there."""
    from onceonly.quality.checks import stream_checks

    sparse = load_stream(_declare(tmp_path / "sparse", GOOD))
    hourly = load_stream(_declare(tmp_path / "hourly", GOOD + "cadence: hourly\n"))
    assert sparse.cadence is None and hourly.cadence == "hourly"
    assert "gaps.missing_hours" not in {c.name for c in stream_checks(sparse)}
    assert "gaps.missing_hours" in {c.name for c in stream_checks(hourly)}
    with pytest.raises(DeclarationError, match="cadence"):
        load_stream(_declare(tmp_path / "bad", GOOD + "cadence: weekly\n"))
