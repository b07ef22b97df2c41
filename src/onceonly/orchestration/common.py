"""Names, paths and defaults shared by the DAGs."""

from __future__ import annotations

from datetime import datetime, timedelta

from onceonly.settings import Settings

TAGS = ["onceonly"]


def start_date() -> datetime:
    """Every DAG's start_date: ONCEONLY_START_DATE (default 2026-01-01T00:00Z)."""
    return Settings.from_env().start_date


def retry_args(retries: int = 3, warehouse: bool = True) -> dict[str, object]:
    """Retries with exponential backoff; the first delay from the setting
    ONCEONLY_RETRY_DELAY_SECONDS (default 60 s; tests use a short one, as dag.test() waits
    out each delay). ``warehouse``: the tasks open the warehouse, so they run in its pool
    where the target has one."""
    from onceonly.targets.scheduling import warehouse_pool

    settings = Settings.from_env()
    args: dict[str, object] = {
        "retries": retries,
        "retry_delay": timedelta(seconds=settings.retry_delay_seconds),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
    }
    pool = warehouse_pool(settings)
    if warehouse and pool is not None:  # tasks that open the warehouse share its single writer
        args["pool"] = pool
    return args


def raw_asset_uri(stream: str) -> str:
    return f"onceonly://raw/{stream}_events"


def declared_streams() -> dict[str, bool]:
    """The declared streams' names, each with whether it declares an outbox (read when a
    DAG file is parsed: YAML only)."""
    from onceonly.streams import load_streams

    return {
        name: c.outbox is not None
        for name, c in load_streams(Settings.from_env().streams_dir).items()
    }
