"""The full audit: duplicates in the facts that slipped past the windowed MERGE.

A copy of an event older than the dedup window is not compared by the incremental MERGE
and can land in ``analytics.fct_order_events`` a second time. The audit scans the whole
table for event_ids held more than once; the repair keeps the first landed copy (the same
tie-break as the models), deletes the others and records each removal in
``dq.audit_repairs``. Repairing twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from onceonly.targets import Warehouse

FACTS = "analytics.fct_order_events"
REPAIRS = "dq.audit_repairs"

_RANKED = f"""
    select event_id, _source_file, _line_number, _loaded_at,
        row_number() over (
            partition by event_id order by _loaded_at, _source_file, _line_number
        ) as copy_rank,
        count(*) over (partition by event_id) as copies
    from {FACTS}
"""


@dataclass
class AuditResult:
    duplicated_events: int  # event_ids held more than once
    extra_rows: int  # rows beyond the first copy
    removed: int = 0  # rows deleted by the repair

    @property
    def exact(self) -> bool:
        return self.extra_rows == 0


def audit(warehouse: Warehouse) -> AuditResult:
    [(events, extra)] = warehouse.query(
        f"select count(distinct event_id), count(*) from ({_RANKED}) as r where copy_rank > 1"
    )
    return AuditResult(int(str(events or 0)), int(str(extra or 0)))


def repair(warehouse: Warehouse) -> AuditResult:
    """Delete every copy but the first of each duplicated event_id, recording each."""
    found = audit(warehouse)
    if found.exact:
        return found
    repaired_at = datetime.now(UTC).replace(tzinfo=None)
    extra = (
        "select event_id, _source_file, _line_number, _loaded_at "
        f"from ({_RANKED}) as r where copy_rank > 1"
    )
    warehouse.execute_in_transaction(
        [
            (
                f"create table if not exists {REPAIRS} (event_id varchar, removed_source_file "
                "varchar, removed_line_number bigint, removed_loaded_at timestamp, "
                "repaired_at timestamp)",
                [],
            ),
            (
                f"insert into {REPAIRS} select event_id, _source_file, _line_number, "
                f"_loaded_at, cast(? as timestamp) from ({extra}) as e",
                [repaired_at],
            ),
            (
                f"delete from {FACTS} where (event_id, _source_file, _line_number, _loaded_at) "
                f"in ({extra})",
                [],
            ),
        ]
    )
    found.removed = found.extra_rows
    return found
