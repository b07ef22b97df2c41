"""Helpers that drive the real pipeline steps (landing, dbt, audit) on a target."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from conftest import ORDERS

from onceonly.contract import StreamContract
from onceonly.dbt_runner import run_dbt
from onceonly.generate.model import models
from onceonly.landing import land
from onceonly.settings import Settings
from onceonly.sql import Relation
from onceonly.targets import open_target, scratch
from onceonly.truth_check import Comparison, checksum, compare, resolve_held_as_truth


def fact_tables(stream: str = "orders") -> list[Comparison]:
    """The facts and marts of one of the generator's streams."""
    return [
        Comparison(name, Relation("analytics", name), columns)
        for name, columns in models()[stream].truth_columns.items()
    ]


def land_zone(
    settings: Settings,
    landing: Path,
    force: bool = False,
    start: datetime | None = None,
    end: datetime | None = None,
    contract: StreamContract = ORDERS,
):
    target = open_target(settings)
    try:
        return land(landing, target, contract, start=start, end=end, force=force)
    finally:
        target.close()


def build(settings: Settings) -> None:
    run_dbt("build", settings)


def held_then_resolved(settings: Settings, truth: Path, contract: StreamContract) -> int:
    """exactly_once: resolve the keys the warehouse holds for conflicting copies as the
    truth does (each must be a conflict in the truth), then build; how many were held."""
    target = open_target(settings)
    try:
        held = resolve_held_as_truth(target, contract, truth)
    finally:
        target.close()
    if held:
        build(settings)
    return held


def differences(
    settings: Settings, truth: Path, contract: StreamContract = ORDERS
) -> dict[str, tuple[int, int]]:
    """Tables that differ from the truth: name -> (rows missing, rows unexpected)."""
    target = open_target(settings)
    try:
        return {
            d.table: (sum(d.missing.values()), sum(d.unexpected.values()))
            for d in compare(target, truth, contract)
            if not d.equal
        }
    finally:
        target.close()


def fact_checksums(settings: Settings, stream: str = "orders") -> dict[str, str]:
    target = open_target(settings)
    try:
        return {
            str(c.relation): checksum(target, c.relation, c.columns) for c in fact_tables(stream)
        }
    finally:
        target.close()


def copy_of(settings: Settings, tmp_path: Path) -> Settings:
    """A copy of a DuckDB warehouse (with its WAL) to change without touching the original."""
    return scratch(settings.with_(duckdb_path=tmp_path / "warehouse.duckdb"), "copy", settings)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def write_events(root: Path, rel: str, *events: dict[str, object]) -> None:
    """A landing file ``root/rel`` holding the events as JSON lines."""
    from conftest import jsonl

    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jsonl(*events))


def deliver_and_build(settings: Settings, root: Path, rel: str, *events: dict[str, object]) -> None:
    """One more delivered file, ``root/rel`` with the events, landed and built."""
    write_events(root, rel, *events)
    land_zone(settings, root)
    build(settings)


def dead_port() -> int:
    """A loopback port nothing listens on."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
