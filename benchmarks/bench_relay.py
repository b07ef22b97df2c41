"""Rows relayed per second by `onceonly relay`, and its lag under concurrent writers
(issue #15's aim: >= 50,000 rows/s on this machine).

1. --rows outbox rows (a stock move each, ~150-byte payload) are written, committed, then
   relayed from the start: rows per second of the relay alone (read below the snapshot's
   xmin, map the payload, write and fsync the files, advance the cursor).
2. --writers threads insert and commit for --seconds, each transaction held open a random
   0-50 ms, while a relay loop runs back to back: the lag is how long after its commit a
   row was in a durable landing file (median and 99th percentile), and no row is lost.

PostgreSQL: ONCEONLY_PG_* if ONCEONLY_PG_HOST is set, else a throwaway cluster started by
the tests' helper (tests/postgres_server.py). Prints JSON.

Usage: .venv/bin/python benchmarks/bench_relay.py [--rows 1000000] [--writers 4]
       [--seconds 20] [--batch-rows 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from onceonly import relay
from onceonly.contract import Outbox
from onceonly.settings import Settings
from onceonly.streams import load_stream
from onceonly.targets.postgres import connect_server

DECLARATION = """\
name: moves
fields:
  move_id: {type: string, required: true}
  sku: {type: string, required: true}
  delta: {type: integer, required: true}
  moved_at: {type: timestamp, required: true}
roles: {key: move_id, event_time: moved_at}
outbox: {table: app.outbox, aggregatetype: stock, fields: {move_id: $id}}
"""

FILL = """
insert into app.outbox (aggregatetype, aggregateid, type, payload)
select 'stock', 'sku-' || (i %% 500), 'moved', jsonb_build_object(
    'sku', 'sku-' || (i %% 500), 'delta', i %% 7 - 3,
    'moved_at', '2026-03-01T10:00:00Z', 'warehouse_id', 'w-' || (i %% 9))
from generate_series(1, %s) as s(i)
"""


def _connect(settings: Settings, autocommit: bool = True) -> psycopg.Connection:
    return relay.connect(settings) if autocommit else _plain(settings)


def _plain(settings: Settings) -> psycopg.Connection:
    return connect_server(settings.postgres, autocommit=False, application="a writer")


def throughput(settings: Settings, contract: object, rows: int, batch: int, work: Path) -> dict:
    con = _connect(settings)
    con.execute(FILL, [rows])
    con.execute("vacuum analyze app.outbox")
    started = time.perf_counter()
    done = relay.relay(con, contract, work / "landing", batch)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    con.close()
    assert done.rows == rows, (done.rows, rows)
    return {
        "rows": rows,
        "files": len(done.files),
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds),
    }


def lag(settings: Settings, contract: object, writers: int, seconds: float, work: Path) -> dict:
    landing = work / "lag-landing"
    committed: dict[str, float] = {}
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def write() -> None:
        rng = random.Random()
        con = _plain(settings)
        while time.monotonic() < stop:
            [(uuid,)] = con.execute(
                "insert into app.outbox (aggregatetype, aggregateid, type, payload) values "
                "('stock', 'sku-1', 'moved', '{\"sku\": \"sku-1\", \"delta\": 1, "
                '"moved_at": "2026-03-01T10:00:00Z"}\') returning id::text'
            ).fetchall()
            time.sleep(rng.uniform(0, 0.05))  # the application's transaction stays open
            con.commit()
            with lock:
                committed[str(uuid)] = time.monotonic()
        con.close()

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for t in threads:
        t.start()
    con = _connect(settings)
    seen: dict[str, float] = {}
    while any(t.is_alive() for t in threads) or len(seen) < len(committed):
        done = relay.relay(con, contract, landing, 10_000)  # type: ignore[arg-type]
        now = time.monotonic()
        for path in done.files:
            for line in path.read_text().splitlines():
                seen.setdefault(json.loads(line)["move_id"], now)
        if not done.rows:
            time.sleep(0.01)
    con.close()
    lags = sorted(seen[k] - committed[k] for k in committed)
    assert set(seen) == set(committed), "a committed row was never relayed"
    return {
        "writers": writers,
        "seconds": seconds,
        "rows": len(committed),
        "lost": len(set(committed) - set(seen)),
        "lag_median_ms": round(statistics.median(lags) * 1000, 1),
        "lag_p99_ms": round(lags[int(len(lags) * 0.99) - 1] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--batch-rows", type=int, default=100_000)
    args = parser.parse_args()
    server = None
    if not os.environ.get("ONCEONLY_PG_HOST"):
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from postgres_server import PostgresServer

        server = PostgresServer().start()
        os.environ.update(server.fresh_database("relay_bench"))
    try:
        work = Path(tempfile.mkdtemp(prefix="onceonly-relay-bench-"))
        (work / "moves.yml").write_text(DECLARATION)
        contract = load_stream(work / "moves.yml")
        assert isinstance(contract.outbox, Outbox)
        settings = Settings.from_env(target="postgres")
        con = _connect(settings)
        relay.init(con, contract.outbox)
        con.close()
        result = {
            "throughput": throughput(settings, contract, args.rows, args.batch_rows, work),
        }
        con = _connect(settings)
        con.execute("truncate app.outbox")
        con.execute("delete from onceonly_relay.cursors")
        con.close()
        result["lag"] = lag(settings, contract, args.writers, args.seconds, work)
        print(json.dumps(result, indent=2))
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
