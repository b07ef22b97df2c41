"""The full audit: duplicates in a stream's facts that slipped past the windowed MERGE.

A copy of an event older than the dedup window is not compared by the incremental MERGE
and can land in the facts a second time. The audit scans the whole table for keys held
more than once; the repair keeps the kept copy (the same order as the models: highest
version where declared, then first landed), deletes the others and records each removal
in ``dq.<stream>_audit_repairs``. Repairing twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from onceonly.contract import ConflictRule, StreamContract
from onceonly.targets import Warehouse


def _ranked(c: StreamContract) -> str:
    order = c.copy_order
    if c.conflicts == ConflictRule.HIGHEST_VERSION and c.version:
        order = f"{c.version} desc, {order}"
    return f"""
    select {c.key}, _source_file, _line_number, _loaded_at,
        row_number() over (partition by {c.key} order by {order}) as copy_rank,
        count(*) over (partition by {c.key}) as copies
    from {c.relations.facts}
"""


@dataclass
class AuditResult:
    duplicated_events: int  # keys held more than once
    extra_rows: int  # rows beyond the kept copy
    removed: int = 0  # rows deleted by the repair

    @property
    def exact(self) -> bool:
        return self.extra_rows == 0


def audit(warehouse: Warehouse, contract: StreamContract) -> AuditResult:
    [(events, extra)] = warehouse.query(
        f"select count(distinct {contract.key}), count(*) from ({_ranked(contract)}) as r "
        "where copy_rank > 1"
    )
    return AuditResult(int(str(events or 0)), int(str(extra or 0)))


def repair(warehouse: Warehouse, contract: StreamContract) -> AuditResult:
    """Delete every copy but the kept one of each duplicated key, recording each."""
    found = audit(warehouse, contract)
    if found.exact:
        return found
    key, r = contract.key, contract.relations
    repaired_at = datetime.now(UTC).replace(tzinfo=None)
    extra = (
        f"select {key}, _source_file, _line_number, _loaded_at "
        f"from ({_ranked(contract)}) as r where copy_rank > 1"
    )
    key_type = "bigint" if contract.get(key).kind == "integer" else "varchar"
    warehouse.execute_in_transaction(
        [
            (
                f"create table if not exists {r.audit_repairs} ({key} {key_type}, "
                "removed_source_file varchar, removed_line_number bigint, "
                "removed_loaded_at timestamp, repaired_at timestamp)",
                [],
            ),
            (
                f"insert into {r.audit_repairs} select {key}, _source_file, _line_number, "
                f"_loaded_at, cast(? as timestamp) from ({extra}) as e",
                [repaired_at],
            ),
            (
                f"delete from {r.facts} where ({key}, _source_file, _line_number, _loaded_at) "
                f"in ({extra})",
                [],
            ),
        ]
    )
    found.removed = found.extra_rows
    return found
