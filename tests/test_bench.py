"""`onceonly bench` on a tiny N: it runs every step and its JSON holds every figure.
(No time is asserted: the figures themselves are recorded in benchmarks/README.md.)"""

from __future__ import annotations

import json
from pathlib import Path

from onceonly.bench.data import write_deliveries
from onceonly.bench.suite import AIMS


def test_deliveries_hold_the_duplicates_and_late_events_they_claim(tmp_path: Path) -> None:
    """Read back from the files, independently of the SQL that wrote them."""
    import duckdb
    import pytest

    made = write_deliveries(tmp_path, 40_000)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(
        "create table lines as select event_id, occurred_at::timestamptz as occurred_at, "
        "strptime(regexp_extract(filename, 'dt=([0-9-]+)/hour=([0-9]+)', 1) || ' ' || "
        "regexp_extract(filename, 'hour=([0-9]+)', 1), '%Y-%m-%d %H')::timestamptz as arrived "
        f"from read_json('{tmp_path}/orders/*/*/*.jsonl', filename = true, "
        "format = 'newline_delimited')"
    )
    [(total, distinct, twice, late)] = con.execute(
        "select sum(n), count(*), count(*) filter (where n = 2), "
        "count(*) filter (where first_arrival > occurred_at + interval 23 hour) "
        "from (select event_id, count(*) as n, min(arrived) as first_arrival, "
        "min(occurred_at) as occurred_at from lines group by event_id)"
    ).fetchall()
    assert (total, distinct, twice, late) == (
        made.lines,
        made.events,
        made.duplicated_events,
        made.late_events,
    )
    assert twice / distinct == pytest.approx(0.05, abs=0.005)
    assert late / distinct == pytest.approx(0.01, abs=0.003)


def test_bench_on_a_tiny_n_writes_every_figure(tmp_path: Path) -> None:
    """As a user runs it: a subprocess with the default work folder and JSON path
    (relative to where it runs), which refuses to empty a folder it did not make."""
    import os
    import subprocess
    import sys

    (tmp_path / "bench-work").mkdir()
    (tmp_path / "bench-work" / "mine.txt").write_text("not the bench's")
    tiny = ["--events", "3000", "--history", "8000", "--batch", "1000", "--peer", "dlt"]
    command = [sys.executable, "-m", "onceonly", "bench", *tiny, "--target", "duckdb"]

    def bench() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            cwd=tmp_path,
            env={**os.environ, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=1200,
        )

    unknown = subprocess.run(
        [*command[:4], "--peer", "airbyte"], cwd=tmp_path, capture_output=True, text=True
    )
    assert unknown.returncode == 2 and "--peer airbyte: unknown peer" in unknown.stderr
    refused = bench()  # a folder it did not make is never emptied
    assert refused.returncode == 2 and "bench-work" in refused.stderr, refused.stderr
    assert (tmp_path / "bench-work" / "mine.txt").exists()
    (tmp_path / "bench-work" / "mine.txt").unlink()
    done = bench()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (tmp_path / "bench-work" / ".onceonly-bench").exists()  # its own: a rerun empties it
    out = tmp_path / "benchmarks" / "results" / "bench.json"
    result = done
    body = json.loads(out.read_text())
    data = body["data"]
    ours = body["ours"]
    assert ours["landing"]["lines"] == ours["landing"]["landed"] == data["lines"]
    assert body["alternatives"]["floor"]["facts"] == data["events"]
    assert body["alternatives"]["append_only"]["facts"] == data["lines"]
    # the same copies at each guarantee: every copy kept, or each event once
    levels = body["guarantees"]
    assert levels["at_least_once"]["facts"] == data["lines"]
    assert levels["effectively_once"]["facts"] == data["events"]
    assert levels["at_least_once"]["over_at_least_once"] == 1.0
    for figure in (
        ours["landing"]["lines_per_second"],
        ours["dedup_and_facts"]["events_per_second"],
        ours["onceonly_run"]["wall_seconds"],
        ours["onceonly_run"]["peak_rss_bytes"],
        body["airflow"]["dag_parse_seconds_median_of_3"],
        body["airflow"]["cosmos_over_bare"],
    ):
        assert isinstance(figure, int | float) and figure > 0
    assert [h["history_events"] for h in body["history"]] == [8000]
    # a run at each guarantee at the largest history: 8,000 events, then 1,000 copies of
    # which 950 are new events (the rest the same content again)
    at_history = body["guarantees_at_history"]
    assert at_history["history_events"] == 8000 and at_history["batch_copies"] == 1000
    assert at_history["at_least_once"]["facts"] == 9000
    assert at_history["effectively_once"]["facts"] == at_history["exactly_once"]["facts"] == 8950
    for run in body["history"]:
        assert run["incremental_seconds"] > 0 and run["full_refresh_seconds"] > 0
    # the peer on the same files: dlt's merge holds each event once; insert-only, in one
    # load, keeps every copy the load holds
    dlt = body["peers"]["dlt"]
    assert dlt["delete-insert"]["rows"] == dlt["delete-insert"]["distinct_keys"] == data["events"]
    assert dlt["insert-only"]["rows"] == data["lines"]
    assert dlt["insert-only"]["duplicate_rows"] == data["lines"] - data["events"] > 0
    assert "dlt 1.31.0 delete-insert" in result.stdout
    assert set(body["aims"]) == set(AIMS)
    for name, aim in body["aims"].items():
        assert isinstance(aim["figure"], int | float), name
        assert isinstance(aim["met"], bool), name
    for name in AIMS:
        assert name in result.stdout
