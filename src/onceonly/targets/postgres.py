"""PostgreSQL 15+ (MERGE needs 15): a real server (settings.PostgresSettings)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pyarrow as pa

from onceonly.contract import StreamContract
from onceonly.errors import OnceOnlyError, RowsRefused
from onceonly.raw_tables import (
    RAW_SCHEMA,
    create_table_sql,
    raw_tables,
    raw_writes,
)
from onceonly.settings import PostgresSettings, Settings
from onceonly.sql import Dialect, Relation, Statement, ident, qualified
from onceonly.targets.csv_encoding import csv_bytes

#: Advisory locks: landing runs of a stream on one server take turns.
CONCURRENT_LANDING = True

TYPES = {
    "varchar": "text",
    "timestamp": "timestamp",
    "bigint": "bigint",
    "boolean": "boolean",
    # json, not jsonb: json keeps the text as sent (jsonb rejects \u0000 escapes)
    "json": "json",
    "decimal": "numeric{spec}",
}


#: SQLSTATE classes of a row the server refuses: data exception (22), integrity
#: constraint violation (23), program limit exceeded (54, e.g. nesting too deep).
ROW_REFUSALS = ("22", "23", "54")


class PostgresConnectionError(OnceOnlyError):
    transient = True


def _refused_by_row(exc: Exception) -> bool:
    return str(getattr(exc, "sqlstate", None) or "")[:2] in ROW_REFUSALS


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class PostgresDialect(Dialect):
    types = TYPES

    def placeholder(self) -> str:
        return "%s"

    def text(self, text: str) -> str:
        # parameters are always passed, so psycopg reads every % as a marker
        return text.replace("%", "%%")

    def hours_between(self, lo: str, hi: str, source: str) -> str:
        return f"select generate_series({lo}, {hi}, interval '1 hour') as hour from {source}"


def _lock_key(stream: str) -> str:
    return f"onceonly.land.{stream}"


class PostgresTarget:
    def __init__(self, settings: PostgresSettings, schema_prefix: str = "") -> None:
        import psycopg

        self.settings = settings
        self.dialect = PostgresDialect(schema_prefix)
        try:
            self.con = psycopg.connect(
                host=settings.host,
                port=settings.port,
                user=settings.user,
                password=settings.password or None,
                dbname=settings.database,
                connect_timeout=10,
                application_name="onceonly",
            )
        except psycopg.OperationalError as exc:
            # the driver's message names host and port, never the password
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "connection failed"
            raise PostgresConnectionError(
                f"PostgreSQL at {settings.host}:{settings.port} (database "
                f"{settings.database!r}, user {settings.user!r}): {first}"
            ) from None

    def ensure_raw_tables(self, contract: StreamContract | None) -> None:
        raw = self.dialect.schema(RAW_SCHEMA)
        with self.con.transaction():
            self.con.execute(f"create schema if not exists {ident(raw)}")
            for table, cols in raw_tables(contract):
                self.con.execute(create_table_sql(raw, table, cols, TYPES))
            if contract is None:
                return
            self.con.execute(
                f"create index if not exists {ident(contract.raw_table + '_loaded_at')} "
                f"on {qualified(raw, contract.raw_table)} (_loaded_at)"
            )

    def acquire_landing_lock(self, stream: str) -> None:
        """A session advisory lock: concurrent landing runs of a stream take turns."""
        self.con.execute("select pg_advisory_lock(hashtext(%s))", [_lock_key(stream)])
        self.con.commit()

    def write_batch(
        self,
        contract: StreamContract | None,
        events: pa.Table | None,
        quarantine: pa.Table | None,
        ledger: pa.Table,
        totals: pa.Table | None = None,
        rejected: pa.Table | None = None,
    ) -> None:
        import psycopg

        try:
            with self.con.transaction():
                for table, data in raw_writes(
                    contract, events, quarantine, ledger, totals, rejected
                ):
                    self._copy(table, data)
        except psycopg.Error as exc:
            if _refused_by_row(exc):
                raise RowsRefused(f"PostgreSQL refused a row: {_first_line(exc)}") from exc
            raise

    def _copy(self, table: str, data: pa.Table) -> None:
        names = ", ".join(ident(n) for n in data.column_names)
        relation = self.dialect.relation(Relation(RAW_SCHEMA, table))
        copy_sql = f"copy {relation} ({names}) from stdin with (format csv)"
        with self.con.cursor().copy(copy_sql) as copy:
            copy.write(csv_bytes(data, nul_as_text=True))

    def refresh_statistics(self, contract: StreamContract) -> None:
        """ANALYZE the raw table. Autovacuum analyzes a table only after a tenth of it
        changed, so an hourly batch would otherwise be planned from statistics without
        it: rows past the histogram's newest load, estimated at about none, and joins on
        them planned as nested loops that take quadratic time."""
        relation = self.dialect.relation(Relation(RAW_SCHEMA, contract.raw_table))
        self.con.execute(f"analyze {relation}")
        self.con.commit()

    def refused_rows(self, contract: StreamContract, events: pa.Table) -> dict[int, str]:
        """The rows of ``events`` the stream's raw table refuses, by index, with the
        server's reason. Found by bisection: halves are copied into the table inside
        savepoints that are always rolled back, so nothing is written."""
        import psycopg

        found: dict[int, str] = {}

        def attempt(lo: int, hi: int) -> None:
            try:
                with self.con.transaction():
                    self._copy(contract.raw_table, events.slice(lo, hi - lo))
                    raise psycopg.Rollback()
            except psycopg.Error as exc:
                if not _refused_by_row(exc):
                    raise
                if hi - lo == 1:
                    found[lo] = _first_line(exc)
                    return
                mid = (lo + hi) // 2
                attempt(lo, mid)
                attempt(mid, hi)

        if events.num_rows:
            with self.con.transaction():
                attempt(0, events.num_rows)
        return found

    def query(self, statement: Statement | str) -> list[tuple[object, ...]]:
        rows = self.con.execute(*self.dialect.render(statement)).fetchall()
        self.con.commit()
        return rows

    def exists(self, relation: Relation) -> bool:
        return bool(self.query(self.dialect.exists(relation))[0][0])

    def execute_steps(self, statements: list[Statement]) -> None:
        with self.con.transaction():
            for statement in statements:
                self.con.execute(*self.dialect.render(statement))

    def close(self) -> None:
        self.con.close()


def dialect(settings: Settings) -> Dialect:
    return PostgresDialect(settings.schema_prefix)


def open_warehouse(settings: Settings, create: bool = True) -> PostgresTarget:
    return PostgresTarget(settings.postgres, settings.schema_prefix)


def connect_server(
    settings: PostgresSettings, autocommit: bool = True, application: str = "onceonly"
) -> Any:
    """A psycopg connection to the configured server and database."""
    import psycopg

    return psycopg.connect(
        host=settings.host,
        port=settings.port,
        user=settings.user,
        password=settings.password or None,
        dbname=settings.database,
        autocommit=autocommit,
        connect_timeout=10,
        application_name=application,
    )


def _admin(settings: PostgresSettings) -> Any:
    return connect_server(settings)


def scratch(settings: Settings, name: str, copy_of: Settings | None = None) -> Settings:
    """A database ``<database>_<name>`` on the configured server: empty, or a copy of
    ``copy_of``'s (its template; nobody may be connected to it)."""
    pg = settings.postgres
    database = f"{pg.database}_{name}"
    template = f" template {ident(copy_of.postgres.database)}" if copy_of is not None else ""
    with _admin(pg) as con:
        con.execute(f"drop database if exists {ident(database)} with (force)")
        con.execute(f"create database {ident(database)}{template}")
    return settings.with_(postgres=replace(pg, database=database))


def gx_url(settings: PostgresSettings) -> str:
    """The server as SQLAlchemy's URL, built by SQLAlchemy (every part quoted) and without
    the password, which goes to the driver on its own (see gx_datasource)."""
    from sqlalchemy.engine import URL

    return URL.create(
        "postgresql+psycopg2",
        username=settings.user,
        host=settings.host,
        port=settings.port,
        database=settings.database,
    ).render_as_string()


def gx_datasource(context: Any, settings: Settings) -> Any:
    """GX's PostgreSQL datasource: the password is handed to the driver as a connect
    argument, never pasted into a URL (where an ``@`` or ``/`` would break it) nor written
    into the context, the results or the Data Docs."""
    return context.data_sources.add_postgres(
        name="warehouse",
        connection_string=gx_url(settings.postgres),
        kwargs={"connect_args": {"password": settings.postgres.password}},
    )
