"""The main job without a scheduler: land -> dbt build -> full audit, on one target."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from onceonly import reconcile
from onceonly.contract import StreamContract
from onceonly.dbt_runner import run_dbt
from onceonly.landing import LandingSummary, land
from onceonly.settings import Settings
from onceonly.targets import Warehouse, open_target


@dataclass
class RunResult:
    landing: LandingSummary
    audit: reconcile.AuditResult
    findings: dict[str, int]


def findings(warehouse: Warehouse) -> dict[str, int]:
    """Counts of what the dq models found, for summaries."""
    queries = {
        "facts (distinct events)": "select count(*) from analytics.fct_order_events",
        "orders": "select count(*) from analytics.fct_orders",
        "sequence gaps": "select count(*) from dq.sequence_gaps",
        "events lost in gaps": "select coalesce(sum(missing_count), 0) from dq.sequence_gaps",
        "conflicting events": "select count(*) from dq.event_conflicts",
        "late duplicates": "select count(*) from dq.late_duplicates",
        "files rejected": "select count(*) from dq.batch_reconciliation where status = 'rejected'",
    }
    return {name: int(str(warehouse.query(sql)[0][0] or 0)) for name, sql in queries.items()}


def run(
    settings: Settings,
    contract: StreamContract,
    landing: Path,
    start: datetime | None = None,
    end: datetime | None = None,
    repair: bool = True,
) -> RunResult:
    warehouse = open_target(settings)
    try:
        summary = land(landing, warehouse, contract, start, end)
    finally:
        warehouse.close()  # DuckDB: one writing process at a time; dbt opens its own
    run_dbt("build", settings)
    warehouse = open_target(settings)
    try:
        audited = reconcile.repair(warehouse) if repair else reconcile.audit(warehouse)
        found = findings(warehouse)
    finally:
        warehouse.close()
    return RunResult(summary, audited, found)
