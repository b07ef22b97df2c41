"""The inventory stream end to end: stock movements never applied twice, and a movement
delivered with two different contents held until resolved.

fct_stock_levels is held to the generator's truth (stock per sku and warehouse summed
over each movement once) after replays, re-delivered files and late duplicates, on DuckDB
with a batch per day, and on PostgreSQL and the BigQuery emulator in one batch.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from conftest import INVENTORY
from pipeline import (
    build,
    differences,
    fact_checksums,
    held_then_resolved,
    land_zone,
    read_csv,
)

from onceonly import reconcile
from onceonly.generate.writer import generate
from onceonly.landing_zone import discover
from onceonly.settings import Settings
from onceonly.targets import open_target


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("inventory")
    generate(out, n_events=2500, days=3, seed=21, profile="messy", stream="inventory")
    return out


def _truth(zone: Path) -> Path:
    return zone / "_truth" / "inventory"


def test_the_deliveries_hold_every_fault_that_could_apply_a_movement_twice(zone: Path) -> None:
    files = read_csv(_truth(zone) / "files.csv")
    assert any(f["status"] == "skipped" for f in files)  # a file re-delivered byte for byte
    assert any("replay-" in f["source_file"] for f in files)  # an hour replayed
    assert read_csv(_truth(zone) / "late_duplicates.csv")  # copies 8-10 days later
    assert read_csv(_truth(zone) / "event_conflicts.csv")
    gaps = read_csv(_truth(zone) / "sequence_gaps.csv")
    assert gaps and all(int(g["first_missing"]) >= 1 for g in gaps)  # numbered from 1


def test_daily_batches_apply_each_movement_once(zone: Path, tmp_path: Path) -> None:
    """inventory is exactly_once: every daily batch is deduplicated against every movement
    ever published, so the copies arriving 8-10 days late never reach the facts (nothing
    for the audit to remove), and a replay of the whole zone much later changes nothing."""
    assert INVENTORY.guarantee == "exactly_once"
    settings = Settings(target="duckdb", duckdb_path=tmp_path / "daily.duckdb")
    hours = sorted({f.arrived_at for f in discover(zone, "inventory").files})
    day = hours[0].replace(hour=0)
    while day <= hours[-1]:
        land_zone(settings, zone, start=day, end=day + timedelta(days=1), contract=INVENTORY)
        build(settings)
        day += timedelta(days=1)
    assert read_csv(_truth(zone) / "late_duplicates.csv")  # they were delivered
    target = open_target(settings)
    try:
        assert reconcile.audit(target, INVENTORY).exact
        [(negative,)] = target.query(
            "select count(*) from analytics.fct_stock_levels where movements <= 0"
        )
        assert negative == 0
    finally:
        target.close()
    # a conflicting copy that landed before its key was published held the key; one that
    # landed after it was published changed nothing
    conflicts = len(read_csv(_truth(zone) / "event_conflicts.csv"))
    assert 0 < held_then_resolved(settings, _truth(zone), INVENTORY) <= conflicts
    assert differences(settings, _truth(zone), INVENTORY) == {}
    before = fact_checksums(settings, "inventory")
    land_zone(settings, zone, force=True, contract=INVENTORY)
    build(settings)
    assert fact_checksums(settings, "inventory") == before


@pytest.mark.postgres
def test_inventory_on_postgres_equals_the_truth(zone: Path, postgres_env: dict[str, str]) -> None:
    settings = Settings.from_env(target="postgres")
    land_zone(settings, zone, contract=INVENTORY)
    build(settings)
    _every_conflict_held_then_resolved(settings, zone)
    assert differences(settings, _truth(zone), INVENTORY) == {}


def _every_conflict_held_then_resolved(settings: Settings, zone: Path) -> None:
    """In one batch every conflicting key is held (none was published before its second
    copy landed); resolved as the truth does, the stream equals the truth."""
    conflicts = len(read_csv(_truth(zone) / "event_conflicts.csv"))
    assert held_then_resolved(settings, _truth(zone), INVENTORY) == conflicts > 0


def test_inventory_on_the_bigquery_emulator_equals_the_truth(zone: Path, bigquery_env) -> None:
    settings = Settings.from_env(target="bigquery")
    land_zone(settings, zone, contract=INVENTORY)
    build(settings)
    _every_conflict_held_then_resolved(settings, zone)
    assert differences(settings, _truth(zone), INVENTORY) == {}
