"""DuckDB, the embedded default warehouse (one file, no server)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from onceonly.contract import StreamContract
from onceonly.errors import WarehouseError
from onceonly.raw_tables import (
    RAW_SCHEMA,
    create_table_sql,
    raw_tables,
    raw_writes,
)
from onceonly.settings import DEFAULT_DUCKDB_MEMORY_LIMIT, Settings
from onceonly.sql import Dialect, Relation, Statement, ident, literal

#: One process writes a DuckDB file at a time: no two landing runs at once.
CONCURRENT_LANDING = False


def connect(
    path: Path | str, memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT, create: bool = True
) -> duckdb.DuckDBPyConnection:
    """A connection to the DuckDB file (created unless ``create`` is false); what stops
    it (another process holds it, a folder or another kind of file there) is a one-line
    WarehouseError naming the file."""
    path = Path(path)
    if not create and not path.exists():
        raise WarehouseError(
            f"no DuckDB warehouse at {path}: land or run first, or pass --duckdb-path"
        )
    if path.is_dir():
        raise WarehouseError(f"DuckDB warehouse {path} is a folder, not a database file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path))
    except (duckdb.Error, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "lock" in first.lower():
            raise WarehouseError(
                f"DuckDB warehouse {path} is in use by another process (DuckDB allows one "
                "writer): wait for it to finish, or use PostgreSQL for concurrent runs",
                transient=True,
            ) from None
        raise WarehouseError(f"DuckDB warehouse {path} cannot be opened: {first}") from None
    configure(con, memory_limit)
    return con


def configure(
    con: duckdb.DuckDBPyConnection, memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
) -> None:
    """UTC, and the memory limit every onceonly DuckDB connection keeps to."""
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"set memory_limit = {literal(memory_limit)}")


class DuckDBTarget:
    def __init__(
        self,
        path: Path | str,
        memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT,
        schema_prefix: str = "",
        create: bool = True,
    ) -> None:
        self.path = Path(path)
        self.dialect = Dialect(schema_prefix)
        self.con = connect(self.path, memory_limit, create)

    def ensure_raw_tables(self, contract: StreamContract | None) -> None:
        raw = self.dialect.schema(RAW_SCHEMA)
        self.con.execute(f"create schema if not exists {ident(raw)}")
        for table, columns in raw_tables(contract):
            self.con.execute(create_table_sql(raw, table, columns, {}))

    def write_batch(
        self,
        contract: StreamContract | None,
        events: pa.Table | None,
        quarantine: pa.Table | None,
        ledger: pa.Table,
        totals: pa.Table | None = None,
        rejected: pa.Table | None = None,
    ) -> None:
        con = self.con
        con.execute("begin transaction")
        try:
            for table, data in raw_writes(contract, events, quarantine, ledger, totals, rejected):
                if data.num_rows:
                    con.register("_incoming", data)
                    names = ", ".join(ident(n) for n in data.column_names)
                    con.execute(
                        f"insert into {self.dialect.relation(Relation(RAW_SCHEMA, table))} "
                        f"({names}) "
                        f"select {names} from _incoming"
                    )
                    con.unregister("_incoming")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise

    def refused_rows(self, contract: StreamContract, events: pa.Table) -> dict[int, str]:
        """None: landing validates with DuckDB's own casts, so every row it accepts
        fits the raw table."""
        return {}

    def query(self, statement: Statement | str) -> list[tuple[object, ...]]:
        return self.con.execute(*self.dialect.render(statement)).fetchall()

    def exists(self, relation: Relation) -> bool:
        return bool(self.query(self.dialect.exists(relation))[0][0])

    def execute_steps(self, statements: list[Statement]) -> None:
        self.con.execute("begin transaction")
        try:
            for statement in statements:
                self.con.execute(*self.dialect.render(statement))
            self.con.execute("commit")
        except BaseException:
            self.con.execute("rollback")
            raise

    def refresh_statistics(self, contract: StreamContract) -> None:
        """Nothing to do: DuckDB keeps its statistics as it writes."""

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


def dialect(settings: Settings) -> Dialect:
    return Dialect(settings.schema_prefix)


def open_warehouse(settings: Settings, create: bool = True) -> DuckDBTarget:
    return DuckDBTarget(
        settings.duckdb_path, settings.duckdb_memory_limit, settings.schema_prefix, create
    )


def scratch(settings: Settings, name: str, copy_of: Settings | None = None) -> Settings:
    """A file ``<name>.duckdb`` beside the configured one: empty, or a copy (with its
    write-ahead log)."""
    path = settings.duckdb_path.with_name(f"{name}.duckdb")
    for stale in (path, Path(f"{path}.wal")):
        stale.unlink(missing_ok=True)
    if copy_of is not None:
        shutil.copy(copy_of.duckdb_path, path)
        wal = Path(f"{copy_of.duckdb_path}.wal")
        if wal.exists():
            shutil.copy(wal, f"{path}.wal")
    return settings.with_(duckdb_path=path)


def gx_datasource(context: Any, settings: Settings) -> Any:
    """GX has no DuckDB datasource: ``add_sql`` through duckdb-engine, with the persisted
    connection GX needs for SQL expectations (quality/gx_duckdb.py), after letting go of
    the connection an in-process dbt run keeps."""
    from onceonly.quality.gx_duckdb import enable_duckdb_persisted_connection

    enable_duckdb_persisted_connection()
    release_in_process_dbt()
    return context.data_sources.add_sql(
        name="warehouse", connection_string=f"duckdb:///{settings.duckdb_path}"
    )
