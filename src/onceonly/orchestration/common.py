"""Names, paths and defaults shared by the DAGs."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from onceonly.settings import Settings

TAGS = ["onceonly"]


def retry_args(settings: Settings, retries: int = 3, warehouse: bool = True) -> dict[str, object]:
    """Retries with exponential backoff; the first delay from the setting
    ONCEONLY_RETRY_DELAY_SECONDS (default 60 s; tests use a short one, as dag.test() waits
    out each delay). ``warehouse``: the tasks open the warehouse, so they run in its pool
    where the target has one."""
    from onceonly.targets.scheduling import warehouse_pool

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


def manifest_of(settings: Settings) -> Path:
    """dbt's manifest of the project, which the transforms select their models from."""
    manifest = settings.dbt_project_dir / "target" / "manifest.json"
    if not manifest.exists():
        raise FileNotFoundError(
            f"{manifest} is missing: run `onceonly streams generate` first (it writes the "
            "streams' models and dbt's manifest)"
        )
    return manifest


def model_tags(manifest: Path) -> frozenset[str]:
    """Every tag of a model in the manifest (read once per parse of the DAG files)."""
    nodes = json.loads(manifest.read_text())["nodes"].values()
    return frozenset(t for n in nodes if n["resource_type"] == "model" for t in n.get("tags", ()))
