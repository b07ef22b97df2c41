"""`onceonly resolve`: decide which copy of a held key an exactly_once stream publishes.

A key whose copies carry different content (same key, another amount) is held out of an
exactly_once stream's facts (``dq.<stream>_held_conflicts``) instead of letting the first
landed copy win. A person decides: keep the first landed copy, the last landed one, or a
named one (``<source_file>:<line>``). The decision is appended to
``raw.conflict_resolutions`` (the newest per key counts) and the next run publishes that
copy, once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from onceonly.contract import Guarantee, StreamContract
from onceonly.errors import ConfigError
from onceonly.raw_tables import RESOLUTIONS, RESOLUTIONS_RELATION
from onceonly.sql import Dialect, Param, sql
from onceonly.targets import Warehouse


@dataclass(frozen=True)
class Copy:
    batch_id: str
    source_file: str
    line_number: int
    loaded_at: object


@dataclass(frozen=True)
class Resolution:
    stream: str
    key: str
    kept: Copy
    rule: str
    copies: int


def _as_text(key: str) -> Callable[[Dialect], str]:
    return lambda d: f"cast({key} as {d.type('varchar')})"


def held_keys(warehouse: Warehouse, contract: StreamContract) -> list[str]:
    """The keys held for conflicting copies, as text."""
    rows = warehouse.query(
        sql(
            "select {key} from {held} order by 1",
            key=contract.key,
            held=contract.relations.held_conflicts,
        )
    )
    return [str(k) for (k,) in rows]


def _copies(warehouse: Warehouse, contract: StreamContract, key: str) -> list[Copy]:
    """Every landed copy of ``key``, first landed first."""
    rows = warehouse.query(
        sql(
            "select _batch_id, _source_file, _line_number, _loaded_at from {raw} "
            "where {as_text} = {key} order by {order}",
            raw=contract.relations.raw_events,
            as_text=_as_text(contract.key),
            key=Param(key),
            order=contract.copy_order,
        )
    )
    return [Copy(str(b), str(f), int(str(n)), t) for b, f, n, t in rows]


def _chosen(copies: list[Copy], keep: str, where: str) -> Copy:
    if keep == "first":
        return copies[0]
    if keep == "last":
        return copies[-1]
    file, _, line = keep.rpartition(":")
    if not file or not line.isdigit():
        raise ConfigError(f"--keep {keep!r}: use first, last or <source_file>:<line>")
    for c in copies:
        if (c.source_file, c.line_number) == (file, int(line)):
            return c
    listed = ", ".join(f"{c.source_file}:{c.line_number}" for c in copies)
    raise ConfigError(f"--keep {keep!r}: no copy of {where} there; its copies: {listed}")


def resolve(
    warehouse: Warehouse, contract: StreamContract, key: str, keep: str, note: str = ""
) -> Resolution:
    """Record which copy of a held ``key`` the next run publishes."""
    where = f"{contract.stream} key {key!r}"
    if contract.guarantee != Guarantee.EXACTLY_ONCE:
        raise ConfigError(
            f"stream {contract.stream} is {contract.guarantee.value}: conflicting copies are "
            "held only by exactly_once streams (others keep the first landed copy)"
        )
    held = held_keys(warehouse, contract)
    if key not in held:
        shown = ", ".join(held[:10]) + (" ..." if len(held) > 10 else "") if held else "none"
        raise ConfigError(
            f"{where} is not held for conflicting copies "
            f"(dq.{contract.relations.held_conflicts.name} holds: {shown})"
        )
    copies = _copies(warehouse, contract, key)
    kept = _chosen(copies, keep, where)
    row = {
        "stream": contract.stream,
        "key_value": key,
        "batch_id": kept.batch_id,
        "source_file": kept.source_file,
        "line_number": kept.line_number,
        "rule": keep,
        "note": note,
        "resolved_at": datetime.now(UTC).replace(tzinfo=None),
    }
    names = [n for n, _ in RESOLUTIONS]
    warehouse.execute_steps(
        [
            sql(
                "insert into {t} ("
                + ", ".join(names)
                + ") values ("
                + ", ".join(f"{{{n}}}" for n in names)
                + ")",
                t=RESOLUTIONS_RELATION,
                **{n: Param(row[n]) for n in names},
            )
        ]
    )
    return Resolution(contract.stream, key, kept, keep, len(copies))
