"""Names, paths and defaults shared by the DAGs."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from onceonly.settings import default_streams_dir

START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
TAGS = ["onceonly"]


def retry_args(retries: int = 3) -> dict[str, object]:
    """Retries with exponential backoff; the first delay from ONCEONLY_RETRY_DELAY_SECONDS
    (default 60 s; tests use a short one, as dag.test() waits out each delay)."""
    delay = float(os.environ.get("ONCEONLY_RETRY_DELAY_SECONDS", "60"))
    return {
        "retries": retries,
        "retry_delay": timedelta(seconds=delay),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
    }


def raw_asset_uri(stream: str) -> str:
    return f"onceonly://raw/{stream}_events"


def declared_streams() -> list[str]:
    """The names of the declared streams (read when a DAG file is parsed: YAML only)."""
    from onceonly.streams import load_streams

    return list(load_streams(default_streams_dir()))
