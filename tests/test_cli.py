"""The command line as a user types it (a real subprocess, real files)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from pipeline import dead_port

CLI = [sys.executable, "-m", "onceonly"]


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI with ``args`` in ``cwd``, its environment only PATH and ``env``."""
    return subprocess.run(
        [*CLI, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", **env},
    )


def test_generate_then_land_prints_a_summary(tmp_path: Path) -> None:
    gen = run(
        "generate", "--out", "zone", "--events", "400", "--days", "1", "--seed", "5", cwd=tmp_path
    )
    assert gen.returncode == 0, gen.stderr
    assert (tmp_path / "zone" / "_truth" / "orders" / "fct_orders_events.csv").exists()
    landed = run("land", "--landing", "zone", cwd=tmp_path)
    assert "rows landed" in landed.stdout
    db = tmp_path / "warehouse" / "onceonly.duckdb"  # the default path
    with duckdb.connect(str(db), read_only=True) as con:
        per_stream = con.execute(
            "select stream, sum(rows_landed) from raw.load_ledger group by 1 order by 1"
        ).fetchall()
        [(rejected, quarantined)] = con.execute(
            "select count(*) filter (status = 'rejected'), sum(rows_quarantined) "
            "from raw.load_ledger"
        ).fetchall()
    # the generated zone holds bad lines, and a corrupt file or not: the exit code says so
    assert quarantined > 0
    assert landed.returncode == (3 if rejected else 4), landed.stderr
    assert [s for s, _ in per_stream] == ["inventory", "orders"]  # every declared stream
    tables = landed.stdout.split("landing orders")
    assert f"{dict(per_stream)['inventory']:,}" in tables[0]
    assert f"{dict(per_stream)['orders']:,}" in tables[1]


def test_missing_landing_folder_is_one_line_naming_the_path(tmp_path: Path) -> None:
    result = run("land", "--landing", "no/such/folder", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "no/such/folder" in lines[0] and "does not exist" in lines[0]


def test_bad_option_value_is_reported(tmp_path: Path) -> None:
    result = run("land", "--landing", ".", "--start", "yesterday", cwd=tmp_path)
    assert result.returncode == 2
    assert "--start" in result.stderr


def test_unknown_target_is_a_config_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [*CLI, "land", "--landing", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "ONCEONLY_TARGET": "oracle"},
    )
    assert result.returncode == 2
    assert "oracle" in result.stderr


def test_a_folder_no_declaration_names_is_reported_and_recorded(tmp_path: Path) -> None:
    gen = run(
        "generate",
        "--out",
        "zone",
        "--events",
        "200",
        "--days",
        "1",
        "--stream",
        "orders",
        cwd=tmp_path,
    )
    assert gen.returncode == 0, gen.stderr
    stray = tmp_path / "zone" / "shipments" / "dt=2026-01-05" / "hour=10"
    stray.mkdir(parents=True)
    (stray / "a.jsonl").write_text('{"id": 1}\n')
    landed = run("land", "--landing", "zone", cwd=tmp_path)
    assert landed.returncode == 3, landed.stderr  # a folder not landed: rejected
    assert "shipments/ matches no stream declaration" in landed.stderr
    assert "inventory: no folder" in landed.stderr  # declared, nothing delivered yet
    db = tmp_path / "warehouse" / "onceonly.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select status, source_file, detail from raw.load_ledger where stream = 'shipments'"
        ).fetchall()
    assert rows == [
        ("rejected", "shipments/", "no stream declaration shipments.yml: 1 file not landed")
    ]


def _moves_with_outbox(folder: Path, outbox: str) -> None:
    """streams/moves.yml in ``folder``: a stream relayed from ``outbox`` (its YAML)."""
    (folder / "streams").mkdir()
    (folder / "streams" / "moves.yml").write_text(
        "name: moves\nfields:\n  move_id: {type: string, required: true}\n"
        "  moved_at: {type: timestamp, required: true}\n"
        f"roles: {{key: move_id, event_time: moved_at}}\noutbox: {outbox}\n"
    )


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("error: ")
    return lines[0]


def _land_orders(duckdb_path: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run(
        "land", "--landing", "zone", "--stream", "orders", "--duckdb-path", duckdb_path, cwd=cwd
    )


def test_report_and_reconcile_on_a_missing_warehouse_create_nothing(tmp_path: Path) -> None:
    for command in ("report", "reconcile"):
        line = _one_error_line(run(command, "--duckdb-path", "nowhere/w.duckdb", cwd=tmp_path))
        assert "nowhere/w.duckdb" in line and "no DuckDB warehouse" in line
    assert not (tmp_path / "nowhere").exists()


def test_a_warehouse_path_that_is_no_duckdb_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "zone" / "orders").mkdir(parents=True)
    (tmp_path / "folder.duckdb").mkdir()
    (tmp_path / "text.duckdb").write_text("not a database\n")
    for name in ("folder.duckdb", "text.duckdb"):
        line = _one_error_line(_land_orders(name, cwd=tmp_path))
        assert name in line


def test_a_warehouse_locked_by_another_process_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "zone" / "orders").mkdir(parents=True)
    db = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys, time; c = duckdb.connect({str(db)!r}); "
            "print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        line = _one_error_line(_land_orders(str(db), cwd=tmp_path))
        assert "w.duckdb" in line and "another process" in line
    finally:
        holder.kill()
        holder.wait()


def test_report_before_any_dbt_build_says_what_to_run(tmp_path: Path) -> None:
    zone = tmp_path / "zone" / "orders" / "dt=2026-01-05" / "hour=10"
    zone.mkdir(parents=True)
    (zone / "a.jsonl").write_text("{}\n")
    # the one line is quarantined: exit 4
    assert run("land", "--landing", "zone", "--stream", "orders", cwd=tmp_path).returncode == 4
    line = _one_error_line(run("report", "--stream", "orders", cwd=tmp_path))
    assert "dbt build" in line and "fct_orders_events" in line


def test_demo_never_deletes_a_folder_it_did_not_make(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "precious.txt").write_text("keep me")
    line = _one_error_line(run("demo", "--out", "mine", cwd=tmp_path))
    assert "mine" in line
    assert (mine / "precious.txt").read_text() == "keep me"


def test_run_against_an_unreachable_postgres_is_one_line_at_once(tmp_path: Path) -> None:
    port = dead_port()
    (tmp_path / "zone" / "orders").mkdir(parents=True)
    result = run(
        "run", "--landing", "zone", "--target", "postgres", cwd=tmp_path, ONCEONLY_PG_PORT=str(port)
    )
    line = _one_error_line(result)
    assert f"127.0.0.1:{port}" in line


@pytest.mark.parametrize("command", [["relay"], ["relay", "init"]])
def test_relay_to_an_unreachable_outbox_is_one_line(command: list[str], tmp_path: Path) -> None:
    port = dead_port()
    _moves_with_outbox(tmp_path, "{table: app.outbox}")
    result = run(
        *command,
        "--streams-dir",
        "streams",
        cwd=tmp_path,
        ONCEONLY_PG_PORT=str(port),
        ONCEONLY_PG_PASSWORD="s3cret-word",
    )
    line = _one_error_line(result)
    assert f"outbox PostgreSQL at 127.0.0.1:{port}" in line
    assert "s3cret-word" not in result.stdout + result.stderr


def test_an_outbox_connection_airflow_does_not_know_is_one_line(tmp_path: Path) -> None:
    _moves_with_outbox(tmp_path, "{table: app.outbox, connection: warehouse_app}")
    result = run(
        "relay", "--streams-dir", "streams", cwd=tmp_path, AIRFLOW_HOME=str(tmp_path / "airflow")
    )
    line = _one_error_line(result)
    assert "Airflow connection 'warehouse_app'" in line and "moves" in line
    assert "AIRFLOW_CONN_WAREHOUSE_APP" in line


def test_demo_with_an_unreachable_outbox_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    port = dead_port()
    result = run("demo", "--outbox", cwd=tmp_path, ONCEONLY_PG_PORT=str(port))
    line = _one_error_line(result)
    assert f"outbox PostgreSQL at 127.0.0.1:{port}" in line
    assert not (tmp_path / "demo-landing").exists()


@pytest.mark.parametrize("command", ["land", "run"])
def test_bigquery_without_credentials_is_one_line(command: str, tmp_path: Path) -> None:
    for stream in ("orders", "inventory"):
        (tmp_path / "zone" / stream).mkdir(parents=True)
    result = subprocess.run(
        [*CLI, command, "--landing", "zone", "--target", "bigquery"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        # no application default credentials anywhere: HOME is empty
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ONCEONLY_BQ_PROJECT": "p1"},
    )
    line = _one_error_line(result)
    assert "BigQuery credentials" in line and "ONCEONLY_BQ_METHOD=oauth" in line


def test_land_exit_codes_tell_clean_quarantined_and_rejected_input_apart(tmp_path: Path) -> None:
    """0 all landed; 4 lines quarantined; 3 a file rejected (3 wins over 4). What was
    not landed is recorded either way, and a rerun that rejects nothing new exits 0."""
    from conftest import jsonl, order_placed

    hour = tmp_path / "zone" / "orders" / "dt=2026-01-05" / "hour=10"
    hour.mkdir(parents=True)

    def land_orders() -> subprocess.CompletedProcess[str]:
        return run("land", "--landing", "zone", "--stream", "orders", cwd=tmp_path)

    (hour / "a.jsonl").write_bytes(jsonl(order_placed("e-1"), order_placed("e-2", seq=1)))
    assert land_orders().returncode == 0
    (hour / "b.jsonl").write_bytes(jsonl(order_placed("e-3", seq=2)) + b"not json\n")
    quarantined = land_orders()
    assert quarantined.returncode == 4, quarantined.stderr
    assert "not landed: 1 line quarantined (recorded; exit 4)" in quarantined.stderr
    assert land_orders().returncode == 0  # nothing new: both files already landed
    (hour / "c.jsonl.gz").write_bytes(b"not gzip")
    (hour / "d.jsonl").write_bytes(b"also not json\n")
    rejected = land_orders()
    assert rejected.returncode == 3, rejected.stderr
    assert "1 file or entry rejected, 1 line quarantined" in rejected.stderr
    db = tmp_path / "warehouse" / "onceonly.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select status, count(*) from raw.load_ledger "
            "where source_file like '%c.jsonl.gz' or source_file like '%d.jsonl' "
            "group by 1 order by 1"
        ).fetchall()
    assert rows == [("landed", 1), ("rejected", 1)]


LEDGER = """\
name: ledger
guarantee: exactly_once
fields:
  txn_id: {type: string, required: true}
  amount: {type: "decimal(12, 2)", required: true}
  posted_at: {type: timestamp, required: true}
roles:
  key: txn_id
  event_time: posted_at
"""


def test_run_exits_5_while_an_exactly_once_stream_holds_keys_unpublished(
    tmp_path: Path,
) -> None:
    """Two copies of t2 with different amounts: exactly_once publishes t1 and holds t2
    until `onceonly resolve` chooses; the run completes and says so with exit code 5."""
    import json

    (tmp_path / "streams").mkdir()
    (tmp_path / "streams" / "ledger.yml").write_text(LEDGER)
    hour = tmp_path / "zone" / "ledger" / "dt=2026-03-01" / "hour=10"
    hour.mkdir(parents=True)

    def posting(txn: str, amount: str) -> str:
        return json.dumps({"txn_id": txn, "amount": amount, "posted_at": "2026-03-01T09:00:00Z"})

    lines = [posting("t1", "1.00"), posting("t2", "2.00"), posting("t2", "2.50")]
    (hour / "a.jsonl").write_text("\n".join(lines) + "\n")
    done = run(
        "run",
        "--landing",
        "zone",
        "--streams-dir",
        "streams",
        cwd=tmp_path,
        AIRFLOW_HOME=str(tmp_path / "airflow"),
        ONCEONLY_REPORTS_DIR=str(tmp_path / "reports"),
    )
    assert done.returncode == 5, done.stdout[-3000:] + done.stderr[-3000:]
    assert "not published: ledger: 1 key held out of the facts" in done.stderr, done.stderr
    db = tmp_path / "warehouse" / "onceonly.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select txn_id from analytics.fct_ledger_events").fetchall() == [("t1",)]
        assert con.execute("select txn_id from dq.ledger_held_conflicts").fetchall() == [("t2",)]


def test_a_postgres_connection_airflow_does_not_know_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "orders").mkdir()
    result = run(
        "land",
        "--landing",
        ".",
        "--target",
        "postgres",
        cwd=tmp_path,
        ONCEONLY_PG_CONN_ID="warehouse_pg",
        AIRFLOW_HOME=str(tmp_path / "airflow"),
    )
    line = _one_error_line(result)
    assert "Airflow connection 'warehouse_pg' (ONCEONLY_PG_CONN_ID)" in line
    assert "AIRFLOW_CONN_WAREHOUSE_PG" in line
