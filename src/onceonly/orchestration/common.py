"""Names, paths and defaults shared by the DAGs."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DBT_PROJECT = Path(os.environ.get("ONCEONLY_DBT_PROJECT_DIR", REPO / "dbt_project"))
MANIFEST = DBT_PROJECT / "target" / "manifest.json"
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
