"""`onceonly relay`: rows of a PostgreSQL outbox table into a stream's landing zone, at
least once, never skipping a transaction that commits late.

The outbox pattern: an application changes its data and inserts an event row into an
outbox table in the same transaction; a relay publishes the rows. The classic relay
polls ``where id > last_id`` (or ``created_at > last``) and skips the rows of a
transaction that took its id first and committed after a later one was read. This relay
reads only rows whose transaction is older than every transaction still running, the
snapshot's xmin::

    where (txid, id) > (cursor) and txid < pg_snapshot_xmin(pg_current_snapshot())
    order by txid, id

``txid`` is a column ``xid8 default pg_current_xact_id()``: every row of a transaction
carries its id, and no row below the xmin can appear later. A long-open transaction
holds the relay back (it waits; it never skips).

Each pass writes the rows as one landing file plus manifest, named from the cursor range
(a re-relay of the same rows writes the same name and bytes), makes the file durable
(written aside, fsync, rename, fsync of the folder), and only then advances the cursor,
which lives in the source database (``onceonly_relay.cursors``). A crash anywhere costs at
most a re-delivery, which landing and the dedup absorb.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from onceonly.contract import Outbox, StreamContract
from onceonly.errors import ConfigError, OnceOnlyError
from onceonly.sql import ident

#: the cursor before the first row
START = ("0", "00000000-0000-0000-0000-000000000000")
CURSORS = "onceonly_relay.cursors"
#: outbox columns a mapping may name with ``$``, as SQL over the outbox row
COLUMNS = {
    "$id": "to_jsonb(o.id::text)",
    "$aggregatetype": "to_jsonb(o.aggregatetype)",
    "$aggregateid": "to_jsonb(o.aggregateid)",
    "$type": "to_jsonb(o.type)",
    "$created_at": "to_jsonb(o.created_at)",
}
#: column -> (type as information_schema names it, the DDL that adds it)
REQUIRED = {
    "id": ("uuid", "id uuid primary key default gen_random_uuid()"),
    "aggregatetype": ("text", "aggregatetype text not null"),
    "aggregateid": ("text", "aggregateid text not null"),
    "type": ("text", "type text not null"),
    "payload": ("jsonb", "payload jsonb not null"),
    "created_at": ("timestamp with time zone", "created_at timestamptz not null default now()"),
    "txid": ("xid8", "txid xid8 not null default pg_current_xact_id()"),
}


class RelayError(OnceOnlyError):
    """The outbox cannot be reached or used as declared (``transient``: a retry may
    succeed, e.g. the server was unreachable)."""

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def _table(outbox: Outbox) -> str:
    schema, _, name = outbox.table.rpartition(".")
    return f"{ident(schema)}.{ident(name)}" if schema else ident(name)


def _index(outbox: Outbox) -> str:
    return ident(outbox.table.replace(".", "_") + "_txid_id")


def outbox_ddl(outbox: Outbox) -> list[str]:
    """The outbox table of the convention (Debezium's columns plus ``txid``), its index
    on (txid, id), and the relay's cursor table."""
    columns = ",\n    ".join(ddl for _, ddl in REQUIRED.values())
    schema = outbox.table.rpartition(".")[0]
    return [
        *([f"create schema if not exists {ident(schema)}"] if schema else []),
        f"create table if not exists {_table(outbox)} (\n    {columns}\n)",
        f"create index if not exists {_index(outbox)} on {_table(outbox)} (txid, id)",
        *_state_ddl(),
    ]


def _state_ddl() -> list[str]:
    return [
        "create schema if not exists onceonly_relay",
        f"create table if not exists {CURSORS} ("
        "stream text primary key, txid xid8 not null, id uuid not null, "
        "rows_relayed bigint not null default 0, files bigint not null default 0, "
        "updated_at timestamptz not null default now())",
    ]


def missing_columns(con: Any, outbox: Outbox) -> list[str]:
    """What an existing outbox table lacks, each as the statement that adds it."""
    schema, _, name = outbox.table.rpartition(".")
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = %s and table_name = %s",
        [schema or "public", name],
    ).fetchall()
    have = {str(c): str(t) for c, t in rows}
    out = []
    for column, (kind, ddl) in REQUIRED.items():
        if have.get(column) != kind:
            found = f" (it is {have[column]})" if column in have else ""
            add = ddl.replace(" primary key", "")
            out.append(f"alter table {_table(outbox)} add column {add}{found}")
    return out


def init(con: Any, outbox: Outbox) -> tuple[bool, list[str]]:
    """Create the outbox table (and the relay's state) where it does not exist, or check
    the existing one: (created, what it lacks as statements that would add it)."""
    exists = con.execute("select to_regclass(%s) is not null", [outbox.table]).fetchone()[0]
    if exists:
        lacking = missing_columns(con, outbox)
        if not lacking:
            for statement in [
                f"create index if not exists {_index(outbox)} on {_table(outbox)} (txid, id)",
                *_state_ddl(),
            ]:
                con.execute(statement)
        return False, lacking
    for statement in outbox_ddl(outbox):
        con.execute(statement)
    return True, []


@dataclass
class Pass:
    """One relay pass: what it wrote and where its cursor is now."""

    files: list[Path]
    rows: int
    cursor: tuple[str, str]
    #: rows committed but held back behind a transaction that is still open
    waiting: int
    #: age in seconds of the oldest transaction holding the relay back (None: none)
    held_back_seconds: float | None


def _line_sql(contract: StreamContract, outbox: Outbox) -> tuple[str, list[object]]:
    """The SQL expression of one landing line from an outbox row ``o``: the payload with
    the declared fields mapped in (a payload that is not an object is written as it is:
    landing quarantines it)."""
    if not outbox.fields:
        return "o.payload::text", []
    params: list[object] = []
    renamed = [src for _, src in outbox.fields if not src.startswith("$")]
    pairs = []
    for field, src in outbox.fields:
        if src.startswith("$"):
            pairs.append(f"%s::text, {COLUMNS[src]}")
            params.append(field)
        else:
            pairs.append("%s::text, o.payload -> %s::text")
            params += [field, src]
    mapped = (
        f"(o.payload - %s::text[]) || jsonb_build_object({', '.join(pairs)})"
        if pairs
        else "o.payload"
    )
    return (
        f"(case when jsonb_typeof(o.payload) = 'object' then {mapped} else o.payload end)::text",
        [renamed, *params],
    )


def _read(
    con: Any, contract: StreamContract, outbox: Outbox, cursor: tuple[str, str], limit: int
) -> list[tuple[str, str, str]]:
    line, params = _line_sql(contract, outbox)
    kind = " and o.aggregatetype = %s" if outbox.aggregatetype else ""
    rows = con.execute(
        f"select o.txid::text, o.id::text, {line} from {_table(outbox)} as o "
        "where (o.txid, o.id) > (%s::xid8, %s::uuid) "
        "and o.txid < pg_snapshot_xmin(pg_current_snapshot())"
        f"{kind} order by o.txid, o.id limit %s",
        [
            *params,
            cursor[0],
            cursor[1],
            *([outbox.aggregatetype] if outbox.aggregatetype else []),
            limit,
        ],
    ).fetchall()
    return [(str(t), str(i), str(text)) for t, i, text in rows]


def file_name(start: tuple[str, str], end: tuple[str, str]) -> str:
    """Named from the cursor range (txids zero-padded: names sort as the rows do)."""
    return f"outbox-{int(start[0]):020d}-{start[1]}-{int(end[0]):020d}-{end[1]}.jsonl"


def _durable_write(path: Path, data: bytes, scratch: Path) -> None:
    """``data`` at ``path`` whole or not at all: written beside the landing zone, flushed
    to disk, renamed into place, and the folder's entry flushed too."""
    scratch.mkdir(parents=True, exist_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = scratch / f"{path.name}.{os.getpid()}.tmp"
    with temporary.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temporary, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _cursor(con: Any, stream: str) -> tuple[str, str]:
    row = con.execute(
        f"select txid::text, id::text from {CURSORS} where stream = %s", [stream]
    ).fetchone()
    return (str(row[0]), str(row[1])) if row else START


def _held_back(con: Any, outbox: Outbox, cursor: tuple[str, str]) -> tuple[int, float | None]:
    """Rows past the cursor the relay may not read yet, and the age of the oldest open
    transaction (what holds them back)."""
    [(waiting,)] = con.execute(
        f"select count(*) from {_table(outbox)} as o where (o.txid, o.id) > (%s::xid8, %s::uuid)"
        " and o.txid >= pg_snapshot_xmin(pg_current_snapshot())",
        list(cursor),
    ).fetchall()
    [(age,)] = con.execute(
        "select extract(epoch from now() - min(xact_start)) from pg_stat_activity "
        "where backend_xid is not null and pid <> pg_backend_pid()"
    ).fetchall()
    return int(waiting), (float(age) if age is not None else None)


def relay(
    con: Any,
    contract: StreamContract,
    landing: Path,
    batch_rows: int | None = None,
    fault: Callable[[str], None] = lambda _: None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Pass:
    """Relay every row the snapshot allows, ``batch_rows`` per file, into
    ``<landing>/<stream>/dt=<day>/hour=<hour>/`` (the hour of the relay: the rows'
    arrival). ``con`` is an autocommit psycopg connection to the outbox's database.
    ``fault(point)`` is called at each step a crash test may stop at."""
    outbox = contract.outbox
    if outbox is None:
        raise ConfigError(f"stream {contract.stream} declares no outbox: nothing to relay")
    limit = batch_rows or outbox.batch_rows
    cursor = _cursor(con, contract.stream)
    written: list[Path] = []
    total = 0
    while True:
        rows = _read(con, contract, outbox, cursor, limit)
        if not rows:
            break
        end = (rows[-1][0], rows[-1][1])
        data = "".join(text + "\n" for _, _, text in rows).encode()
        at = now()
        folder = landing / contract.stream / f"dt={at:%Y-%m-%d}" / f"hour={at:%H}"
        path = folder / file_name(cursor, end)
        scratch = landing / ".onceonly-relay" / contract.stream
        fault("relay_before_durable")
        _durable_write(path, data, scratch)
        manifest = {"record_count": len(rows), "sha256": hashlib.sha256(data).hexdigest()}
        _durable_write(
            path.with_name(path.name + ".manifest.json"), json.dumps(manifest).encode(), scratch
        )
        fault("relay_before_cursor")
        con.execute(
            f"insert into {CURSORS} (stream, txid, id, rows_relayed, files) "
            "values (%s, %s::xid8, %s::uuid, %s, 1) on conflict (stream) do update set "
            "txid = excluded.txid, id = excluded.id, "
            f"rows_relayed = {CURSORS}.rows_relayed + excluded.rows_relayed, "
            f"files = {CURSORS}.files + 1, updated_at = now()",
            [contract.stream, end[0], end[1], len(rows)],
        )
        fault("relay_after_cursor")
        cursor = end
        written.append(path)
        total += len(rows)
        if len(rows) < limit:
            break
    waiting, age = _held_back(con, outbox, cursor)
    return Pass(written, total, cursor, waiting, age)


def prune(con: Any, contract: StreamContract, days: int) -> int:
    """Delete relayed rows older than ``days``, only below the committed cursor."""
    outbox = contract.outbox
    assert outbox is not None
    cursor = _cursor(con, contract.stream)
    kind = " and aggregatetype = %s" if outbox.aggregatetype else ""
    done = con.execute(
        f"delete from {_table(outbox)} where (txid, id) <= (%s::xid8, %s::uuid) "
        f"and created_at < now() - make_interval(days => %s){kind}",
        [*cursor, days, *([outbox.aggregatetype] if outbox.aggregatetype else [])],
    )
    return int(done.rowcount or 0)


def connect(settings: Any) -> Any:
    """An autocommit connection to the outbox's database: ONCEONLY_OUTBOX_DSN (a libpq
    connection string), else the PostgreSQL target's settings. A connection that fails
    is one line naming where, never the password."""
    import psycopg

    from onceonly.targets.postgres import connect_server

    dsn = settings.outbox_dsn
    pg = settings.postgres
    try:
        if dsn:
            return psycopg.connect(dsn, autocommit=True, connect_timeout=10)
        return connect_server(pg, application="onceonly-relay")
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "connection failed"
        where = "ONCEONLY_OUTBOX_DSN" if dsn else f"{pg.host}:{pg.port} (database {pg.database!r})"
        raise RelayError(f"outbox PostgreSQL at {where}: {first}", transient=True) from None
