"""Typed settings with defaults, filled from environment variables (never logged).

Every path is made absolute here, once, so the CLI, dbt (which runs from its project
folder), Airflow and subprocesses all mean the same files.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from onceonly.errors import ConfigError

if TYPE_CHECKING:
    from onceonly.contract import StreamContract

TARGETS = ("duckdb", "postgres", "bigquery")
#: The repository (or installed project) root: where the shipped dbt project, streams and
#: DAGs live.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DUCKDB_PATH = Path("warehouse/onceonly.duckdb")
DEFAULT_LANDING = Path("landing")
DEFAULT_REPORTS_DIR = Path("reports")
#: DuckDB's own default is 80% of RAM: every DuckDB connection onceonly opens (and dbt's,
#: dbt_project/profiles.yml) is held to this instead, spilling to disk beyond it.
DEFAULT_DUCKDB_MEMORY_LIMIT = "3GB"

#: Setting -> environment variable.
ENV = {
    "target": "ONCEONLY_TARGET",
    "duckdb_path": "ONCEONLY_DUCKDB_PATH",
    "landing": "ONCEONLY_LANDING",
    "streams_dir": "ONCEONLY_STREAMS_DIR",
    "reports_dir": "ONCEONLY_REPORTS_DIR",
    "dbt_project_dir": "ONCEONLY_DBT_PROJECT_DIR",
}
_PATHS = ("duckdb_path", "landing", "streams_dir", "reports_dir", "dbt_project_dir")


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Environment variables set for the duration of a block, then restored."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def duckdb_memory_limit() -> str:
    return os.environ.get("ONCEONLY_DUCKDB_MEMORY_LIMIT", DEFAULT_DUCKDB_MEMORY_LIMIT)


def default_streams_dir() -> Path:
    return Path(os.environ.get(ENV["streams_dir"]) or PROJECT_ROOT / "streams").resolve()


def default_dbt_project_dir() -> Path:
    return Path(os.environ.get(ENV["dbt_project_dir"]) or PROJECT_ROOT / "dbt_project").resolve()


@dataclass(frozen=True)
class Settings:
    target: str = "duckdb"
    duckdb_path: Path = DEFAULT_DUCKDB_PATH
    landing: Path = DEFAULT_LANDING
    streams_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "streams")
    reports_dir: Path = DEFAULT_REPORTS_DIR
    dbt_project_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "dbt_project")

    def __post_init__(self) -> None:
        for name in _PATHS:
            object.__setattr__(self, name, Path(getattr(self, name)).expanduser().resolve())
        if self.target not in TARGETS:
            raise ConfigError(
                f"target {self.target!r} is not one of {', '.join(TARGETS)} "
                "(--target or ONCEONLY_TARGET)"
            )

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        values: dict[str, object] = {
            name: os.environ[var] for name, var in ENV.items() if os.environ.get(var)
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})  # type: ignore[arg-type]

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def environment(self) -> dict[str, str]:
        """The settings as the environment variables that DAG tasks, Cosmos' dbt and
        subprocesses read."""
        return {var: str(getattr(self, name)) for name, var in ENV.items()}

    def streams(self) -> dict[str, StreamContract]:
        """The declared streams, checked (a DeclarationError names file and line)."""
        from onceonly.streams import load_streams

        return load_streams(self.streams_dir)
