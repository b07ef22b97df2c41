"""What the dq models found, as counts for summaries and the report."""

from __future__ import annotations

from onceonly.targets import Warehouse


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
