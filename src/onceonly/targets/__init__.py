"""Warehouse targets: where landed rows are written. One module per engine."""

from __future__ import annotations

from typing import Protocol

import pyarrow as pa

from onceonly.contract import StreamContract
from onceonly.errors import ConfigError
from onceonly.settings import Settings


class RawWriter(Protocol):
    """What the landing step needs from a warehouse."""

    def ensure_raw_tables(self, contract: StreamContract | None) -> None:
        """The stream's raw table, the ledger and the quarantine (just the last two
        without a stream)."""
        ...

    def acquire_landing_lock(self, stream: str) -> None:
        """Serialise landing runs of a stream; held until close()."""
        ...

    def landed_hashes(self, stream: str) -> dict[str, str]:
        """sha256 -> source_file of every file content already landed for the stream."""
        ...

    def write_batch(
        self,
        contract: StreamContract | None,
        events: pa.Table | None,
        quarantine: pa.Table | None,
        ledger: pa.Table,
    ) -> None:
        """Append all of them in one transaction: all of it lands or none of it (only the
        ledger, and the quarantine, without a stream)."""
        ...

    def close(self) -> None: ...


class Warehouse(RawWriter, Protocol):
    """A target the checks, the audit and the report read from."""

    def query(self, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]: ...

    def execute_in_transaction(self, statements: list[tuple[str, list[object]]]) -> None: ...


def open_target(settings: Settings) -> Warehouse:
    """Connect to the configured target."""
    if settings.target == "duckdb":
        from onceonly.targets.duckdb import DuckDBTarget

        return DuckDBTarget(settings.duckdb_path)
    if settings.target == "postgres":
        from onceonly.targets.postgres import PostgresTarget

        return PostgresTarget.from_env()
    if settings.target == "bigquery":
        from onceonly.targets.bigquery import BigQueryTarget

        return BigQueryTarget.from_env()
    raise ConfigError(f"target {settings.target!r} is not one of duckdb, postgres, bigquery")
