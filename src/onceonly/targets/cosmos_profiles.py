"""dbt's profile under Cosmos, per target, from an Airflow connection the settings name.

Imports no database driver: the DAG files ask while a scheduler parses them. A target
without an entry (DuckDB, by path; BigQuery, for now) has dbt read
dbt_project/profiles.yml, which reads the ONCEONLY_* variables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from onceonly.settings import Settings


def _postgres(settings: Settings) -> Any | None:
    """With ONCEONLY_PG_CONN_ID: the connection through Cosmos' PostgreSQL mapping (the
    password handed to dbt in an environment variable, never written)."""
    if not settings.postgres.conn_id:
        return None
    from cosmos.profiles import PostgresUserPasswordProfileMapping

    return PostgresUserPasswordProfileMapping(
        conn_id=settings.postgres.conn_id, profile_args={"schema": "public", "threads": 2}
    )


MAPPINGS: dict[str, Callable[[Settings], Any | None]] = {"postgres": _postgres}


def profile_mapping(settings: Settings) -> Any | None:
    mapping = MAPPINGS.get(settings.target)
    return mapping(settings) if mapping is not None else None
