"""Typed settings with defaults, filled from environment variables (never logged)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from onceonly.errors import ConfigError

TARGETS = ("duckdb", "postgres", "bigquery")
DEFAULT_DUCKDB_PATH = Path("warehouse/onceonly.duckdb")
DEFAULT_LANDING = Path("landing")
#: DuckDB's own default is 80% of RAM: every DuckDB connection onceonly opens (and dbt's,
#: dbt_project/profiles.yml) is held to this instead, spilling to disk beyond it.
DEFAULT_DUCKDB_MEMORY_LIMIT = "3GB"


def duckdb_memory_limit() -> str:
    return os.environ.get("ONCEONLY_DUCKDB_MEMORY_LIMIT", DEFAULT_DUCKDB_MEMORY_LIMIT)


@dataclass(frozen=True)
class Settings:
    target: str = "duckdb"
    duckdb_path: Path = DEFAULT_DUCKDB_PATH
    landing: Path = DEFAULT_LANDING
    dedup_window_days: int = 7

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "target": os.environ.get("ONCEONLY_TARGET", "duckdb"),
            "duckdb_path": Path(os.environ.get("ONCEONLY_DUCKDB_PATH", DEFAULT_DUCKDB_PATH)),
            "landing": Path(os.environ.get("ONCEONLY_LANDING", DEFAULT_LANDING)),
        }
        window = os.environ.get("ONCEONLY_DEDUP_WINDOW_DAYS")
        if window is not None:
            if not window.isdigit() or int(window) < 1:
                raise ConfigError(
                    f"ONCEONLY_DEDUP_WINDOW_DAYS={window!r}: expected a whole number of days >= 1"
                )
            values["dedup_window_days"] = int(window)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        if settings.target not in TARGETS:
            raise ConfigError(
                f"target {settings.target!r} is not one of {', '.join(TARGETS)} "
                "(--target or ONCEONLY_TARGET)"
            )
        return settings
