"""PostgreSQL 15+ (MERGE needs 15): a real server, settings from environment variables."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from onceonly.contract import StreamContract
from onceonly.errors import ConfigError, OnceOnlyError
from onceonly.raw_tables import LEDGER_TABLE, RAW_SCHEMA, create_table_sql, raw_tables, raw_writes
from onceonly.settings import Settings
from onceonly.sql import ident, qualified
from onceonly.targets.csv_encoding import csv_bytes

TYPES = {
    "varchar": "text",
    "timestamp": "timestamp",
    "bigint": "bigint",
    "boolean": "boolean",
    # json, not jsonb: json keeps the text as sent (jsonb rejects \u0000 escapes)
    "json": "json",
    "decimal": "numeric{spec}",
}


class PostgresConnectionError(OnceOnlyError):
    transient = True


@dataclass(frozen=True)
class PostgresSettings:
    host: str
    port: int
    user: str
    password: str  # never printed: see __repr__
    database: str

    def __repr__(self) -> str:
        return (
            f"PostgresSettings(host={self.host!r}, port={self.port}, user={self.user!r}, "
            f"database={self.database!r}, password=***)"
        )

    @classmethod
    def from_env(cls) -> PostgresSettings:
        port = os.environ.get("ONCEONLY_PG_PORT", "5432")
        if not port.isdigit():
            raise ConfigError(f"ONCEONLY_PG_PORT={port!r}: expected a port number")
        return cls(
            host=os.environ.get("ONCEONLY_PG_HOST", "127.0.0.1"),
            port=int(port),
            user=os.environ.get("ONCEONLY_PG_USER", "onceonly"),
            password=os.environ.get("ONCEONLY_PG_PASSWORD", ""),
            database=os.environ.get("ONCEONLY_PG_DATABASE", "onceonly"),
        )


def _placeholders(sql: str, params: list[object] | None) -> str:
    """The other targets' ``?`` parameters as psycopg's ``%s``."""
    return sql.replace("?", "%s") if params else sql


def _lock_key(stream: str) -> str:
    return f"onceonly.land.{stream}"


class PostgresTarget:
    def __init__(self, settings: PostgresSettings) -> None:
        import psycopg

        self.settings = settings
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

    @classmethod
    def from_env(cls) -> PostgresTarget:
        return cls(PostgresSettings.from_env())

    def ensure_raw_tables(self, contract: StreamContract | None) -> None:
        with self.con.transaction():
            self.con.execute(f"create schema if not exists {ident(RAW_SCHEMA)}")
            for table, cols in raw_tables(contract):
                self.con.execute(create_table_sql(RAW_SCHEMA, table, cols, TYPES))
            if contract is None:
                return
            self.con.execute(
                f"create index if not exists {ident(contract.raw_table + '_loaded_at')} "
                f"on {qualified(RAW_SCHEMA, contract.raw_table)} (_loaded_at)"
            )

    def acquire_landing_lock(self, stream: str) -> None:
        """A session advisory lock: concurrent landing runs of a stream take turns."""
        self.con.execute("select pg_advisory_lock(hashtext(%s))", [_lock_key(stream)])
        self.con.commit()

    def landed_hashes(self, stream: str) -> dict[str, str]:
        rows = self.con.execute(
            f"select sha256, min(source_file) from {qualified(RAW_SCHEMA, LEDGER_TABLE)} "
            "where stream = %s and status = 'landed' group by sha256",
            [stream],
        ).fetchall()
        self.con.commit()
        return dict(rows)

    def write_batch(
        self,
        contract: StreamContract | None,
        events: pa.Table | None,
        quarantine: pa.Table | None,
        ledger: pa.Table,
    ) -> None:
        with self.con.transaction():
            for table, data in raw_writes(contract, events, quarantine, ledger):
                names = ", ".join(ident(n) for n in data.column_names)
                copy_sql = (
                    f"copy {qualified(RAW_SCHEMA, table)} ({names}) from stdin with (format csv)"
                )
                with self.con.cursor().copy(copy_sql) as copy:
                    copy.write(csv_bytes(data, nul_as_text=True))

    def query(self, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
        rows = self.con.execute(_placeholders(sql, params), params or None).fetchall()
        self.con.commit()
        return rows

    def execute_in_transaction(self, statements: list[tuple[str, list[object]]]) -> None:
        with self.con.transaction():
            for sql, params in statements:
                self.con.execute(_placeholders(sql, params), params or None)

    def close(self) -> None:
        self.con.close()


def open_warehouse(settings: Settings) -> PostgresTarget:
    return PostgresTarget.from_env()


def dbt_env(settings: Settings) -> dict[str, str]:
    return {}  # profiles.yml reads the ONCEONLY_PG_* variables itself


def gx_datasource(context: Any, settings: Settings) -> tuple[Any, Callable[[str], str]]:
    # GX substitutes ${VAR} from the environment when it connects: the password is never
    # written into the context, the results or the Data Docs
    source = context.data_sources.add_postgres(
        name="warehouse",
        connection_string=(
            "postgresql+psycopg2://${ONCEONLY_PG_USER}:${ONCEONLY_PG_PASSWORD}"
            "@${ONCEONLY_PG_HOST}:${ONCEONLY_PG_PORT}/${ONCEONLY_PG_DATABASE}"
        ),
    )
    return source, str
