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
from onceonly.sql import Param, Statement, sql
from onceonly.targets import Warehouse


def _ranked(c: StreamContract) -> Statement:
    order = c.copy_order
    if c.conflicts == ConflictRule.HIGHEST_VERSION and c.version:
        order = f"{c.version} desc, {order}"
    return sql(
        """
    select {key}, _source_file, _line_number, _loaded_at,
        row_number() over (partition by {key} order by {order}) as copy_rank,
        count(*) over (partition by {key}) as copies
    from {facts}
""",
        key=c.key,
        order=order,
        facts=c.relations.facts,
    )


def not_audited(contract: StreamContract) -> str | None:
    """Why the stream's facts have nothing to audit (None: they do)."""
    if not contract.guarantee.deduplicates:
        return f"{contract.stream}: at least once: duplicate copies are kept by design"
    return None


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
        sql(
            "select count(distinct {key}), count(*) from ({ranked}) as r where copy_rank > 1",
            key=contract.key,
            ranked=_ranked(contract),
        )
    )
    return AuditResult(int(str(events or 0)), int(str(extra or 0)))


def repair(warehouse: Warehouse, contract: StreamContract) -> AuditResult:
    """Delete every copy but the kept one of each duplicated key, recording each. The
    steps are safe to rerun from any point (BigQuery runs them without a transaction):
    a removal already recorded is not recorded again, and the delete takes only the
    copies the ranking still finds extra."""
    found = audit(warehouse, contract)
    if found.exact:
        return found
    key = contract.key
    dialect = warehouse.dialect
    key_type = "bigint" if contract.get(key).kind == "integer" else "varchar"
    names = {
        "key": key,
        "facts": contract.relations.facts,
        "repairs": contract.relations.audit_repairs,
        "extra": sql(
            "select {key}, _source_file, _line_number, _loaded_at "
            "from ({ranked}) as r where copy_rank > 1",
            key=key,
            ranked=_ranked(contract),
        ),
        "repaired_at": Param(datetime.now(UTC).replace(tzinfo=None)),
        "key_type": dialect.type(key_type),
        "text": dialect.type("varchar"),
        "integer": dialect.type("bigint"),
        "timestamp": dialect.type("timestamp"),
    }
    warehouse.execute_steps(
        [
            sql(
                "create table if not exists {repairs} ({key} {key_type}, "
                "removed_source_file {text}, removed_line_number {integer}, "
                "removed_loaded_at {timestamp}, repaired_at {timestamp})",
                **names,
            ),
            sql(
                "insert into {repairs} select e.{key}, e._source_file, e._line_number, "
                "e._loaded_at, cast({repaired_at} as {timestamp}) from ({extra}) as e "
                "where not exists (select 1 from {repairs} as done "
                "where done.{key} = e.{key} and done.removed_source_file = e._source_file "
                "and done.removed_line_number = e._line_number "
                "and done.removed_loaded_at = e._loaded_at)",
                **names,
            ),
            # a MERGE that deletes: the one form of a delete by a subquery that every
            # target runs (BigQuery's emulator has no DELETE)
            sql(
                "merge into {facts} as f using ({extra}) as e "
                "on e.{key} = f.{key} and e._source_file = f._source_file "
                "and e._line_number = f._line_number and e._loaded_at = f._loaded_at "
                "when matched then delete",
                **names,
            ),
        ]
    )
    found.removed = found.extra_rows
    return found
