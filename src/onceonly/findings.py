"""What a stream's dq models found, as counts for summaries and the report."""

from __future__ import annotations

from onceonly.contract import StreamContract
from onceonly.errors import ConfigError
from onceonly.raw_tables import QUARANTINE_RELATION
from onceonly.sql import Param, sql
from onceonly.targets import Warehouse, missing


def unbuilt(warehouse: Warehouse, contract: StreamContract) -> str | None:
    """What is missing before the stream's findings can be read (None: nothing), as
    one line naming the relations and what to run."""
    absent = missing(warehouse, contract.built_relations)
    if not absent:
        return None
    return (
        f"{contract.stream}: {', '.join(map(str, absent))} not in the warehouse: "
        "run `dbt build` (or `onceonly run`) first"
    )


def require_built(warehouse: Warehouse, contract: StreamContract) -> None:
    problem = unbuilt(warehouse, contract)
    if problem is not None:
        raise ConfigError(problem)


def findings(warehouse: Warehouse, contract: StreamContract) -> dict[str, int]:
    """Counts of what the dq models of one stream found, for summaries."""
    r = contract.relations
    queries = {"facts (distinct events)": "select count(*) from {facts}"}
    if contract.producer is not None:
        queries["sequence gaps"] = "select count(*) from {gaps}"
        queries["events lost in gaps"] = "select coalesce(sum(missing_count), 0) from {gaps}"
    queries.update(
        {
            "conflicting events": "select count(*) from {conflicts}",
            "late duplicates": "select count(*) from {late}",
            "files rejected": "select count(*) from {files} where status = 'rejected'",
            "lines quarantined": "select count(*) from {quarantine} where stream = {stream}",
        }
    )
    names = {
        "facts": r.facts,
        "gaps": r.sequence_gaps,
        "conflicts": r.event_conflicts,
        "late": r.late_duplicates,
        "files": r.file_outcomes,
        "quarantine": QUARANTINE_RELATION,
        "stream": Param(contract.stream),
    }
    return {
        name: int(str(warehouse.query(sql(template, **names))[0][0] or 0))
        for name, template in queries.items()
    }
