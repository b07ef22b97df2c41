"""DuckDB, the embedded default warehouse (one file, no server)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from onceonly.contract import StreamContract
from onceonly.raw_tables import (
    LEDGER,
    LEDGER_TABLE,
    QUARANTINE,
    QUARANTINE_TABLE,
    RAW_SCHEMA,
    Columns,
    create_table_sql,
    event_columns,
    raw_writes,
)
from onceonly.settings import Settings, duckdb_memory_limit
from onceonly.sql import ident, literal, qualified


def _ddl(schema: str, table: str, columns: Columns) -> str:
    return create_table_sql(schema, table, columns, {})


def connect(path: Path | str) -> duckdb.DuckDBPyConnection:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    configure(con)
    return con


def configure(con: duckdb.DuckDBPyConnection) -> None:
    """UTC, and the memory limit every onceonly DuckDB connection keeps to."""
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"set memory_limit = {literal(duckdb_memory_limit())}")


class DuckDBTarget:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.con = connect(self.path)

    def ensure_raw_tables(self, contract: StreamContract | None) -> None:
        self.con.execute(f"create schema if not exists {ident(RAW_SCHEMA)}")
        if contract is not None:
            self.con.execute(_ddl(RAW_SCHEMA, contract.raw_table, event_columns(contract)))
        self.con.execute(_ddl(RAW_SCHEMA, LEDGER_TABLE, LEDGER))
        self.con.execute(_ddl(RAW_SCHEMA, QUARANTINE_TABLE, QUARANTINE))

    def landed_hashes(self, stream: str) -> dict[str, str]:
        rows = self.con.execute(
            f"select sha256, min(source_file) from {qualified(RAW_SCHEMA, LEDGER_TABLE)} "
            "where stream = ? and status = 'landed' group by sha256",
            [stream],
        ).fetchall()
        return dict(rows)

    def write_batch(
        self,
        contract: StreamContract | None,
        events: pa.Table | None,
        quarantine: pa.Table | None,
        ledger: pa.Table,
    ) -> None:
        con = self.con
        con.execute("begin transaction")
        try:
            for table, data in raw_writes(contract, events, quarantine, ledger):
                if data.num_rows:
                    con.register("_incoming", data)
                    names = ", ".join(ident(n) for n in data.column_names)
                    con.execute(
                        f"insert into {qualified(RAW_SCHEMA, table)} ({names}) "
                        f"select {names} from _incoming"
                    )
                    con.unregister("_incoming")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise

    def query(self, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
        return self.con.execute(sql, params or []).fetchall()

    def execute_in_transaction(self, statements: list[tuple[str, list[object]]]) -> None:
        self.con.execute("begin transaction")
        try:
            for sql, params in statements:
                self.con.execute(sql, params)
            self.con.execute("commit")
        except BaseException:
            self.con.execute("rollback")
            raise

    def acquire_landing_lock(self, stream: str) -> None:
        """DuckDB allows one writing process per file: the file lock is the landing lock."""

    def close(self) -> None:
        self.con.close()


def release_in_process_dbt() -> None:
    """Close the DuckDB connection that dbt-duckdb keeps for the life of a process.

    When dbt ran in this process (Cosmos' dbt runner under ``dag.test()``, or
    ``onceonly.dbt_runner``), its connection stays open; DuckDB then refuses a connection
    to the same file with another configuration (as duckdb-engine's, which GX uses).
    """
    import sys

    module = sys.modules.get("dbt.adapters.duckdb.connections")
    if module is None:
        return
    manager = module.DuckDBConnectionManager
    env = getattr(manager, "_ENV", None)
    if env is not None:
        env.close()
    manager.close_all_connections()


def open_warehouse(settings: Settings) -> DuckDBTarget:
    return DuckDBTarget(settings.duckdb_path)


def dbt_env(settings: Settings) -> dict[str, str]:
    return {"ONCEONLY_DUCKDB_PATH": str(settings.duckdb_path)}


def gx_datasource(context: Any, settings: Settings) -> tuple[Any, Callable[[str], str]]:
    """GX has no DuckDB datasource: ``add_sql`` through duckdb-engine, with the persisted
    connection GX needs for SQL expectations (quality/gx_duckdb.py), after letting go of
    the connection an in-process dbt run keeps."""
    from onceonly.quality.gx_duckdb import enable_duckdb_persisted_connection

    enable_duckdb_persisted_connection()
    release_in_process_dbt()
    source = context.data_sources.add_sql(
        name="warehouse", connection_string=f"duckdb:///{settings.duckdb_path}"
    )
    return source, str
