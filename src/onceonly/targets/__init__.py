"""Warehouse targets: where landed rows are written. One module per engine."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol

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


_MODULES = {
    "duckdb": "onceonly.targets.duckdb",
    "postgres": "onceonly.targets.postgres",
    "bigquery": "onceonly.targets.bigquery",
}


def _engine(settings: Settings) -> Any:
    """The module of the configured target: the only place a target's name is looked at.
    Each module has ``open_warehouse(settings)``, ``dbt_env(settings)`` and
    ``gx_datasource(context, settings)``."""
    name = _MODULES.get(settings.target)
    if name is None:
        raise ConfigError(f"target {settings.target!r} is not one of {', '.join(_MODULES)}")
    return importlib.import_module(name)


def open_target(settings: Settings) -> Warehouse:
    """Connect to the configured target."""
    warehouse: Warehouse = _engine(settings).open_warehouse(settings)
    return warehouse


def dbt_env(settings: Settings) -> dict[str, str]:
    """What the committed profiles.yml reads for this target, beside ONCEONLY_TARGET."""
    env: dict[str, str] = _engine(settings).dbt_env(settings)
    return {"ONCEONLY_TARGET": settings.target, **env}


def gx_datasource(context: Any, settings: Settings) -> tuple[Any, Callable[[str], str]]:
    """The warehouse as a Great Expectations datasource, and the rewrite onceonly's SQL
    needs there (dataset prefixes on BigQuery)."""
    source, rewrite = _engine(settings).gx_datasource(context, settings)
    return source, rewrite
