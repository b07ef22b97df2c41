"""A stream's report figures, read from the warehouse (the same SQL on every engine)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from onceonly.contract import Layout, StreamContract
from onceonly.quality.checks import first_copies
from onceonly.raw_tables import (
    LEDGER_RELATION,
    QUARANTINE_RELATION,
    REJECTED_SEQUENCES_RELATION,
)
from onceonly.report.history import DayTrend, VolumeFinding, trend_dicts
from onceonly.sequences import Run, explained
from onceonly.sql import Param, Relation, Statement, sql
from onceonly.targets import Warehouse


def _duplicate_causes(ranked: Relation) -> Statement:
    return sql(
        """
    select cast(c._arrived_at as date) as day,
        case
            when l.forced then 'replay'
            when c.first_batch_id = c._batch_id and c.first_source_file = c._source_file
                then 'in_file'
            else 'cross_file'
        end as cause,
        count(*) as copies
    from {ranked} as c
    left join {ledger} as l
        on l.batch_id = c._batch_id and l.source_file = c._source_file and l.status = 'landed'
    where c.landed_rank > 1
    group by 1, 2
""",
        ranked=ranked,
        ledger=LEDGER_RELATION,
    )


@dataclass
class Day:
    day: str
    delivered_copies: int = 0  # lines in landed files: rows landed + lines quarantined
    distinct_events: int = 0  # events whose first copy arrived this day
    duplicates: dict[str, int] = field(default_factory=dict)  # cause -> copies removed
    quarantined: dict[str, int] = field(default_factory=dict)  # reason code -> lines
    files_redelivered_skipped: int = 0
    files_rejected: int = 0
    late_duplicates: int = 0
    conflicting_events: int = 0
    control_totals: dict[str, int] = field(default_factory=dict)  # match/mismatch/no manifest

    @property
    def duplicates_removed(self) -> int:
        return sum(self.duplicates.values())


@dataclass
class Figures:
    days: list[Day]
    totals: dict[str, int]
    gaps: list[dict[str, Any]]
    conflicts: list[dict[str, Any]]
    #: per event date: the daily sums of the declared control-total fields, each key once
    control_totals: list[dict[str, Any]] = field(default_factory=list)
    #: exactly_once: the keys waiting unpublished, their files, the failed publish gates
    waiting: dict[str, Any] = field(default_factory=dict)
    #: seconds per step of the guarantee in the stream's last run (dq.node_runs)
    cost: dict[str, Any] = field(default_factory=dict)
    #: an outbox stream: its relay's last pass and lag (from the relay's log)
    relay: dict[str, Any] = field(default_factory=dict)
    #: per arrival day, what the runs recorded in dq.run_history, and the volume check
    trend: list[DayTrend] = field(default_factory=list)
    volume: list[VolumeFinding] = field(default_factory=list)
    #: a Kafka Connect stream: offset ranges landed again and offsets no file holds
    offsets: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "totals": self.totals,
            "days": [{**asdict(d), "duplicates_removed": d.duplicates_removed} for d in self.days],
            "gaps": self.gaps,
            "conflicts": self.conflicts,
            "control_totals": self.control_totals,
            "waiting": self.waiting,
            "cost": self.cost,
            "relay": self.relay,
            "history": trend_dicts(self.trend),
            "volume_findings": [asdict(v) for v in self.volume],
            "offsets": self.offsets,
        }


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def read_figures(warehouse: Warehouse, contract: StreamContract) -> Figures:
    r = contract.relations
    names = {
        "stream": Param(contract.stream),
        "key": contract.key,
        "ledger": LEDGER_RELATION,
        "quarantine": QUARANTINE_RELATION,
        "ranked": r.copies_ranked,
        "late": r.late_duplicates,
        "conflicts": r.event_conflicts,
        "facts": r.facts,
        "files": r.file_outcomes,
    }

    def query(template: str) -> list[tuple[object, ...]]:
        return warehouse.query(sql(template, **names))

    days: dict[str, Day] = {}

    def day(value: object) -> Day:
        key = _iso(value)
        return days.setdefault(key, Day(key))

    for d, copies in query(
        "select cast(arrived_at as date), sum(rows_landed + rows_quarantined) from {ledger} "
        "where stream = {stream} and status = 'landed' group by 1"
    ):
        day(d).delivered_copies = int(str(copies))
    # files counted once each, whatever the number of landing runs that saw them
    for d, status, state, n in query(
        "select cast(arrived_at as date), status, control_total_status, count(*) "
        "from {files} group by 1, 2, 3"
    ):
        entry = day(d)
        n = int(str(n))
        if status == "skipped":
            entry.files_redelivered_skipped += n
        elif status == "rejected":
            entry.files_rejected += n
        entry.control_totals[str(state)] = entry.control_totals.get(str(state), 0) + n
    for d, n in query(
        "select cast(_arrived_at as date), count(*) from {ranked} where landed_rank = 1 group by 1"
    ):
        day(d).distinct_events = int(str(n))
    for d, cause, n in warehouse.query(_duplicate_causes(r.copies_ranked)):
        day(d).duplicates[str(cause)] = int(str(n))
    offsets = _offsets(warehouse, contract, day) if contract.layout == Layout.KAFKA_CONNECT else {}
    for d, code, n in query(
        "select cast(l.arrived_at as date), q.reason_code, count(*) from {quarantine} as q "
        "join {ledger} as l on l.batch_id = q.batch_id and l.source_file = q.source_file "
        "where q.stream = {stream} group by 1, 2"
    ):
        day(d).quarantined[str(code)] = int(str(n))
    for d, n in query("select cast(arrived_at as date), count(*) from {late} group by 1"):
        day(d).late_duplicates = int(str(n))
    for d, n in query(
        "select cast(c._arrived_at as date), count(*) from {conflicts} as e "
        "join {ranked} as c on c.{key} = e.{key} and c.landed_rank = 1 group by 1"
    ):
        day(d).conflicting_events = int(str(n))
    gaps = _gaps(warehouse, contract)
    conflicts = [
        {"key": str(e), "copies": int(str(c)), "versions": int(str(v))}
        for e, c, v in query("select {key}, copies, versions from {conflicts} order by 1")
    ]
    [(facts,)] = query("select count(*) from {facts}")
    by_day = _first_copies_by_day(warehouse, contract)
    distinct_facts = sum(int(str(n)) for _, n, *_ in by_day)  # each key has one first copy
    ordered = [days[k] for k in sorted(days)]
    causes: dict[str, int] = defaultdict(int)
    reasons: dict[str, int] = defaultdict(int)
    for d in ordered:
        for k, v in d.duplicates.items():
            causes[k] += v
        for k, v in d.quarantined.items():
            reasons[k] += v
    totals = {
        "delivered_copies": sum(d.delivered_copies for d in ordered),
        "distinct_events": sum(d.distinct_events for d in ordered),
        "fact_rows": int(str(facts)),
        "fact_event_ids": int(str(distinct_facts)),
        "duplicates_removed": sum(d.duplicates_removed for d in ordered),
        **{f"duplicates_{k}": v for k, v in sorted(causes.items())},
        "quarantined": sum(reasons.values()),
        **{f"quarantined_{k}": v for k, v in sorted(reasons.items())},
        "files_redelivered_skipped": sum(d.files_redelivered_skipped for d in ordered),
        "files_rejected": sum(d.files_rejected for d in ordered),
        "sequence_gaps": len(gaps),
        # missing events no rejected file holds: lost before they reached the landing zone
        "events_lost_in_gaps": sum(g["missing_count"] - g["in_rejected_files"] for g in gaps),
        "gaps_with_loss": sum(g["missing_count"] > g["in_rejected_files"] for g in gaps),
        "gap_events_in_rejected_files": sum(g["in_rejected_files"] for g in gaps),
        "conflicting_events": len(conflicts),
        "late_duplicates": sum(d.late_duplicates for d in ordered),
    }
    if offsets:
        totals["offset_overlaps"] = len(offsets["overlaps"])
        totals["offset_gaps"] = len(offsets["gaps"])
        totals["offsets_missing"] = sum(g["missing"] for g in offsets["gaps"])
    waiting = read_waiting(warehouse, contract)
    totals["unpublished"] = waiting["keys"]
    return Figures(
        ordered,
        totals,
        gaps,
        conflicts,
        _control_totals(contract, by_day),
        waiting,
        _cost(warehouse, contract),
        offsets=offsets,
    )


def _offsets(
    warehouse: Warehouse, contract: StreamContract, day: Callable[[object], Day]
) -> dict[str, Any]:
    """A Kafka Connect stream's overlaps and holes (from the ledger); the duplicate copies
    an overlap brought in are counted under ``offset_overlap`` instead of their file's
    cause. A file skipped for content that landed before covers its range too: its lines
    are the ones that landed."""
    from onceonly.offsets import findings, overlaps, ranges

    rows = warehouse.query(
        sql(
            "select source_file, status, lines_read, sha256 from {ledger} "
            "where stream = {stream} and status in ('landed', 'skipped', 'rejected') "
            "and not coalesce(forced, false) order by attempted_at, arrived_at, source_file",
            ledger=LEDGER_RELATION,
            stream=Param(contract.stream),
        )
    )
    lines_of = {sha: int(str(n)) for _, status, n, sha in rows if status == "landed"}
    landed = [
        (str(f), int(str(n)) if status == "landed" else lines_of.get(sha, 0))
        for f, status, n, sha in rows
        if status != "rejected"
    ]
    rejected = tuple(str(f) for f, status, _, _ in rows if status == "rejected")
    found = ranges(landed)
    for overlap in overlaps(found):
        first, last = overlap.lines
        for d, n in warehouse.query(
            sql(
                "select cast(_arrived_at as date), count(*) from {ranked} where landed_rank > 1 "
                "and _source_file = {file} and _line_number between {first} and {last} "
                "group by 1",
                ranked=contract.relations.copies_ranked,
                file=Param(overlap.source_file),
                first=Param(first),
                last=Param(last),
            )
        ):
            causes, moving = day(d).duplicates, int(str(n))
            for cause in ("cross_file", "in_file"):
                moved = min(moving, causes.get(cause, 0))
                causes[cause] = causes.get(cause, 0) - moved
                causes["offset_overlap"] = causes.get("offset_overlap", 0) + moved
                moving -= moved
            for cause in [c for c, v in causes.items() if v == 0]:
                del causes[cause]
    return findings(found, rejected)


def _rejected_runs(warehouse: Warehouse, contract: StreamContract) -> dict[str, list[Run]]:
    """Per file rejected whole: the runs of producer sequence numbers it carried."""
    if not warehouse.exists(REJECTED_SEQUENCES_RELATION):
        return {}
    runs: dict[str, list[Run]] = defaultdict(list)
    for file, producer, epoch, first, last in warehouse.query(
        sql(
            "select distinct source_file, producer, epoch, first_sequence, last_sequence "
            "from {rejected} where stream = {stream}",
            rejected=REJECTED_SEQUENCES_RELATION,
            stream=Param(contract.stream),
        )
    ):
        runs[str(file)].append(
            Run(
                str(producer),
                None if epoch is None else int(str(epoch)),
                int(str(first)),
                int(str(last)),
            )
        )
    return runs


def _gaps(warehouse: Warehouse, contract: StreamContract) -> list[dict[str, Any]]:
    """Each hole in a producer's sequence, with how many of its events a file rejected
    whole carried, and those files (the rest never arrived)."""
    p = contract.producer
    if p is None:
        return []
    runs = _rejected_runs(warehouse, contract)
    gaps = []
    for prod, e, a, b, m in warehouse.query(
        sql(
            "select {producer}, {epoch}, first_missing, last_missing, missing_count "
            "from {gaps} order by {order}",
            producer=p.id,
            epoch=p.epoch or "0",
            gaps=contract.relations.sequence_gaps,
            # by name: BigQuery takes no ordinal of a constant (no epoch declared)
            order=", ".join([p.id, *([p.epoch] if p.epoch else []), "first_missing"]),
        )
    ):
        first, last = int(str(a)), int(str(b))
        held, files = explained(str(prod), int(str(e)) if p.epoch else None, first, last, runs)
        gaps.append(
            {
                "producer": str(prod),
                "epoch": int(str(e)),
                "first_missing": first,
                "last_missing": last,
                "missing_count": int(str(m)),
                "in_rejected_files": held,
                "rejected_files": files,
            }
        )
    return gaps


#: where dbt's on-run-end hook records each model and test it ran (macros/runs/)
NODE_RUNS = Relation("dq", "node_runs")


def cost_steps(c: StreamContract) -> dict[str, list[str]]:
    """The steps a stream's guarantee takes in each run -> the dbt nodes (model names or
    test aliases) that do them."""
    from onceonly.contract import Guarantee
    from onceonly.dbt_models import publish_gates

    r = c.relations
    if c.guarantee == Guarantee.EXACTLY_ONCE:
        return {
            "write": [r.writes.name],
            "publish checks": [r.gate(g.name).name for g in publish_gates(c)],
            "publish": [r.publications.name, r.facts.name],
        }
    if c.guarantee == Guarantee.EFFECTIVELY_ONCE:
        return {"windowed MERGE": [r.facts.name]}
    return {"append": [r.facts.name]}


def _cost(warehouse: Warehouse, c: StreamContract) -> dict[str, Any]:
    """What the stream's guarantee cost in its last run: seconds per step, from each
    node's newest run in dq.node_runs (empty before the first run records any)."""
    if not warehouse.exists(NODE_RUNS):
        return {}
    steps = cost_steps(c)
    names = [n for nodes in steps.values() for n in nodes]
    slots = {f"n{i}": Param(n) for i, n in enumerate(names)}
    rows = warehouse.query(
        sql(
            "select alias, seconds, finished_at from ("
            "select alias, seconds, finished_at, row_number() over "
            "(partition by alias order by finished_at desc) as newest "
            "from {runs} where alias in (" + ", ".join(f"{{{k}}}" for k in slots) + ")"
            ") as n where newest = 1",
            runs=NODE_RUNS,
            **slots,
        )
    )
    seconds = {str(a): float(str(s)) for a, s, _ in rows}
    if not seconds:
        return {}
    out: dict[str, Any] = {
        step: round(sum(seconds.get(n, 0.0) for n in nodes), 2) for step, nodes in steps.items()
    }
    out["total"] = round(sum(v for v in out.values()), 2)
    out["last_run"] = max(_iso(t) for _, _, t in rows)
    return out


def _first_copies_by_day(warehouse: Warehouse, c: StreamContract) -> list[tuple[object, ...]]:
    """(event date, keys, the sum of each control-total field) of the facts' first copies:
    each key once, so the keys add up to the facts' distinct keys (one pass for both;
    a ``count(distinct)`` beside it read the facts again)."""
    return warehouse.query(
        sql(
            "select _event_date, count(*){sums} from ({facts}) as facts group by 1 order by 1",
            sums="".join(f", sum({f})" for f in c.control_totals),
            facts=first_copies(c.relations.facts, c),
        )
    )


def _control_totals(c: StreamContract, by_day: list[tuple[object, ...]]) -> list[dict[str, Any]]:
    """Daily sums of the control-total fields by event date, taking each key once (the
    reconciliation.control_totals check holds them to raw's first copies)."""
    if not c.control_totals:
        return []
    return [
        {
            "event_date": _iso(day),
            "events": int(str(n)),
            **{f: str(v) for f, v in zip(c.control_totals, values, strict=True)},
        }
        for day, n, *values in by_day
    ]


#: failing rows of a publish gate shown per gate (all of them are in its dq table)
GATE_ROWS_SHOWN = 20


def read_waiting(warehouse: Warehouse, c: StreamContract) -> dict[str, Any]:
    """exactly_once: what waits unpublished and why. The keys written in the last batch
    and not in the facts, per landing run and file; each publish gate whose last run
    failed, with its first failing rows (dbt stores them in dq); and the keys held for
    conflicting copies until resolved. Empty otherwise."""
    from onceonly.contract import Guarantee
    from onceonly.dbt_models import publish_gates

    waiting: dict[str, Any] = {"keys": 0, "files": [], "failed_gates": [], "held": []}
    batch = c.relations.unpublished_batch
    if c.guarantee != Guarantee.EXACTLY_ONCE or not warehouse.exists(batch):
        return waiting
    if warehouse.exists(c.relations.held_conflicts):
        waiting["held"] = [
            {"key": str(k), "copies": int(str(n)), "versions": int(str(v))}
            for k, n, v in warehouse.query(
                sql(
                    "select {key}, copies, versions from {held} order by 1",
                    key=c.key,
                    held=c.relations.held_conflicts,
                )
            )
        ]
    files = warehouse.query(
        sql(
            "select _batch_id, _source_file, count(*) from {batch} as b where not exists "
            "(select 1 from {facts} as f where f.{key} = b.{key}) "
            "group by 1, 2 order by 1, 2",
            batch=batch,
            facts=c.relations.facts,
            key=c.key,
        )
    )
    waiting["files"] = [
        {"batch_id": str(b), "source_file": str(f), "keys": int(str(n))} for b, f, n in files
    ]
    waiting["keys"] = sum(f["keys"] for f in waiting["files"])
    for gate in publish_gates(c):
        table = c.relations.gate(gate.name)
        if not warehouse.exists(table):
            continue
        [(n,)] = warehouse.query(sql("select count(*) from {t}", t=table))
        if not int(str(n)):
            continue
        rows = warehouse.query(
            sql(
                "select {cols} from {t} order by {cols} limit {limit}",
                cols=", ".join(gate.shown),
                t=table,
                limit=str(GATE_ROWS_SHOWN),
            )
        )
        waiting["failed_gates"].append(
            {
                "name": gate.name,
                "description": gate.description,
                "table": f"{table.schema}.{table.name}",
                "failing_rows": int(str(n)),
                "rows": [
                    {k: _iso(v) for k, v in zip(gate.shown, row, strict=True)} for row in rows
                ],
            }
        )
    return waiting
