"""The demo's stock application: the article's outbox pattern, end to end.

A warehouse management system changes its stock table and inserts the movement's event
into its outbox table in one transaction, from several writers at once; some
transactions stay open a while, so later ones commit first. The relay runs meanwhile,
as its DAG would, and moves the committed rows into the ``inventory`` stream's landing
zone. What it relayed becomes planned deliveries of the generator, so the truth holds
these events too; and the application's own stock table is what ``fct_stock_levels``
must compute for its warehouse.

Everything lives in one schema the demo owns (marked by a comment): it is dropped and
created again on each demo, and a schema of that name not made by the demo is never
touched.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from onceonly import relay
from onceonly.contract import StreamContract
from onceonly.errors import ConfigError
from onceonly.generate.deliveries import GenFile, Line
from onceonly.generate.inventory import Movement, to_json
from onceonly.generate.model import uuid
from onceonly.sql import Param, ident, sql

WAREHOUSE = "madrid"
SOURCE = f"wms-{WAREHOUSE}"
MARK = "onceonly demo stock application: dropped and created again by each demo"
SKUS = tuple(f"sku-{i:03d}" for i in range(12))
UNSET = datetime(1970, 1, 1)  # a movement's time until it is written


@dataclass
class AppRun:
    """What the application committed and the relay delivered."""

    movements: list[Movement]
    files: list[GenFile]  # the relayed files, as planned deliveries for the truth
    stock: dict[tuple[str, str], int]  # the application's stock table afterwards
    passes: int  # relay passes while the writers ran, and the last one
    held_back: int  # passes that left committed rows waiting behind an open transaction


def _schema(contract: StreamContract) -> str:
    assert contract.outbox is not None
    schema = contract.outbox.table.rpartition(".")[0]
    if not schema:
        raise ConfigError(
            f"the demo's stock application needs {contract.stream}'s outbox table in a schema "
            f"of its own (outbox: table: <schema>.<table>), not {contract.outbox.table!r}"
        )
    return schema


def reset(con: Any, contract: StreamContract) -> None:
    """A fresh application schema (outbox, stock table) and relay cursor."""
    assert contract.outbox is not None
    schema = _schema(contract)
    [(exists, comment)] = con.execute(
        "select to_regnamespace(%s) is not null, "
        "(select obj_description(oid, 'pg_namespace') from pg_namespace where nspname = %s)",
        [schema, schema],
    ).fetchall()
    if exists and comment != MARK:
        raise ConfigError(
            f"schema {schema!r} exists and was not made by the demo: the stock application "
            "drops its schema, so point ONCEONLY_OUTBOX_DSN at another database"
        )
    con.execute(f"drop schema if exists {ident(schema)} cascade")
    con.execute(f"create schema {ident(schema)}")
    con.execute(f"comment on schema {ident(schema)} is '{MARK}'")
    relay.init(con, contract.outbox)
    con.execute(f"delete from {relay.CURSORS} where stream = %s", [contract.stream])
    con.execute(
        f"create table {ident(schema)}.stock (sku text, warehouse_id text, on_hand bigint "
        "not null, primary key (sku, warehouse_id))"
    )


def _drafts(rng: random.Random, n: int) -> list[Movement]:
    """``n`` movements of the application's warehouse, numbered 1..n (times set when
    each is written)."""
    out = []
    for seq in range(1, n + 1):
        sku = SKUS[rng.randrange(len(SKUS))]
        r = rng.random()
        if r < 0.3:
            reason, delta = "received", rng.randint(10, 50)
        elif r < 0.85:
            reason, delta = "sold", -rng.randint(1, 5)
        elif r < 0.93:
            reason, delta = "returned", rng.randint(1, 2)
        else:
            reason, delta = "adjusted", rng.choice((-2, -1, 1, 2))
        cost = Decimal(rng.randrange(100, 5000)) / 100 if reason == "received" else None
        out.append(Movement(uuid(rng), reason, sku, WAREHOUSE, delta, UNSET, SOURCE, seq, cost))
    return out


def _write(
    connect: Any,
    contract: StreamContract,
    work: list[Movement],
    lock: threading.Lock,
    done: list[Movement],
    seed: str,
    slow_every: int,
) -> None:
    """One writer: each movement is a transaction changing the stock and inserting the
    outbox row; every ``slow_every``-th stays open a while before it commits."""
    assert contract.outbox is not None
    schema = ident(_schema(contract))
    table = relay.table_sql(contract.outbox)
    rng = random.Random(seed)
    with connect() as con:
        con.autocommit = False
        while True:
            with lock:
                if not work:
                    return
                m = work.pop(0)
            now = datetime.now(UTC).replace(tzinfo=None)
            m = replace(m, moved_at=now.replace(microsecond=now.microsecond // 1000 * 1000))
            payload = to_json(m, rng)
            del payload[contract.key]  # the outbox row's id is the movement's id
            con.execute(
                f"insert into {schema}.stock values (%s, %s, %s) on conflict (sku, warehouse_id)"
                " do update set on_hand = stock.on_hand + excluded.on_hand",
                [m.sku, m.warehouse_id, m.quantity_delta],
            )
            if m.source_seq % slow_every == 0:
                time.sleep(0.3)  # a long transaction: later ones commit first
            con.execute(
                f"insert into {table} (id, aggregatetype, aggregateid, type, payload) "
                "values (%s, %s, %s, %s, %s::jsonb)",
                [
                    m.movement_id,
                    contract.outbox.aggregatetype or contract.stream,
                    m.sku,
                    m.reason,
                    orjson.dumps(payload).decode(),
                ],
            )
            con.commit()
            with lock:
                done.append(m)


def _as_delivery(path: Path, by_id: dict[str, Movement], key: str) -> GenFile:
    """A relayed file as the generator's planned delivery of its movements."""
    day, hour = path.parent.parent.name, path.parent.name
    arrived = datetime.strptime(f"{day[3:]} {hour[5:]}", "%Y-%m-%d %H")
    lines = [Line(text, by_id[orjson.loads(text)[key]]) for text in path.read_bytes().splitlines()]
    return GenFile(arrived, path.name, lines)


def run_app(
    connect: Any,
    contract: StreamContract,
    landing: Path,
    movements: int = 600,
    writers: int = 4,
    seed: int = 42,
) -> AppRun:
    """Reset the application, write ``movements`` with ``writers`` concurrent writers
    while relaying every 0.2 s, then relay what is left. ``connect()`` opens a
    connection to the outbox's database."""
    # a seed of its own: the generator's streams draw their keys from Random(seed)
    rng = random.Random(f"stock application {seed}")
    work = _drafts(rng, movements)
    control = connect()
    try:
        reset(control, contract)
        lock = threading.Lock()
        done: list[Movement] = []
        threads = [
            threading.Thread(
                target=_write,
                args=(connect, contract, work, lock, done, f"writer {i} {seed}", 25),
                daemon=True,
            )
            for i in range(writers)
        ]
        for t in threads:
            t.start()
        passes, held_back = 0, 0
        files: list[Path] = []
        while any(t.is_alive() for t in threads):
            time.sleep(0.2)
            p = relay.relay(control, contract, landing)
            passes, held_back, files = passes + 1, held_back + (p.waiting > 0), files + p.files
        for t in threads:
            t.join()
        files += relay.relay(control, contract, landing).files
        schema = ident(_schema(contract))
        stock = {
            (str(s), str(w)): int(n)
            for s, w, n in control.execute(
                f"select sku, warehouse_id, on_hand from {schema}.stock"
            ).fetchall()
        }
    finally:
        control.close()
    if len(done) != movements:
        raise ConfigError(f"the stock application committed {len(done)} of {movements} movements")
    by_id = {m.movement_id: m for m in done}
    deliveries = [_as_delivery(p, by_id, contract.key) for p in files]
    return AppRun(done, deliveries, stock, passes + 1, held_back)


def stock_in_mart(warehouse: Any) -> dict[tuple[str, str], int]:
    """The application warehouse's stock levels as the facts computed them."""
    rows = warehouse.query(
        sql(
            "select sku, warehouse_id, stock from analytics.fct_stock_levels "
            "where warehouse_id = {w}",
            w=Param(WAREHOUSE),
        )
    )
    return {(str(s), str(w)): int(n) for s, w, n in rows}  # type: ignore[call-overload]
