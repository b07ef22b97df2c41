"""What a target asks of Airflow's scheduler (read when DAG files are parsed: no driver)."""

from __future__ import annotations

from onceonly.settings import Settings

#: DuckDB allows one process at a time to open its file for writing: under a scheduler,
#: every task that opens the warehouse runs in this pool of one slot (`onceonly airflow
#: start` creates it; docs/deploy.md says how elsewhere)
DUCKDB_POOL = "onceonly_duckdb"


def warehouse_pool(settings: Settings) -> str | None:
    """The Airflow pool of the tasks that open the warehouse; None: the default pool."""
    return DUCKDB_POOL if settings.target == "duckdb" else None
