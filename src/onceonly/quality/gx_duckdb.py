"""GX 1.x and DuckDB: the one shim that makes GX's SQL expectations work on DuckDB.

GX keeps a single persisted connection only for the dialects in
``_PERSISTED_CONNECTION_DIALECTS`` (sqlite, mssql, bigquery, databricks). Without one,
every DuckDB expectation fails with an empty result: the temporary table GX creates for a
batch lives in a connection that is gone by the time it is queried. Adding "duckdb" to
that tuple is the whole fix. ``tests/test_quality.py`` fails loudly if a GX upgrade
renames or removes it.
"""

from __future__ import annotations


class _DialectName(str):
    """A dialect name that also answers ``.value``, as GX's enum members do."""

    @property
    def value(self) -> str:
        return str(self)


DUCKDB = _DialectName("duckdb")


def enable_duckdb_persisted_connection() -> None:
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    dialects = engine._PERSISTED_CONNECTION_DIALECTS  # noqa: SLF001 - the documented shim
    if DUCKDB not in dialects:
        engine._PERSISTED_CONNECTION_DIALECTS = (*dialects, DUCKDB)  # type: ignore[assignment]  # noqa: SLF001
