"""The checks of a stream, derived from its declaration: suite, table, expectation, SQL
(written by the target's dialect), severity.

A check that needs a role exists only where the stream declares it (no sequence checks
without producer roles, no control totals without control_totals). Severities: ``error``
fails the run, ``warn`` is reported, ``off`` skips the check. A declaration's ``checks:``
sets them per check or per group; ONCEONLY_CHECK_SEVERITY overrides them for every stream,
e.g. ``gaps.sequence_holes=error,conflicts=error``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from onceonly.contract import Guarantee
from onceonly.raw_tables import LEDGER_RELATION
from onceonly.sql import Dialect, Param, Relation, Statement, sql

if TYPE_CHECKING:
    from onceonly.contract import StreamContract

#: Every check a stream can have, by name; the group is the part before the dot.
DEFAULT_SEVERITY = {
    "duplicates.key_unique": "error",
    "duplicates.sequence_unique": "error",
    "gaps.sequence_holes": "warn",
    "gaps.missing_hours": "warn",
    "reconciliation.events_in_facts": "error",
    "reconciliation.copies_in_facts": "error",
    "reconciliation.file_accounting": "error",
    "reconciliation.manifest_counts": "error",
    "reconciliation.control_totals": "error",
    "conflicts.conflicting_copies": "warn",
}
CHECK_NAMES = frozenset(DEFAULT_SEVERITY) | {n.split(".")[0] for n in DEFAULT_SEVERITY}
SEVERITIES = ("error", "warn", "off")


@dataclass(frozen=True)
class Check:
    name: str  # <group>.<check>
    stream: str
    suite: str  # GX suite name: <stream>.<table>.<concern>; one table per suite
    table: Relation  # the asset the check runs on ({batch} in the SQL)
    description: str
    #: the unexpected rows: rows it returns are failures (quality/expectations.py)
    sql: Statement
    severity: str = "error"

    @property
    def id(self) -> str:
        """Unique across streams: ``<stream>:<name>``."""
        return f"{self.stream}:{self.name}"


#: GX's name for the asset's rows in an UnexpectedRowsExpectation query
BATCH = "{batch}"


def _missing_hours(time: str) -> Statement:
    """Hours between the first and the last event's hour with no event (the hour
    functions are the target dialect's). GX leaves ``{batch}`` unaliased in a query with
    a join, and PostgreSQL needs an alias for a subquery in FROM: each use has one."""

    def hour_of(expr: str) -> Callable[[Dialect], str]:
        return lambda d: d.hour_of(expr)

    return sql(
        """
    with bounds as (select {lo} as lo, {hi} as hi from {batch} as b),
    hours as ({hours}),
    seen as (select distinct {hour} as hour from {batch} as b)
    select hours.hour from hours left join seen on hours.hour = seen.hour
    where seen.hour is null order by hours.hour
""",
        lo=hour_of(f"min({time})"),
        hi=hour_of(f"max({time})"),
        hour=hour_of(time),
        hours=lambda d: d.hours_between("lo", "hi", "bounds"),
        batch=BATCH,
    )


def first_copies(relation: Relation | str, c: StreamContract) -> Statement:
    """The first copy of each key. Only the keys with several copies are ranked (as dbt's
    ``first_copies_of_scan`` does): nearly every key has one, and a window over every
    copy of the warehouse is the costliest part of the control totals (here and in the
    report's daily sums)."""
    return sql(
        """
    select * from (
        with repeated as (
            select {key} from {relation} as copies group by {key} having count(*) > 1
        )
        select *, 1 as _copy_rank from {relation} as copies
        where not exists (select 1 from repeated as r where r.{key} = copies.{key})
        union all
        select * from (
            select *, row_number() over (partition by {key} order by {order}) as _copy_rank
            from {relation} as copies
            where exists (select 1 from repeated as r where r.{key} = copies.{key})
        ) as ranked where _copy_rank = 1
    ) as first_copies
""",
        key=c.key,
        order=c.copy_order,
        relation=relation,
    )


def _not_held(c: StreamContract, alias: str) -> Statement | str:
    """exactly_once: leave out the keys held for conflicting copies (they wait for a
    person's decision, not in the facts by design)."""
    if c.guarantee != Guarantee.EXACTLY_ONCE:
        return ""
    return sql(
        " and not exists (select 1 from {held} as h where h.{key} = {alias}.{key})",
        held=c.relations.held_conflicts,
        key=c.key,
        alias=alias,
    )


def _control_totals(c: StreamContract) -> Statement:
    """Daily sums of the control-total fields: the facts' first copies against raw's (but
    for held keys). The facts are ranked too: a copy that slipped past the dedup window
    is duplicates.key_unique's finding, and the sums then still compare the events'
    content."""
    return sql(
        "with facts as (select {day} as day, {sums} from ({facts}) as x group by 1), "
        "recomputed as (select {day} as day, {sums} from ({raw}) as y group by 1) "
        "select coalesce(f.day, r.day) as day, {shown} "
        "from facts as f full outer join recomputed as r on f.day = r.day where {differs}",
        day=f"cast({c.event_time} as date)",
        sums=", ".join(f"sum({f}) as {f}" for f in c.control_totals),
        facts=first_copies(BATCH, c),
        raw=sql(
            "select * from ({first}) as firsts where true{not_held}",
            first=first_copies(c.relations.raw_events, c),
            not_held=_not_held(c, "firsts"),
        ),
        shown=", ".join(f"f.{f} as facts_{f}, r.{f} as raw_{f}" for f in c.control_totals),
        differs=" or ".join(f"f.{f} is distinct from r.{f}" for f in c.control_totals),
    )


def stream_checks(c: StreamContract) -> tuple[Check, ...]:
    """The checks of one stream, with its declared severities (before env overrides)."""
    r = c.relations
    facts_model = r.facts.name
    key, time = c.key, c.event_time
    stream = Param(c.stream)
    dedup = c.guarantee.deduplicates
    held = c.guarantee == Guarantee.EXACTLY_ONCE  # conflicting keys wait for a decision
    checks: list[Check] = []
    if dedup:
        checks.append(
            Check(
                "duplicates.key_unique",
                c.stream,
                f"{c.stream}.{facts_model}.duplicates",
                r.facts,
                f"each {key} is held once in the facts",
                sql=sql(
                    "select {key}, count(*) as copies from {batch} group by {key} "
                    "having count(*) > 1",
                    key=key,
                    batch=BATCH,
                ),
            )
        )
    else:
        checks.append(
            Check(
                "reconciliation.copies_in_facts",
                c.stream,
                f"{c.stream}.{facts_model}.reconciliation",
                r.facts,
                f"at least once: per {key}, the facts hold every valid copy landed in raw",
                sql=sql(
                    "with f as (select {key}, count(*) as n from {batch} as b group by {key}), "
                    "r as (select {key}, count(*) as n from {raw} as x group by {key}) "
                    "select coalesce(f.{key}, r.{key}) as {key}, f.n as facts_copies, "
                    "r.n as raw_copies from f full outer join r on f.{key} = r.{key} "
                    "where f.n is null or r.n is null or f.n <> r.n",
                    key=key,
                    raw=r.raw_events,
                    batch=BATCH,
                ),
            )
        )
    p = c.producer
    if p is not None:
        seq = p.sequence
        # per (producer, epoch) where an epoch is declared, else per producer
        group = f"{p.id}, {p.epoch}" if p.epoch else p.id
        epoch = f"{p.epoch} as epoch" if p.epoch else "0 as epoch"
        if dedup:
            checks.append(
                Check(
                    "duplicates.sequence_unique",
                    c.stream,
                    f"{c.stream}.{facts_model}.duplicates",
                    r.facts,
                    f"({group}, {seq}) is held once in the facts",
                    sql=sql(
                        f"select {p.id}, {epoch}, {seq}, count(*) as copies "
                        f"from {{batch}} group by {group}, {seq} having count(*) > 1",
                        batch=BATCH,
                    ),
                )
            )
        # exactly_once: every key that arrived (its first copy), published or held
        arrived = r.copies_ranked if held else r.facts
        checks += [
            Check(
                "gaps.sequence_holes",
                c.stream,
                f"{c.stream}.{arrived.name}.gaps",
                arrived,
                f"no hole in a producer's {seq} (per epoch, from {p.sequence_start})",
                sql=sql(
                    f"select {p.id}, epoch, previous_number + 1 as first_missing, "
                    f"{seq} - 1 as last_missing from ("
                    f" select {p.id}, {epoch}, {seq}, coalesce(lag({seq})"
                    f" over (partition by {group} order by {seq}), {p.sequence_start - 1})"
                    " as previous_number from {batch}{first}) as s "
                    f"where {seq} > previous_number + 1",
                    batch=BATCH,
                    first=" where copy_rank = 1" if held else "",
                ),
            ),
        ]
    if c.cadence == "hourly":
        checks.append(
            Check(
                "gaps.missing_hours",
                c.stream,
                f"{c.stream}.{facts_model}.gaps",
                r.facts,
                "every hour inside the stream's observed range has events (cadence: hourly)",
                sql=_missing_hours(time),
            )
        )
    checks += [
        Check(
            "reconciliation.events_in_facts",
            c.stream,
            f"{c.stream}.{facts_model}.reconciliation",
            r.facts,
            f"distinct valid {key}s in raw = rows in the facts (names each {key})"
            + (", but for keys held for conflicting copies" if held else ""),
            # one join of the keys both ways (two anti-joins took twice as long)
            sql=sql(
                "select distinct coalesce(r.{key}, f.{key}) as {key}, case when f.{key} is null "
                "then 'in raw, not in the facts' else 'in the facts, not in raw' end as problem "
                "from {raw} as r full outer join {batch} as f on f.{key} = r.{key} "
                "where r.{key} is null or (f.{key} is null{not_held})",
                key=key,
                raw=r.raw_events,
                batch=BATCH,
                not_held=_not_held(c, "r"),
            ),
        ),
        Check(
            "reconciliation.file_accounting",
            c.stream,
            f"{c.stream}.load_ledger.control_totals",
            LEDGER_RELATION,
            "per landed file: lines read = rows landed + rows quarantined",
            sql=sql(
                "select source_file, lines_read, rows_landed, rows_quarantined from {batch} "
                "where stream = {stream} and status = 'landed' "
                "and lines_read <> rows_landed + rows_quarantined",
                stream=stream,
                batch=BATCH,
            ),
        ),
        Check(
            "reconciliation.manifest_counts",
            c.stream,
            f"{c.stream}.load_ledger.control_totals",
            LEDGER_RELATION,
            "per landed file with a manifest: record_count = lines read",
            sql=sql(
                "select source_file, manifest_record_count, lines_read from {batch} "
                "where stream = {stream} and status = 'landed' "
                "and manifest_record_count is not null and manifest_record_count <> lines_read",
                stream=stream,
                batch=BATCH,
            ),
        ),
    ]
    if c.control_totals:
        checks.append(
            Check(
                "reconciliation.control_totals",
                c.stream,
                f"{c.stream}.{facts_model}.control_totals",
                r.facts,
                f"daily sums of {', '.join(c.control_totals)} in the facts = the same sums "
                "from raw's first copies",
                sql=_control_totals(c),
            )
        )
    checks.append(
        Check(
            "conflicts.conflicting_copies",
            c.stream,
            f"{c.stream}.{r.event_conflicts.name}.conflicts",
            r.event_conflicts,
            f"no {key} delivered with differing content",
            sql=sql(f"select {key}, copies, versions from {{batch}}", batch=BATCH),
        )
    )
    declared = dict(c.severities)
    return tuple(
        replace(
            check,
            severity=declared_severity(declared, check.name),
        )
        for check in checks
    )


def declared_severity(declared: dict[str, str], check: str) -> str:
    """A check's severity as a declaration's ``checks:`` sets it (by name, then by group),
    else its default."""
    return declared.get(check, declared.get(check.split(".")[0], DEFAULT_SEVERITY[check]))


def fails_the_run(severity: str, success: bool, error: str | None) -> bool:
    """A failed check of error severity fails the run, and so does any check that could
    not be evaluated: a safety net that cannot run is a failure of the net, whatever the
    check's severity."""
    return not success and (severity == "error" or error is not None)


def configured(streams: list[StreamContract], severity: str = "") -> tuple[Check, ...]:
    """The checks of the streams, severities overridden by ``severity`` (the setting
    ONCEONLY_CHECK_SEVERITY); checks set to ``off`` left out."""
    from onceonly.errors import ConfigError

    overrides: dict[str, str] = {}
    for item in filter(None, severity.split(",")):
        key, _, value = item.strip().partition("=")
        if value not in SEVERITIES:
            raise ConfigError(
                f"ONCEONLY_CHECK_SEVERITY: {item!r} should be <check or group>=error|warn|off"
            )
        overrides[key] = value
    unknown = set(overrides) - CHECK_NAMES
    if unknown:
        raise ConfigError(f"ONCEONLY_CHECK_SEVERITY names unknown checks: {sorted(unknown)}")
    out = []
    for c in streams:
        for check in stream_checks(c):
            severity = overrides.get(
                check.name, overrides.get(check.name.split(".")[0], check.severity)
            )
            if severity != "off":
                out.append(replace(check, severity=severity))
    return tuple(out)
