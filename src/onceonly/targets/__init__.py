"""Warehouse targets: where landed rows are written. One module per engine."""

from __future__ import annotations

import importlib
from typing import Any, Protocol

import pyarrow as pa

from onceonly.contract import StreamContract
from onceonly.errors import ConfigError
from onceonly.settings import Settings
from onceonly.sql import Dialect, Relation, Statement


class RawWriter(Protocol):
    """What the landing step needs from a warehouse."""

    def ensure_raw_tables(self, contract: StreamContract | None) -> None:
        """The stream's raw table and the tables every stream shares (only those without
        a stream): see raw_tables.raw_tables."""
        ...

    def acquire_landing_lock(self, stream: str) -> None:
        """Serialise landing runs of a stream; held until close()."""
        ...

    def write_batch(
        self,
        contract: StreamContract | None,
        events: pa.Table | None,
        quarantine: pa.Table | None,
        ledger: pa.Table,
        totals: pa.Table | None = None,
        rejected: pa.Table | None = None,
    ) -> None:
        """Append all of them in one transaction: all of it lands or none of it (only the
        ledger, and the quarantine, without a stream). ``totals``: the control totals the
        landed files' manifests declare; ``rejected``: the sequence runs of the files
        rejected whole. Rows the target refuses although
        validation accepted them raise RowsRefused."""
        ...

    def refused_rows(self, contract: StreamContract, events: pa.Table) -> dict[int, str]:
        """Which rows of ``events`` the stream's raw table refuses (index -> reason),
        writing nothing."""
        ...

    def refresh_statistics(self, contract: StreamContract) -> None:
        """Let the warehouse's query planner see the rows just landed in the stream's raw
        table (where it plans from sampled statistics)."""
        ...

    def close(self) -> None: ...


class Warehouse(RawWriter, Protocol):
    """A target the checks, the audit and the report read from. Callers write
    Statements; the target's dialect names the relations and binds the parameters."""

    dialect: Dialect

    def query(self, statement: Statement | str) -> list[tuple[object, ...]]: ...

    def exists(self, relation: Relation) -> bool:
        """Whether the table or view exists (yet)."""
        ...

    def execute_steps(self, statements: list[Statement]) -> None:
        """Run the statements in order: in one transaction where the engine has them
        (DuckDB, PostgreSQL); one after the other on BigQuery, so callers write
        sequences that are safe to rerun from any step."""
        ...


_MODULES = {
    "duckdb": "onceonly.targets.duckdb",
    "postgres": "onceonly.targets.postgres",
    "bigquery": "onceonly.targets.bigquery",
}


def _engine(settings: Settings) -> Any:
    """The module of the configured target: the only place a target's name is looked at.
    Each module has ``open_warehouse``, ``dialect``, ``scratch`` and ``gx_datasource``
    (each taking the settings) and ``CONCURRENT_LANDING``."""
    name = _MODULES.get(settings.target)
    if name is None:
        raise ConfigError(f"target {settings.target!r} is not one of {', '.join(_MODULES)}")
    return importlib.import_module(name)


def open_target(settings: Settings, create: bool = True) -> Warehouse:
    """Connect to the configured target; with ``create`` false, a warehouse that does not
    exist yet (an embedded file) is an error instead of an empty new one."""
    warehouse: Warehouse = _engine(settings).open_warehouse(settings, create)
    return warehouse


def missing(warehouse: Warehouse, relations: list[Relation]) -> list[Relation]:
    """The relations that do not exist in the warehouse (yet)."""
    return [r for r in relations if not warehouse.exists(r)]


def dialect(settings: Settings) -> Dialect:
    """How the configured target writes SQL (without connecting)."""
    out: Dialect = _engine(settings).dialect(settings)
    return out


def scratch(settings: Settings, name: str, copy_of: Settings | None = None) -> Settings:
    """Settings of a warehouse named ``name`` of the configured kind beside the configured
    one (a DuckDB file, a PostgreSQL database, prefixed BigQuery datasets), empty or a copy
    of ``copy_of``'s: for chaos runs and benchmarks. Whatever had that name is dropped."""
    out: Settings = _engine(settings).scratch(settings, name, copy_of)
    return out


def supports_concurrent_landing(settings: Settings) -> bool:
    """Whether two landing runs of a stream may run at once (they then take turns)."""
    return bool(_engine(settings).CONCURRENT_LANDING)


def gx_datasource(context: Any, settings: Settings) -> Any:
    """The warehouse as a Great Expectations datasource."""
    return _engine(settings).gx_datasource(context, settings)


def cosmos_profile_mapping(settings: Settings) -> Any | None:
    """Cosmos' profile mapping from the Airflow connection the settings name for the
    target, or None where dbt reads its profile from dbt_project/profiles.yml. (Not from
    the engine modules: the DAG files ask while they are parsed, and a scheduler's parse
    must import no database driver.)"""
    from onceonly.targets.cosmos_profiles import profile_mapping

    return profile_mapping(settings)
