"""dbt on DuckDB: messy deliveries in, facts equal to the generator's truth out, and
idempotent under re-runs, replays and batching."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import ORDERS, order_placed
from pipeline import (
    build,
    copy_of,
    deliver_and_build,
    differences,
    fact_checksums,
    land_zone,
)

from onceonly import reconcile
from onceonly.dbt_runner import run_dbt
from onceonly.generate.writer import generate
from onceonly.landing_zone import discover
from onceonly.settings import Settings
from onceonly.sql import Relation, sql
from onceonly.targets import open_target


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("zone")
    generate(out, n_events=4000, days=3, seed=21, profile="messy")
    return out


@pytest.fixture(scope="module")
def built(zone: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The messy zone landed in one batch and built once."""
    settings = Settings(target="duckdb", duckdb_path=tmp_path_factory.mktemp("wh") / "w.duckdb")
    land_zone(settings, zone)
    build(settings)
    return settings


def test_messy_deliveries_build_facts_equal_to_the_truth(built: Settings, zone: Path) -> None:
    assert differences(built, zone / "_truth" / "orders") == {}


def test_truth_holds_every_injected_kind_of_finding(zone: Path) -> None:
    """The comparison above is only as strong as the truth: it must contain each finding."""
    truth = zone / "_truth" / "orders"
    for name in ("sequence_gaps", "event_conflicts", "late_duplicates", "quarantine"):
        assert len((truth / f"{name}.csv").read_text().splitlines()) > 1, name
    statuses = {line.split(",")[2] for line in (truth / "files.csv").read_text().splitlines()[1:]}
    assert statuses == {"landed", "skipped", "rejected"}


def test_second_build_changes_nothing(built: Settings, tmp_path: Path) -> None:
    settings = copy_of(built, tmp_path)
    before = fact_checksums(settings)
    build(settings)
    assert fact_checksums(settings) == before


def test_forced_replay_of_a_file_and_of_an_hour_change_nothing(
    built: Settings, zone: Path, tmp_path: Path
) -> None:
    settings = copy_of(built, tmp_path)
    before = fact_checksums(settings)
    files = discover(zone, "orders").files
    middle = files[len(files) // 2].arrived_at
    summary = land_zone(settings, zone, force=True, start=middle, end=middle + timedelta(hours=1))
    assert summary.total("landed") > 0  # the hour's copies really landed again
    build(settings)
    assert fact_checksums(settings) == before
    one_file = tmp_path / "one"
    src = files[3]
    (one_file / Path(src.source_file).parent).mkdir(parents=True)
    shutil.copy(src.path, one_file / src.source_file)
    land_zone(settings, one_file, force=True)
    build(settings)
    assert fact_checksums(settings) == before


def test_daily_batches_equal_one_batch_after_the_audit(
    built: Settings, zone: Path, tmp_path: Path
) -> None:
    settings = Settings(target="duckdb", duckdb_path=tmp_path / "daily.duckdb")
    hours = sorted({f.arrived_at for f in discover(zone, "orders").files})
    day = hours[0].replace(hour=0)
    batches = 0
    while day <= hours[-1]:
        land_zone(settings, zone, start=day, end=day + timedelta(days=1))
        build(settings)
        day += timedelta(days=1)
        batches += 1
    assert batches >= 10  # the late copies arrive 8-10 days after the first day
    # each run ranked again only the copies of the keys its batch brought a copy of: the
    # same as ranking every copy at once
    ranked = ORDERS.relations.copies_ranked
    incremental = _rows(settings, ranked)
    assert any(row[-1] is not None for row in incremental)  # keys with several copies
    run_dbt("run", settings, ["--full-refresh", "--select", ranked.name])
    assert _rows(settings, ranked) == incremental
    target = open_target(settings)
    try:
        slipped = reconcile.audit(target, ORDERS)
        assert slipped.extra_rows > 0  # late copies slipped past the windowed MERGE
        reconcile.repair(target, ORDERS)
    finally:
        target.close()
    assert fact_checksums(settings) == fact_checksums(built)
    # dq.orders_late_duplicates and the other dq tables, read from the ranked copies
    assert differences(settings, zone / "_truth" / "orders") == {}


def _rows(settings: Settings, relation: Relation) -> list[tuple[object, ...]]:
    """Every row of a relation, in one order (content_hash last)."""
    target = open_target(settings)
    try:
        return sorted(
            target.query(sql("select * exclude (content_hash), content_hash from {r}", r=relation)),
            key=repr,
        )
    finally:
        target.close()


def test_an_order_touched_days_later_is_recomputed_from_all_its_events(tmp_path: Path) -> None:
    """fct_orders recomputes a touched order from all its events, not from the batch's: an
    order placed on the 5th and refunded on the 9th, in a batch whose other events are all
    of the 9th, keeps what the 5th said (a bound on the events read that left out the
    order's first date fails here)."""
    settings = Settings(target="duckdb", duckdb_path=tmp_path / "w.duckdb")
    zone = tmp_path / "zone"
    placed = order_placed("e-a", 0, occurred_at="2026-01-05T10:00:00Z")
    deliver_and_build(settings, zone, "orders/dt=2026-01-05/hour=10/a.jsonl", placed)
    refund = order_placed(
        "e-b",
        1,
        event_type="order_refunded",
        order_id="ord-e-a",
        amount="5.00",
        occurred_at="2026-01-09T08:00:00Z",
    )
    other = order_placed("e-c", 2, occurred_at="2026-01-09T08:30:00Z")
    deliver_and_build(settings, zone, "orders/dt=2026-01-09/hour=08/b.jsonl", refund, other)
    target = open_target(settings)
    try:
        rows = target.query(
            "select order_id, cast(order_date as varchar), customer_id, order_amount, "
            "refunded_amount, status from analytics.fct_orders order by order_id"
        )
    finally:
        target.close()
    money = [(float(a), float(r)) for *_, a, r, _ in rows]
    assert [(o, d, c, s) for o, d, c, *_, s in rows] == [
        ("ord-e-a", "2026-01-05", "cust-1", "order_refunded"),
        ("ord-e-c", "2026-01-09", "cust-1", "order_placed"),
    ]
    assert money == [(19.90, 5.00), (19.90, 0.0)]


def test_duplicate_older_than_the_window_is_found_and_repaired_once(tmp_path: Path) -> None:
    settings = Settings(target="duckdb", duckdb_path=tmp_path / "w.duckdb")
    zone = tmp_path / "zone"
    old = order_placed("e-old", 0, occurred_at="2026-01-05T10:00:00Z")
    deliver_and_build(settings, zone, "orders/dt=2026-01-05/hour=10/a.jsonl", old)
    # nine days later: the same event again, plus a fresh one
    fresh = order_placed("e-new", 1, occurred_at="2026-01-14T09:00:00Z")
    deliver_and_build(settings, zone, "orders/dt=2026-01-14/hour=10/b.jsonl", old, fresh)
    target = open_target(settings)
    try:
        assert target.query(
            "select count(*) from analytics.fct_orders_events where event_id = 'e-old'"
        ) == [(2,)]
        # the aggregates take the first copy of each event: not double-counted even now
        assert target.query(
            "select order_amount, captured_amount from analytics.fct_orders "
            "where order_id = 'ord-e-old'"
        ) == target.query("select 19.90, 0.00")
        [(late,)] = target.query("select count(*) from dq.orders_late_duplicates")
        assert late == 1
        found = reconcile.audit(target, ORDERS)
        assert (found.duplicated_events, found.extra_rows) == (1, 1)
        repaired = reconcile.repair(target, ORDERS)
        assert repaired.removed == 1
        assert target.query(
            "select _source_file from analytics.fct_orders_events where event_id = 'e-old'"
        ) == [("orders/dt=2026-01-05/hour=10/a.jsonl",)]
        assert target.query("select event_id from dq.orders_audit_repairs") == [("e-old",)]
        again = reconcile.repair(target, ORDERS)
        assert (again.extra_rows, again.removed) == (0, 0)
        assert target.query("select count(*) from dq.orders_audit_repairs") == [(1,)]
    finally:
        target.close()


def test_duplicate_inside_the_window_never_reaches_the_facts(tmp_path: Path) -> None:
    settings = Settings(target="duckdb", duckdb_path=tmp_path / "w.duckdb")
    zone = tmp_path / "zone"
    event = order_placed("e-1", 0, occurred_at="2026-01-05T10:00:00Z")
    deliver_and_build(settings, zone, "orders/dt=2026-01-05/hour=10/a.jsonl", event)
    conflicting = dict(event, amount="99.00", occurred_at="2026-01-05T12:00:00+02:00")
    deliver_and_build(settings, zone, "orders/dt=2026-01-08/hour=10/b.jsonl", conflicting)
    target = open_target(settings)
    try:
        assert target.query(
            "select amount::varchar, _source_file from analytics.fct_orders_events"
        ) == [("19.90", "orders/dt=2026-01-05/hour=10/a.jsonl")]
        assert target.query("select event_id, versions from dq.orders_event_conflicts") == [
            ("e-1", 2)
        ]
        assert reconcile.audit(target, ORDERS).exact
    finally:
        target.close()
