"""`onceonly chaos --outbox`: the outbox relay under concurrent writers, long and
aborted transactions and relay kills, held to what the writers committed.

Each run, on the PostgreSQL target's server and a scratch DuckDB warehouse:
  writers    3 threads insert 1-3 outbox rows per transaction and hold it open 0-200 ms
             (one in ten for 0.5-1.5 s), then commit, or roll back (one in ten)
  relays     `onceonly relay` processes back to back while they write; one in two is
             killed (-9): at a step of the relay (before the file is durable, before the
             cursor commit, after it) or at a random moment
  then       a last relay, landing and `dbt build`: the facts must hold every committed
             row once, and no row of a rolled-back transaction
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onceonly.settings import Settings

DECLARATION = """\
name: moves
fields:
  move_id: {{type: string, required: true}}
  sku: {{type: string, required: true}}
  delta: {{type: integer, required: true}}
  moved_at: {{type: timestamp, required: true}}
roles: {{key: move_id, event_time: moved_at}}
outbox: {{table: {table}, aggregatetype: stock, fields: {{move_id: $id}}, batch_rows: 40}}
"""
KILL_POINTS = ("relay_before_durable", "relay_before_cursor", "relay_after_cursor")


@dataclass
class OutboxRun:
    committed: int
    aborted: int
    relays: int
    kills: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    duplicated: int = 0
    aborted_in_facts: int = 0

    @property
    def exact(self) -> bool:
        return not (self.lost or self.duplicated or self.aborted_in_facts)


def _connect(settings: Settings, autocommit: bool) -> Any:
    from onceonly.targets.postgres import connect_server

    return connect_server(settings.postgres, autocommit, "onceonly-chaos")


def _writer(
    settings: Settings,
    table: str,
    rng: random.Random,
    until: float,
    committed: list[str],
    aborted: list[str],
    lock: threading.Lock,
) -> None:
    con = _connect(settings, autocommit=False)
    try:
        while time.monotonic() < until:
            ids = [
                str(
                    con.execute(
                        f"insert into {table} (aggregatetype, aggregateid, type, payload) "
                        "values ('stock', 'sku-1', 'moved', jsonb_build_object('sku', 'sku-1', "
                        "'delta', 1, 'moved_at', '2026-03-01T10:00:00Z')) returning id::text"
                    ).fetchone()[0]
                )
                for _ in range(rng.randint(1, 3))
            ]
            long = rng.random() < 0.1
            time.sleep(rng.uniform(0.5, 1.5) if long else rng.uniform(0, 0.2))
            if rng.random() < 0.1:
                con.rollback()
                with lock:
                    aborted.extend(ids)
            else:
                con.commit()
                with lock:
                    committed.extend(ids)
    finally:
        con.close()


def one_run(settings: Settings, seed: int, run: int, seconds: float = 3.0) -> OutboxRun:
    from onceonly import relay
    from onceonly.dbt_runner import dbt_build_process
    from onceonly.landing import land
    from onceonly.streams import load_stream
    from onceonly.targets import open_target

    rng = random.Random(seed * 1000 + run)
    work = Path(tempfile.mkdtemp(prefix="onceonly-outbox-chaos-"))
    schema = f"chaos_{seed}_{run}"
    table = f"{schema}.outbox"
    admin = _connect(settings, autocommit=True)
    try:
        admin.execute(f"drop schema if exists {schema} cascade")
        (work / "streams").mkdir()
        (work / "streams" / "moves.yml").write_text(DECLARATION.format(table=table))
        contract = load_stream(work / "streams" / "moves.yml")
        assert contract.outbox is not None
        relay.init(admin, contract.outbox)
        admin.execute("delete from onceonly_relay.cursors where stream = 'moves'")
        local = settings.with_(
            target="duckdb",
            duckdb_path=work / "w.duckdb",
            streams_dir=work / "streams",
            landing=work / "landing",
            dbt_project_dir=settings.dbt_project_dir,
        )
        env = {**os.environ, **local.environment(), "ONCEONLY_TARGET": "duckdb"}
        committed: list[str] = []
        aborted: list[str] = []
        lock = threading.Lock()
        until = time.monotonic() + seconds
        writers = [
            threading.Thread(
                target=_writer,
                args=(
                    settings,
                    table,
                    random.Random(rng.random()),
                    until,
                    committed,
                    aborted,
                    lock,
                ),
            )
            for _ in range(3)
        ]
        for w in writers:
            w.start()
        outcome = OutboxRun(0, 0, 0)
        command = [sys.executable, "-m", "onceonly", "relay", "--stream", "moves"]
        while any(w.is_alive() for w in writers):
            kill = rng.choice([None, "random", *KILL_POINTS])
            faults = f"kill:{kill}" if kill in KILL_POINTS else ""
            p = subprocess.Popen(
                command,
                env={**env, "ONCEONLY_FAULTS": faults},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            if kill == "random":
                time.sleep(rng.uniform(0.5, 2.5))
                if p.poll() is None:
                    p.send_signal(signal.SIGKILL)
            _, err = p.communicate(timeout=300)
            outcome.relays += 1
            if p.returncode == -signal.SIGKILL:
                outcome.kills[kill or "random"] += 1
            elif p.returncode != 0:
                raise RuntimeError(f"relay failed: {err.decode()[-500:]}")
        for w in writers:
            w.join()
        final = subprocess.run(command, env={**env, "ONCEONLY_FAULTS": ""}, capture_output=True)
        if final.returncode != 0:
            raise RuntimeError(f"the last relay failed: {final.stderr.decode()[-500:]}")
        warehouse = open_target(local)
        try:
            land(local.landing_folder, warehouse, contract)
        finally:
            warehouse.close()
        build = dbt_build_process(local, work)
        out, _ = build.communicate(timeout=600)
        if build.returncode != 0:
            raise RuntimeError(f"dbt build failed: {out.decode()[-1500:]}")
        warehouse = open_target(local)
        try:
            facts = [
                str(k) for (k,) in warehouse.query("select move_id from analytics.fct_moves_events")
            ]
        finally:
            warehouse.close()
        have = set(facts)
        outcome.committed, outcome.aborted = len(committed), len(aborted)
        outcome.lost = len(set(committed) - have)
        outcome.duplicated = len(facts) - len(have)
        outcome.aborted_in_facts = len(set(aborted) & have)
        return outcome
    finally:
        admin.execute(f"drop schema if exists {schema} cascade")
        admin.close()
        shutil.rmtree(work, ignore_errors=True)


def run_outbox_chaos(
    settings: Settings, runs: int, seed: int, on_run: object = None, first_run: int = 0
) -> list[OutboxRun]:
    outcomes = []
    for i in range(first_run, first_run + runs):
        outcomes.append(one_run(settings, seed, i))
        if callable(on_run):
            on_run(len(outcomes), outcomes[-1])
    return outcomes
