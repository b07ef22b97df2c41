"""Landing zones in buckets: S3 (moto's server) and GCS (gcp-storage-emulator), on loopback.

The same messy deliveries, uploaded under a prefix, land as the local folder lands them
and build facts equal to the truth, on DuckDB and on PostgreSQL, through the CLI and the
DAGs; an object rewritten in place is a new delivery.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from conftest import ORDERS, jsonl, order_placed
from object_stores import NewBucket
from pipeline import build, differences, land_zone

from onceonly.generate.writer import generate
from onceonly.object_store import unversioned
from onceonly.orchestration.runner import run_dags
from onceonly.settings import Settings
from onceonly.targets import open_target

PREFIX = "deliveries/v1/"
HOUR = "orders/dt=2026-01-05/hour=10/"


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("zone")
    generate(out, n_events=600, days=1, seed=11, profile="messy")
    return out


def _ledger(settings: Settings) -> list[tuple[object, ...]]:
    """The ledger without batch ids and times, an object's version taken off its name."""
    target = open_target(settings)
    try:
        rows = target.query(
            "select source_file, sha256, status, lines_read, rows_landed, rows_quarantined, "
            "detail from raw.load_ledger order by source_file, status"
        )
    finally:
        target.close()
    names = re.compile(r"[^ ]+(\?versionId=[^ ]+|#\d+)")  # in the detail too
    return [
        tuple(names.sub(lambda m: unversioned(m[0]), v) if isinstance(v, str) else v for v in r)
        for r in rows
    ]


@pytest.mark.parametrize("scheme", ["s3", "gs"])
@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_bucket_landing_equals_the_truth(
    scheme: str,
    target: str,
    zone: Path,
    new_bucket: NewBucket,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    """Orders from a bucket land as the folder does and build facts equal to the truth."""
    server, name, bucket = new_bucket(scheme, PREFIX)
    assert server.upload(name, PREFIX, zone) > 20
    if target == "postgres":
        request.getfixturevalue("postgres_env")
    settings = Settings.from_env(target=target, duckdb_path=tmp_path / "w.duckdb", landing=bucket)
    summary = land_zone(settings, bucket)
    assert summary.count("landed") > 20 and summary.count("rejected") >= 1
    assert summary.total("quarantined") > 0
    build(settings)
    assert differences(settings, zone / "_truth" / "orders") == {}
    if target == "duckdb":  # the bucket's ledger is the folder's, file by file
        local = Settings(target="duckdb", duckdb_path=tmp_path / "local.duckdb", landing=zone)
        land_zone(local, zone)
        assert _ledger(settings) == _ledger(local)


def test_an_object_rewritten_in_place_is_a_new_delivery_and_deduplicated(
    new_bucket: NewBucket,
    tmp_path: Path,
) -> None:
    """A versioned bucket keeps both versions: each lands once (by content), the second
    version's copy of an event already landed is deduplicated, and its new event counts;
    the ledger names each version as S3's tools do."""
    server, name, bucket = new_bucket("s3", PREFIX, versioned=True)
    settings = Settings(target="duckdb", duckdb_path=tmp_path / "w.duckdb", landing=bucket)
    first, second = order_placed("e-1", 0), order_placed("e-2", 1)
    server.put(name, PREFIX + HOUR + "part-0.jsonl", jsonl(first))
    assert land_zone(settings, bucket).count("landed") == 1
    server.put(name, PREFIX + HOUR + "part-0.jsonl", jsonl(first, second))  # reprocessed
    again = land_zone(settings, bucket)
    assert [f.status for f in again.files] == ["skipped", "landed"]  # version 1, version 2
    assert again.total("landed") == 2
    build(settings)
    target = open_target(settings)
    try:
        facts = target.query("select event_id from analytics.fct_orders_events order by 1")
        ledger = target.query(
            "select source_file, status from raw.load_ledger order by attempted_at, status"
        )
        copies = target.query("select count(*) from raw.orders_events")
    finally:
        target.close()
    assert facts == [("e-1",), ("e-2",)] and copies == [(3,)]
    versions = [source for source, status in ledger if status == "landed"]
    assert len(set(versions)) == 2
    assert all(v.startswith(HOUR + "part-0.jsonl?versionId=") for v in versions)


def test_an_unversioned_object_rewritten_lands_its_new_content(
    new_bucket: NewBucket,
    tmp_path: Path,
) -> None:
    server, name, bucket = new_bucket("gs", PREFIX)
    settings = Settings(target="duckdb", duckdb_path=tmp_path / "w.duckdb", landing=bucket)
    server.put(name, PREFIX + HOUR + "a.jsonl", jsonl(order_placed("e-1", 0)))
    land_zone(settings, bucket)
    both = jsonl(order_placed("e-1", 0), order_placed("e-2", 1))
    server.put(name, PREFIX + HOUR + "a.jsonl", both)
    again = land_zone(settings, bucket)
    assert [f.status for f in again.files] == ["landed"] and again.total("landed") == 2
    build(settings)
    target = open_target(settings)
    try:
        facts = target.query("select event_id from analytics.fct_orders_events order by 1")
    finally:
        target.close()
    assert facts == [("e-1",), ("e-2",)]


def test_a_landing_interval_lists_only_its_hours(
    new_bucket: NewBucket,
    tmp_path: Path,
) -> None:
    """Objects outside [start, end), even misnamed ones, are not seen by that landing."""
    server, name, bucket = new_bucket("s3", PREFIX)
    settings = Settings(target="duckdb", duckdb_path=tmp_path / "w.duckdb", landing=bucket)
    server.put(name, PREFIX + HOUR + "a.jsonl", jsonl(order_placed("e-1", 0)))
    server.put(name, PREFIX + "orders/dt=2026-01-05/hour=11/b.jsonl", jsonl(order_placed("e-2", 1)))
    server.put(name, PREFIX + "orders/notes.txt", b"not a delivery\n")
    hour = land_zone(settings, bucket, start=datetime(2026, 1, 5, 10), end=datetime(2026, 1, 5, 11))
    assert [f.source_file for f in hour.files] == [HOUR + "a.jsonl"] and hour.refused == []
    whole = land_zone(settings, bucket)
    assert [f.status for f in whole.files] == ["skipped", "landed"]
    assert [r.source_file for r in whole.refused] == ["orders/notes.txt"]


def test_the_cli_and_the_dags_land_from_a_bucket(
    zone: Path,
    new_bucket: NewBucket,
    tmp_path: Path,
) -> None:
    """`onceonly land --landing s3://...` exits as for the folder (3: a file rejected), and
    the DAGs, handed the bucket through the environment, build facts equal to the truth."""
    server, name, bucket = new_bucket("s3", PREFIX)
    server.upload(name, PREFIX, zone)
    server.put(name, PREFIX + "refunds/dt=2026-01-05/hour=10/r.jsonl", b"{}\n")  # undeclared
    cli = [sys.executable, "-m", "onceonly", "land", "--landing"]
    env = {**os.environ, "ONCEONLY_DUCKDB_PATH": str(tmp_path / "cli.duckdb")}
    landed = subprocess.run(
        [*cli, f"s3://{name}/{PREFIX}"], env=env, capture_output=True, text=True, timeout=300
    )
    assert landed.returncode == 3, landed.stderr[-2000:]
    assert "orders" in landed.stdout
    assert "refunds/ matches no stream declaration" in " ".join(landed.stderr.split())
    assert "inventory: no folder in" in " ".join(landed.stderr.split())
    missing = subprocess.run(
        [*cli, "s3://no-such-bucket-here/x"], env=env, capture_output=True, text=True, timeout=300
    )
    lines = missing.stderr.strip().splitlines()
    assert missing.returncode == 2 and len(lines) == 1, missing.stderr[-2000:]
    assert lines[0].startswith("error: s3://no-such-bucket-here/x/: cannot list the bucket")
    settings = Settings(
        target="duckdb",
        duckdb_path=tmp_path / "dags.duckdb",
        landing=bucket,
        reports_dir=tmp_path / "reports",
        retry_delay_seconds=0.0,
    )
    [plan] = run_dags(settings, [ORDERS.stream])
    assert plan.start is not None
    assert differences(settings, zone / "_truth" / "orders") == {}


def test_a_gcs_landing_zone_lands_into_bigquery_as_into_duckdb(
    zone: Path,
    new_bucket: NewBucket,
    bigquery_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """Objects read from GCS are validated line by line as they stream in, then their
    valid rows go to BigQuery by load job: the same rows, quarantine and file outcomes as
    the same bucket landed into DuckDB."""
    server, name, bucket = new_bucket("gs", PREFIX)
    server.upload(name, PREFIX, zone)
    counts = (
        "select (select count(*) from raw.orders_events), (select count(*) from raw.quarantine), "
        "(select count(*) from raw.load_ledger where status = 'landed')"
    )
    figures = []
    for settings in (
        Settings.from_env(target="bigquery", landing=bucket),
        Settings(target="duckdb", duckdb_path=tmp_path / "w.duckdb", landing=bucket),
    ):
        land_zone(settings, bucket)
        target = open_target(settings)
        try:
            figures.append(target.query(counts))
        finally:
            target.close()
    assert figures[0] == figures[1] and figures[0][0][0] > 0
