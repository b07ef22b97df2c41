"""Names, paths and defaults shared by the DAGs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from onceonly.settings import Settings

START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
TAGS = ["onceonly"]


def retry_args(retries: int = 3) -> dict[str, object]:
    """Retries with exponential backoff; the first delay from the setting
    ONCEONLY_RETRY_DELAY_SECONDS (default 60 s; tests use a short one, as dag.test() waits
    out each delay)."""
    return {
        "retries": retries,
        "retry_delay": timedelta(seconds=Settings.from_env().retry_delay_seconds),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
    }


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
