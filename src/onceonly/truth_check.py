"""Compare warehouse tables with a generated landing zone's ``_truth/`` (row for row)."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from onceonly.contract import StreamContract
from onceonly.errors import OnceOnlyError
from onceonly.object_store import unversioned
from onceonly.raw_tables import QUARANTINE_RELATION
from onceonly.sql import Param, Relation, Statement, sql
from onceonly.targets import Warehouse


@dataclass(frozen=True)
class Comparison:
    truth_file: str
    relation: Relation
    columns: tuple[str, ...]
    where: Statement | None = None  # which rows of ``relation`` the truth file holds


#: truth columns not held by the warehouse relation (compared elsewhere or informational)
_NOT_COMPARED = {"files": {"arrived_at"}}


def _relation(contract: StreamContract, name: str) -> Relation:
    """The relation a truth file ``<name>.csv`` holds the rows of: the stream's facts and
    dq tables by their kind, anything else a mart in ``analytics``."""
    r = contract.relations
    return {
        r.facts.name: r.facts,
        "sequence_gaps": r.sequence_gaps,
        "event_conflicts": r.event_conflicts,
        "late_duplicates": r.late_duplicates,
        "files": r.file_outcomes,
        "quarantine": QUARANTINE_RELATION,
    }.get(name, Relation("analytics", name))


def comparisons(contract: StreamContract, truth_dir: Path) -> tuple[Comparison, ...]:
    """One comparison per ``<name>.csv`` in a stream's truth folder, columns from its header."""
    out = []
    for path in sorted(truth_dir.glob("*.csv")):
        name = path.stem
        with path.open(newline="") as fh:
            header = next(csv.reader(fh), [])
        columns = tuple(c for c in header if c not in _NOT_COMPARED.get(name, set()))
        relation = _relation(contract, name)
        where = None
        if relation == QUARANTINE_RELATION:
            where = sql("stream = {stream}", stream=Param(contract.stream))
        out.append(Comparison(name, relation, columns, where))
    return tuple(out)


def canonical(value: object) -> str:
    """One text form per value, whatever the engine or the CSV wrote."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _canonical_csv(value: str, like: object) -> str:
    if value == "":
        return ""
    if isinstance(like, Decimal):
        return f"{Decimal(value):.2f}"
    if isinstance(like, datetime):
        return datetime.fromisoformat(value).isoformat(sep=" ")
    return value


@dataclass
class Difference:
    table: str
    missing: Counter[tuple[str, ...]]  # in the truth, not in the warehouse
    unexpected: Counter[tuple[str, ...]]  # in the warehouse, not in the truth

    @property
    def equal(self) -> bool:
        return not self.missing and not self.unexpected


def compare(
    warehouse: Warehouse,
    truth_dir: Path,
    contract: StreamContract,
    only: tuple[Comparison, ...] | None = None,
) -> list[Difference]:
    """Each truth file of the stream against its relation; ``only`` narrows or adjusts
    the comparisons."""
    out = []
    for c in only if only is not None else comparisons(contract, truth_dir):
        with (truth_dir / f"{c.truth_file}.csv").open(newline="") as fh:
            truth_rows = [tuple(r[col] for col in c.columns) for r in csv.DictReader(fh)]
        rows = warehouse.query(
            sql(
                "select {columns} from {relation} where {where}",
                columns=", ".join(c.columns),
                relation=c.relation,
                where=c.where or "true",
            )
        )
        # each column's type, from its first non-null value in the warehouse
        sample = [
            next((row[i] for row in rows if row[i] is not None), None)
            for i in range(len(c.columns))
        ]
        # a delivery from a bucket is named with its object version; the truth names paths
        paths = [i for i, col in enumerate(c.columns) if col.lstrip("_") == "source_file"]
        got = Counter(
            tuple(
                unversioned(canonical(v)) if i in paths else canonical(v) for i, v in enumerate(row)
            )
            for row in rows
        )
        expected = Counter(
            tuple(_canonical_csv(v, sample[i]) for i, v in enumerate(row)) for row in truth_rows
        )
        out.append(Difference(c.truth_file, expected - got, got - expected))
    return out


def checksum(warehouse: Warehouse, relation: Relation, columns: tuple[str, ...]) -> str:
    """An order-independent digest of a table's rows (for idempotence checks)."""
    import hashlib

    rows = warehouse.query(
        sql("select {columns} from {relation}", columns=", ".join(columns), relation=relation)
    )
    lines = sorted("\x1f".join(canonical(v) for v in row) for row in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


class TruthError(OnceOnlyError):
    """The warehouse holds what the truth says it should not."""


def resolve_held_as_truth(warehouse: Warehouse, contract: StreamContract, truth_dir: Path) -> int:
    """exactly_once: a key held for conflicting copies waits for a person's decision,
    which the generator's truth takes to be the first landed copy. Check that each held
    key is a conflict in the truth, then resolve it so (``--keep first``); the caller
    builds next. Returns how many keys were held."""
    from onceonly.contract import Guarantee
    from onceonly.resolve import held_keys, resolve

    if contract.guarantee != Guarantee.EXACTLY_ONCE:
        return 0
    held = held_keys(warehouse, contract)
    with (truth_dir / "event_conflicts.csv").open(newline="") as fh:
        conflicts = {row[contract.key] for row in csv.DictReader(fh)}
    stray = [k for k in held if k not in conflicts]
    if stray:
        raise TruthError(
            f"{contract.stream}: {len(stray)} key(s) held that are no conflict in the truth "
            f"(first: {stray[0]!r})"
        )
    for key in held:
        resolve(warehouse, contract, key, "first", "as the generator's truth decides")
    return len(held)
