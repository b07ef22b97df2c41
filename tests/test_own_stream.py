"""A stream that exists nowhere in the repository, brought as a new user would: one
declaration file in a folder of their own, deliveries in their landing zone, and
`onceonly run --stream`. Expected rows are written here by hand from the deliveries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from onceonly.settings import PROJECT_ROOT, Settings
from onceonly.streams import load_streams
from onceonly.targets import open_target

DECLARATION = """\
# a payments ledger feed: key `id`, event time `ts`, no producer sequence
name: payments
description: Card payments from the acquirer's feed.
fields:
  id: {type: string, required: true, max_length: 64}
  ts: {type: timestamp, required: true}
  account: {type: string, required: true}
  amount: {type: "decimal(12, 2)", required: true}
  units: {type: integer, min: 0}
roles:
  key: id
  event_time: ts
dedup_window_days: 3
control_totals: [amount]
"""


def _line(id_: str, ts: str, amount: object, **extra: object) -> str:
    return json.dumps({"id": id_, "ts": ts, "account": "acc-1", "amount": amount, **extra})


#: arrival hour -> file name -> lines
DELIVERIES = {
    "dt=2026-03-01/hour=10": {
        "a.jsonl": [
            _line("p-1", "2026-03-01T09:00:00Z", "10.50", units=1),
            _line("p-2", "2026-03-01T11:30:00+02:00", 20),
            _line("p-2", "2026-03-01T09:30:00Z", "20.00"),  # the same content, other forms
            "{not json",
            json.dumps({"id": "p-9", "account": "acc-1", "amount": 1}),  # no ts
        ]
    },
    "dt=2026-03-01/hour=11": {
        "b.jsonl": [
            _line("p-3", "2026-03-01T10:15:00Z", "-5.25", channel="web"),  # an extra field
            _line("p-1", "2026-03-01T09:00:00Z", "10.5", units=1),  # a retry, next file
            _line("p-2", "2026-03-01T09:30:00Z", "99.00"),  # a conflicting copy
        ]
    },
    "dt=2026-03-09/hour=08": {
        "c.jsonl": [
            _line("p-1", "2026-03-01T09:00:00Z", "10.50", units=1),  # 8 days late
            _line("p-5", "2026-03-09T07:59:00Z", "1.00", units=3),
        ]
    },
}

#: (id, ts, amount, units, _source_file, _line_number) of the facts, by hand
EXPECTED_FACTS = {
    ("p-1", "2026-03-01 09:00:00", Decimal("10.50"), 1, "dt=2026-03-01/hour=10/a.jsonl", 1),
    ("p-2", "2026-03-01 09:30:00", Decimal("20.00"), None, "dt=2026-03-01/hour=10/a.jsonl", 2),
    ("p-3", "2026-03-01 10:15:00", Decimal("-5.25"), None, "dt=2026-03-01/hour=11/b.jsonl", 1),
    ("p-5", "2026-03-09 07:59:00", Decimal("1.00"), 3, "dt=2026-03-09/hour=08/c.jsonl", 2),
}


@pytest.fixture
def own_stream(tmp_path: Path) -> tuple[Path, Path]:
    streams = tmp_path / "my-streams"
    streams.mkdir()
    (streams / "payments.yml").write_text(DECLARATION)
    landing = tmp_path / "landing"
    for hour, files in DELIVERIES.items():
        folder = landing / "payments" / hour
        folder.mkdir(parents=True)
        for name, lines in files.items():
            (folder / name).write_text("\n".join(lines) + "\n")
    return streams, landing


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "onceonly", *args],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", "ONCEONLY_RETRY_DELAY_SECONDS": "1", **env},
        capture_output=True,
        text=True,
        timeout=900,
    )


def _repository_state() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain"], cwd=PROJECT_ROOT, capture_output=True, text=True
    ).stdout


def _assert_exactly_once(settings: Settings, reports: Path) -> None:
    contract = load_streams(settings.streams_dir)["payments"]
    warehouse = open_target(settings)
    try:
        facts = warehouse.query(
            "select id, cast(ts as varchar), amount, units, _source_file, _line_number "
            "from analytics.fct_payments_events"
        )
        got = {
            (i, t[:19], Decimal(str(a)), u, f.removeprefix("payments/"), n)
            for i, t, a, u, f, n in facts
        }
        assert len(facts) == 4 and got == EXPECTED_FACTS
        [(extra,)] = warehouse.query(
            "select cast(_extra as varchar) from analytics.fct_payments_events where id = 'p-3'"
        )
        assert json.loads(str(extra)) == {"channel": "web"}
        quarantined = warehouse.query(
            "select source_file, line_number, reason_code from raw.quarantine "
            "where stream = 'payments' order by 2"
        )
        assert quarantined == [
            ("payments/dt=2026-03-01/hour=10/a.jsonl", 4, "invalid_json"),
            ("payments/dt=2026-03-01/hour=10/a.jsonl", 5, "missing_field"),
        ]
        assert warehouse.query("select id, copies, versions from dq.payments_event_conflicts") == [
            ("p-2", 3, 2)
        ]
        assert warehouse.query("select id, source_file from dq.payments_late_duplicates") == [
            ("p-1", "payments/dt=2026-03-09/hour=08/c.jsonl")
        ]
        assert contract.producer is None
        assert warehouse.query(
            "select count(*) from information_schema.tables "
            "where table_name = 'payments_sequence_gaps'"
        ) == [(0,)]  # no producer roles, no gap model
    finally:
        warehouse.close()
    summary = json.loads((reports / "payments" / "summary.json").read_text())
    assert summary["held"] is True and summary["checks_passed"] is True
    assert summary["totals"]["fact_event_ids"] == 4
    assert summary["totals"]["quarantined"] == 2
    assert summary["totals"]["conflicting_events"] == 1
    checks = {c["name"] for c in summary["checks"]}
    assert "reconciliation.control_totals" in checks
    assert not {"gaps.sequence_holes", "duplicates.sequence_unique"} & checks
    page = (reports / "payments" / "index.html").read_text()
    assert "Reconciliation report: payments" in page and "p-2" in page
    index = (reports / "index.html").read_text()
    assert 'href="payments/index.html"' in index


def test_own_stream_on_duckdb(own_stream: tuple[Path, Path], tmp_path: Path) -> None:
    streams, landing = own_stream
    before = _repository_state()
    db, reports = tmp_path / "w.duckdb", tmp_path / "reports"
    env = {"ONCEONLY_REPORTS_DIR": str(reports), "AIRFLOW_HOME": str(tmp_path / "airflow")}
    args = ["--stream", "payments", "--streams-dir", str(streams), "--landing", str(landing)]
    # a relative path means the same file to the CLI, to dbt (run in dbt_project/) and to
    # the DAG tasks: the one under the folder the command runs in
    result = _run(["run", *args, "--duckdb-path", "w.duckdb"], tmp_path, env)
    # completed; two lines quarantined (recorded), told by exit code 4
    assert result.returncode == 4, result.stdout[-3000:] + result.stderr[-3000:]
    assert "payments: effectively once: yes" in result.stdout
    settings = Settings(target="duckdb", duckdb_path=db, streams_dir=streams)
    _assert_exactly_once(settings, reports)
    # a second run of the same deliveries changes nothing
    again = _run(["run", *args, "--duckdb-path", str(db)], tmp_path, env)
    assert again.returncode == 0, again.stderr[-2000:]  # nothing new was quarantined
    _assert_exactly_once(settings, reports)
    assert _repository_state() == before
    assert not (PROJECT_ROOT / "dbt_project" / "w.duckdb").exists()


@pytest.mark.postgres
def test_own_stream_on_postgres(
    own_stream: tuple[Path, Path], tmp_path: Path, postgres_env: dict[str, str]
) -> None:
    streams, landing = own_stream
    before = _repository_state()
    reports = tmp_path / "reports"
    env = {
        **postgres_env,
        "ONCEONLY_REPORTS_DIR": str(reports),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
    }
    args = ["--stream", "payments", "--streams-dir", str(streams), "--landing", str(landing)]
    result = _run(["run", *args, "--target", "postgres"], tmp_path, env)
    assert result.returncode == 4, result.stdout[-3000:] + result.stderr[-3000:]
    _assert_exactly_once(Settings.from_env(target="postgres", streams_dir=streams), reports)
    assert _repository_state() == before
