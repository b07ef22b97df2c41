"""`onceonly relay` against a real PostgreSQL: an outbox table's rows into the landing
zone at least once, never skipping a transaction that commits late, surviving kill -9 at
every step; then landed and deduplicated (DuckDB) into facts equal to the rows written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from pipeline import build, land_zone

from onceonly import relay
from onceonly.settings import Settings
from onceonly.streams import load_streams
from onceonly.targets import open_target
from onceonly.targets.postgres import connect_server

pytestmark = pytest.mark.postgres

MOVES = """\
name: moves
description: Stock moves an application writes with its outbox row, in one transaction.
fields:
  move_id: {type: string, required: true}
  sku: {type: string, required: true, not_blank: true}
  delta: {type: integer, required: true}
  moved_at: {type: timestamp, required: true}
roles: {key: move_id, event_time: moved_at}
outbox:
  table: app.outbox
  aggregatetype: stock
  fields: {move_id: $id}
"""


@pytest.fixture
def setup(postgres_env: dict[str, str], tmp_path: Path) -> tuple[Settings, Path]:
    streams = tmp_path / "streams"
    streams.mkdir()
    (streams / "moves.yml").write_text(MOVES)
    settings = Settings.from_env(
        target="duckdb",
        duckdb_path=tmp_path / "w.duckdb",
        streams_dir=streams,
        landing=tmp_path / "landing",
    )
    return settings, streams


def _cli(settings: Settings, *args: str, faults: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "onceonly", *args],
        env={**os.environ, **settings.environment(), "ONCEONLY_FAULTS": faults, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _connect(settings: Settings, autocommit: bool = True) -> psycopg.Connection:
    return connect_server(settings.postgres, autocommit, "a writer")


def _move(con: psycopg.Connection, n: int, **payload: object) -> str:
    """One outbox row of a stock move (the application's insert); its id."""
    body = {"sku": f"sku-{n % 3}", "delta": n, "moved_at": f"2026-03-01T10:{n % 60:02d}:00Z"}
    body.update(payload)
    [(uuid,)] = con.execute(
        "insert into app.outbox (aggregatetype, aggregateid, type, payload) "
        "values ('stock', %s, 'moved', %s::jsonb) returning id::text",
        [f"sku-{n % 3}", json.dumps(body)],
    ).fetchall()
    return str(uuid)


def _relayed_ids(landing: Path) -> list[str]:
    return [
        json.loads(line)["move_id"]
        for path in sorted(landing.rglob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def _facts(settings: Settings) -> list[str]:
    warehouse = open_target(settings)
    try:
        rows = warehouse.query("select move_id from analytics.fct_moves_events order by 1")
    finally:
        warehouse.close()
    return [str(k) for (k,) in rows]


def test_a_transaction_that_commits_late_is_relayed_where_a_naive_poller_skips_it(
    setup: tuple[Settings, Path],
) -> None:
    """Writer A opens a transaction and inserts; writer B inserts and commits; the relay
    runs; A commits; the relay runs again. The relay delivers A's row; a poller reading
    past the newest created_at it saw (the classic relay) never does."""
    settings, streams = setup
    contract = load_streams(streams)["moves"]
    created = _cli(settings, "relay", "init")
    assert created.returncode == 0 and "app.outbox: created for moves" in created.stdout
    again = _cli(settings, "relay", "init")
    assert again.returncode == 0 and "app.outbox: ready for moves" in again.stdout

    con = _connect(settings)
    writer_a = _connect(settings, autocommit=False)
    writer_b = _connect(settings, autocommit=False)
    try:
        a = _move(writer_a, 1)  # A: open, not committed
        b = _move(writer_b, 2)
        writer_b.commit()

        def naive_poll(since: object) -> tuple[list[str], object]:
            rows = con.execute(
                "select id::text, created_at from app.outbox where created_at > %s "
                "order by created_at",
                [since],
            ).fetchall()
            return [str(r[0]) for r in rows], (rows[-1][1] if rows else since)

        naive, last = naive_poll("-infinity")
        first = relay.relay(con, contract, settings.landing)
        assert naive == [b]  # the classic poller reads B and moves past A's created_at
        assert first.rows == 0 and first.waiting == 1  # B waits behind A, not skipped
        assert first.held_back_seconds is not None and first.held_back_seconds >= 0
        # the relay's log says so, for the report
        logged = relay.read_passes(settings.landing, "moves")
        assert [(p["rows"], p["waiting"]) for p in logged] == [(0, 1)]
        assert logged[-1]["lag_seconds"] is not None and logged[-1]["lag_seconds"] >= 0

        writer_a.commit()
        late, _ = naive_poll(last)
        second = relay.relay(con, contract, settings.landing)
        assert late == []  # the classic poller never sees A's row
        assert second.rows == 2 and second.waiting == 0
        assert second.delay_seconds is not None and second.delay_seconds > 0
        assert sorted(_relayed_ids(settings.landing)) == sorted([a, b])
        assert relay.relay(con, contract, settings.landing).rows == 0  # nothing twice
    finally:
        for c in (writer_a, writer_b, con):
            c.close()
    land_zone(settings, settings.landing, contract=contract)
    build(settings)
    assert _facts(settings) == sorted([a, b])


@pytest.mark.parametrize("point", ["before_durable", "before_cursor", "after_cursor"])
def test_relay_killed(setup: tuple[Settings, Path], point: str) -> None:
    """Killed anywhere, a relay costs a re-delivery at most. kill -9 of `onceonly relay`
    before the file is durable, after it and before the cursor commit, and after the
    commit; the rerun relays what is left; landed and
    deduplicated, the facts are every row written, once."""
    settings, streams = setup
    contract = load_streams(streams)["moves"]
    assert _cli(settings, "relay", "init").returncode == 0
    con = _connect(settings)
    try:
        written = [_move(con, n) for n in range(1, 8)]
        killed = _cli(settings, "relay", "--batch-rows", "3", faults=f"kill:relay_{point}")
        assert killed.returncode == -9, killed.stderr
        files_after_kill = sorted(p.name for p in settings.landing.rglob("outbox-*.jsonl"))
        assert len(files_after_kill) == (0 if point == "before_durable" else 1)
        written += [_move(con, n) for n in range(8, 10)]
        rerun = _cli(settings, "relay", "--batch-rows", "3")
        assert rerun.returncode == 0, rerun.stderr
        assert "9 rows relayed" in rerun.stdout or point == "after_cursor"
        [(cursor_rows,)] = con.execute(
            "select rows_relayed from onceonly_relay.cursors where stream = 'moves'"
        ).fetchall()
    finally:
        con.close()
    # every row relayed; killed after the file was durable and before the cursor moved,
    # the rerun wrote the same rows again under the same name, with the same bytes
    relayed = _relayed_ids(settings.landing)
    assert sorted(relayed) == sorted(written)
    names = sorted(p.name for p in settings.landing.rglob("outbox-*.jsonl"))
    assert set(files_after_kill) <= set(names) and len(names) == 3
    assert cursor_rows == len(written)
    assert not list((settings.landing / ".onceonly-relay").rglob("*.jsonl"))  # no torn file
    land_zone(settings, settings.landing, contract=contract)
    build(settings)
    assert _facts(settings) == sorted(written)


def test_rows_that_are_no_event_are_quarantined_and_never_block_the_cursor(
    setup: tuple[Settings, Path],
) -> None:
    settings, streams = setup
    contract = load_streams(streams)["moves"]
    assert _cli(settings, "relay", "init").returncode == 0
    con = _connect(settings)
    try:
        good = _move(con, 1)
        con.execute(
            "insert into app.outbox (aggregatetype, aggregateid, type, payload) values "
            "('stock', 'x', 'moved', '[1, 2]'), ('stock', 'x', 'moved', '\"text\"'), "
            "('stock', 'x', 'moved', '{\"delta\": 1, \"moved_at\": \"2026-03-01T10:00:00Z\"}'), "
            "('billing', 'x', 'charged', '{\"amount\": 1}')"  # another aggregate: not ours
        )
        after = _move(con, 2)
        done = relay.relay(con, contract, settings.landing)
        assert done.rows == 5  # the stock rows; billing's is not relayed
        assert relay.relay(con, contract, settings.landing).rows == 0  # the cursor moved on
    finally:
        con.close()
    summary = land_zone(settings, settings.landing, contract=contract)
    [outcome] = summary.files
    assert (outcome.landed, outcome.quarantined) == (2, 3)
    assert dict(outcome.reasons) == {"not_an_object": 2, "missing_field": 1}
    build(settings)
    assert _facts(settings) == sorted([good, after])


def test_init_on_an_outbox_without_txid_says_what_to_add(setup: tuple[Settings, Path]) -> None:
    settings, _ = setup
    con = _connect(settings)
    try:
        con.execute("create schema app")
        con.execute(
            "create table app.outbox (id uuid primary key default gen_random_uuid(), "
            "aggregatetype text, aggregateid text, type text, payload jsonb, "
            "created_at timestamptz default now())"
        )
    finally:
        con.close()
    lacking = _cli(settings, "relay", "init")
    assert lacking.returncode == 2
    assert (
        'alter table "app"."outbox" add column txid xid8 not null default pg_current_xact_id()'
        in lacking.stderr.replace("\n", " ")
    )
    assert "Traceback" not in lacking.stderr


def test_the_relay_dag_then_the_landing_and_transform_dags(
    setup: tuple[Settings, Path],
    tmp_path: Path,
    postgres_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The scheduled path: relay_moves under dag.test() reads the outbox through the
    Airflow connection its declaration names (the target's PostgreSQL settings point
    nowhere), writes the committed rows, the land and transform DAGs take them into the
    facts, a rerun of the relay adds nothing, and the report shows the relay's passes."""
    import socket
    from dataclasses import replace

    from onceonly.orchestration.runner import run_dag, run_dags

    settings, streams = setup
    assert _cli(settings, "relay", "init").returncode == 0
    (streams / "moves.yml").write_text(MOVES + "  connection: outbox_db\n")
    env = postgres_env
    monkeypatch.setenv(
        "AIRFLOW_CONN_OUTBOX_DB",
        f"postgresql://{env['ONCEONLY_PG_USER']}:{env['ONCEONLY_PG_PASSWORD']}"
        f"@127.0.0.1:{env['ONCEONLY_PG_PORT']}/{env['ONCEONLY_PG_DATABASE']}",
    )
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        nowhere = s.getsockname()[1]
    settings = settings.with_(
        reports_dir=tmp_path / "reports", postgres=replace(settings.postgres, port=nowhere)
    )
    con = _connect(
        settings.with_(postgres=replace(settings.postgres, port=int(env["ONCEONLY_PG_PORT"])))
    )
    try:
        written = [_move(con, n) for n in range(1, 6)]
        run_dag(settings, "relay_moves")
        run_dag(settings, "relay_moves")
        [(files,)] = con.execute(
            "select files from onceonly_relay.cursors where stream = 'moves'"
        ).fetchall()
    finally:
        con.close()
    assert files == 1 and sorted(_relayed_ids(settings.landing)) == sorted(written)
    run_dags(settings, ["moves"])
    assert _facts(settings) == sorted(written)
    summary = json.loads((tmp_path / "reports" / "moves" / "summary.json").read_text())
    assert summary["held"] is True
    shown = summary["relay"]
    assert (shown["passes_24h"], shown["rows_24h"], shown["files_24h"]) == (2, 5, 1)
    assert shown["waiting"] == 0 and shown["delay_max_seconds"] > 0
    page = (tmp_path / "reports" / "moves" / "index.html").read_text()
    assert 'id="relay"' in page and "app.outbox" in page


def test_outbox_chaos_loses_and_duplicates_nothing(postgres_env: dict[str, str]) -> None:
    """`onceonly chaos --outbox` as a user runs it (two runs here; the 100-run campaign is
    recorded in docs/reliability.md): writers with long and aborted transactions, relays
    killed at every step and at random; every committed row once in the facts."""
    result = subprocess.run(
        [sys.executable, "-m", "onceonly", "chaos", "--outbox", "--runs", "2", "--seed", "7"],
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    table = {
        cells[0]: cells[1]
        for line in result.stdout.splitlines()
        if len(cells := [c.strip() for c in line.strip("│ ").split("│")]) == 2
    }
    assert table["runs with exact facts"] == "2"
    assert table["rows lost"] == table["rows duplicated in the facts"] == "0"
    assert table["rolled-back rows in the facts"] == "0"
    assert int(table["rows committed"]) > 0 and int(table["rows rolled back"]) > 0
    assert any(k.startswith("relays killed") for k in table)
