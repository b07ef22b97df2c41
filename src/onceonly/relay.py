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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from onceonly.contract import Outbox, StreamContract
from onceonly.errors import ConfigError, OnceOnlyError
from onceonly.settings import PostgresSettings
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

    def __init__(self, message: str, transient: bool = False, where: str = "") -> None:
        super().__init__(message)
        self.transient = transient
        #: the server that could not be reached, as the message names it
        self.where = where


def table_sql(outbox: Outbox) -> str:
    """The outbox table, quoted."""
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
        f"create table if not exists {table_sql(outbox)} (\n    {columns}\n)",
        f"create index if not exists {_index(outbox)} on {table_sql(outbox)} (txid, id)",
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
            out.append(f"alter table {table_sql(outbox)} add column {add}{found}")
    return out


def init(con: Any, outbox: Outbox) -> tuple[bool, list[str]]:
    """Create the outbox table (and the relay's state) where it does not exist, or check
    the existing one: (created, what it lacks as statements that would add it)."""
    exists = con.execute("select to_regclass(%s) is not null", [outbox.table]).fetchone()[0]
    if exists:
        lacking = missing_columns(con, outbox)
        if not lacking:
            for statement in [
                f"create index if not exists {_index(outbox)} on {table_sql(outbox)} (txid, id)",
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
    #: the longest a relayed row waited, from its insert to its file (None: no rows)
    delay_seconds: float | None = None
    #: how long the oldest row not relayed yet has waited (None: none waits)
    lag_seconds: float | None = None

    def as_log(self, at: datetime) -> dict[str, object]:
        """This pass as one line of the relay's log."""
        return {
            "at": at.isoformat(timespec="seconds"),
            "rows": self.rows,
            "files": len(self.files),
            "waiting": self.waiting,
            "held_back_seconds": self.held_back_seconds,
            "delay_seconds": self.delay_seconds,
            "lag_seconds": self.lag_seconds,
        }


def _line_sql(outbox: Outbox) -> tuple[str, list[object]]:
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
    con: Any, outbox: Outbox, cursor: tuple[str, str], limit: int
) -> list[tuple[str, str, str, datetime]]:
    """The rows past ``cursor`` the snapshot allows: (txid, id, landing line, created_at)."""
    line, params = _line_sql(outbox)
    kind = " and o.aggregatetype = %s" if outbox.aggregatetype else ""
    rows = con.execute(
        f"select o.txid::text, o.id::text, {line}, o.created_at from {table_sql(outbox)} as o "
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
    return [(str(t), str(i), str(text), created) for t, i, text, created in rows]


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


def _held_back(
    con: Any, outbox: Outbox, cursor: tuple[str, str]
) -> tuple[int, float | None, float | None]:
    """Committed rows past the cursor the relay may not read yet, the age of the oldest
    open transaction (what holds them back), and how long the oldest of them has waited."""
    kind = " and o.aggregatetype = %s" if outbox.aggregatetype else ""
    [(waiting, lag)] = con.execute(
        "select count(*), extract(epoch from now() - min(o.created_at)) "
        f"from {table_sql(outbox)} as o where (o.txid, o.id) > (%s::xid8, %s::uuid)"
        f" and o.txid >= pg_snapshot_xmin(pg_current_snapshot()){kind}",
        [*cursor, *([outbox.aggregatetype] if outbox.aggregatetype else [])],
    ).fetchall()
    [(age,)] = con.execute(
        "select extract(epoch from now() - min(xact_start)) from pg_stat_activity "
        "where backend_xid is not null and pid <> pg_backend_pid()"
    ).fetchall()
    return (
        int(waiting),
        float(age) if age is not None else None,
        float(lag) if lag is not None else None,
    )


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
    delay: float | None = None
    while True:
        rows = _read(con, outbox, cursor, limit)
        if not rows:
            break
        end = (rows[-1][0], rows[-1][1])
        data = "".join(text + "\n" for _, _, text, _ in rows).encode()
        at = now()
        oldest = (at - min(created for *_, created in rows)).total_seconds()
        delay = max(delay or 0.0, oldest)
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
    waiting, age, lag = _held_back(con, outbox, cursor)
    done = Pass(written, total, cursor, waiting, age, delay, lag)
    record_pass(landing, contract.stream, done.as_log(now()))
    return done


#: passes kept in a stream's relay log (a week of passes every five minutes)
LOG_PASSES = 2016


def log_path(landing: Path, stream: str) -> Path:
    """The relay's log of its passes for ``stream``, beside its landing files."""
    return landing / ".onceonly-relay" / stream / "passes.log"


def read_passes(landing: Path, stream: str) -> list[dict[str, Any]]:
    """The stream's relay passes, oldest first (none when it never ran here)."""
    path = log_path(landing, stream)
    if not path.is_file():
        return []
    passes = []
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut by a crash mid-append: the next pass rewrites the log
        if isinstance(entry, dict) and "at" in entry:
            passes.append(entry)
    return passes


def lag_summary(passes: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """What the report shows of a relay: its last pass, what it moved in the day before
    ``now``, how long rows waited from insert to file (median and worst pass), and what
    waits now behind an open transaction."""
    if not passes:
        return {}
    last = passes[-1]
    since = now - timedelta(days=1)
    day = [p for p in passes if datetime.fromisoformat(p["at"]) >= since]
    delays = sorted(float(p["delay_seconds"]) for p in day if p.get("delay_seconds") is not None)
    return {
        "last_pass_at": last["at"],
        "minutes_since_last_pass": round(
            (now - datetime.fromisoformat(last["at"])).total_seconds() / 60, 1
        ),
        "passes_24h": len(day),
        "rows_24h": sum(int(p["rows"]) for p in day),
        "files_24h": sum(int(p["files"]) for p in day),
        "delay_p50_seconds": delays[len(delays) // 2] if delays else None,
        "delay_max_seconds": delays[-1] if delays else None,
        "waiting": int(last["waiting"]),
        "lag_seconds": last.get("lag_seconds"),
        "held_back_seconds": last.get("held_back_seconds"),
    }


def record_pass(landing: Path, stream: str, entry: dict[str, Any]) -> None:
    """Append a pass to the stream's relay log, keeping the last LOG_PASSES."""
    path = log_path(landing, stream)
    kept = [*read_passes(landing, stream)[-(LOG_PASSES - 1) :], entry]
    text = "".join(json.dumps(e, sort_keys=True) + "\n" for e in kept)
    _durable_write(path, text.encode(), path.parent)


def prune(con: Any, contract: StreamContract, days: int) -> int:
    """Delete relayed rows older than ``days``, only below the committed cursor."""
    outbox = contract.outbox
    assert outbox is not None
    cursor = _cursor(con, contract.stream)
    kind = " and aggregatetype = %s" if outbox.aggregatetype else ""
    done = con.execute(
        f"delete from {table_sql(outbox)} where (txid, id) <= (%s::xid8, %s::uuid) "
        f"and created_at < now() - make_interval(days => %s){kind}",
        [*cursor, days, *([outbox.aggregatetype] if outbox.aggregatetype else [])],
    )
    return int(done.rowcount or 0)


def connect(settings: Any, contract: StreamContract | None = None) -> Any:
    """An autocommit connection to an outbox's database: the Airflow connection the
    stream's ``outbox: connection`` names, else ONCEONLY_OUTBOX_DSN (a libpq connection
    string), else the PostgreSQL target's server. A connection that fails is one line
    naming where, never the password."""
    import psycopg

    from onceonly.targets.postgres import connect_server

    named = contract.outbox.connection if contract and contract.outbox else None
    pg, dsn = settings.postgres, ""
    if named and contract:
        pg, where = _airflow_postgres(named, pg, contract), f"Airflow connection {named!r}"
    elif settings.outbox_dsn:
        dsn, where = settings.outbox_dsn, "ONCEONLY_OUTBOX_DSN"
    else:
        where = f"{pg.host}:{pg.port} (database {pg.database!r})"
    try:
        if dsn:
            return psycopg.connect(dsn, autocommit=True, connect_timeout=10)
        return connect_server(pg, application="onceonly-relay")
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "connection failed"
        raise RelayError(
            f"outbox PostgreSQL at {where}: {first}", transient=True, where=where
        ) from None


def _airflow_postgres(
    conn_id: str, base: PostgresSettings, contract: StreamContract
) -> PostgresSettings:
    """The outbox's server from the Airflow connection a stream's declaration names."""
    from onceonly.errors import ConfigError
    from onceonly.settings import postgres_from_airflow

    try:
        return postgres_from_airflow(
            conn_id, base, f"outbox: connection of stream {contract.stream}"
        )
    except ConfigError as exc:
        raise RelayError(str(exc)) from None
