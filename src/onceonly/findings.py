"""What a stream's dq models found, as counts for summaries and the report."""

from __future__ import annotations

from onceonly.contract import StreamContract
from onceonly.sql import literal
from onceonly.targets import Warehouse


def findings(warehouse: Warehouse, contract: StreamContract) -> dict[str, int]:
    """Counts of what the dq models of one stream found, for summaries."""
    r = contract.relations
    queries = {"facts (distinct events)": f"select count(*) from {r.facts}"}
    if contract.producer is not None:
        queries["sequence gaps"] = f"select count(*) from {r.sequence_gaps}"
        queries["events lost in gaps"] = (
            f"select coalesce(sum(missing_count), 0) from {r.sequence_gaps}"
        )
    queries.update(
        {
            "conflicting events": f"select count(*) from {r.event_conflicts}",
            "late duplicates": f"select count(*) from {r.late_duplicates}",
            "files rejected": f"select count(*) from {r.batch_reconciliation} "
            "where status = 'rejected'",
            "lines quarantined": "select count(*) from raw.quarantine "
            f"where stream = {literal(contract.stream)}",
        }
    )
    return {name: int(str(warehouse.query(sql)[0][0] or 0)) for name, sql in queries.items()}
