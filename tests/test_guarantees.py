"""Each stream chooses its guarantee (streams/<name>.yml, `guarantee:`). Here the orders
events declared at_least_once: every valid copy is appended to the facts, duplicates
counted and kept; on DuckDB and on PostgreSQL, held to the generator's truth."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pipeline import build, land_zone, read_csv

from onceonly.generate.writer import generate
from onceonly.report.build import build_report
from onceonly.settings import Settings
from onceonly.sql import sql
from onceonly.streams import load_streams
from onceonly.targets import open_target
from onceonly.truth_check import compare

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("zone")
    generate(out, n_events=1500, days=2, seed=41, profile="messy", stream="orders")
    return out


@pytest.fixture(scope="module")
def streams(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped orders declaration with one line more: ``guarantee: at_least_once``."""
    folder = tmp_path_factory.mktemp("streams")
    text = (REPO / "streams" / "orders.yml").read_text()
    (folder / "orders.yml").write_text(text + "\nguarantee: at_least_once\n")
    return folder


def _settings(target: str, streams: Path, tmp_path: Path) -> Settings:
    if target == "duckdb":
        return Settings(target="duckdb", duckdb_path=tmp_path / "w.duckdb", streams_dir=streams)
    return Settings.from_env(target=target, streams_dir=streams)


#: the targets of a test, each after the fixture its server needs
TARGETS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
SERVER = {"postgres": "postgres_env", "bigquery": "bigquery_env"}


@pytest.mark.parametrize("target", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_at_least_once_facts_hold_every_valid_copy(
    target: str, zone: Path, streams: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if target == "postgres":
        request.getfixturevalue("postgres_env")
    settings = _settings(target, streams, tmp_path)
    contract = load_streams(streams)["orders"]
    assert contract.guarantee == "at_least_once"
    land_zone(settings, zone, contract=contract)
    build(settings)
    build(settings)  # a rerun appends nothing: the watermark holds
    truth = zone / "_truth" / "orders"
    files = [f for f in read_csv(truth / "files.csv") if f["status"] == "landed"]
    valid_copies = sum(int(f["landed"]) for f in files)
    duplicates = sum(int(f["duplicates_in_file"]) + int(f["duplicates_of_earlier"]) for f in files)
    events = {r["event_id"] for r in read_csv(truth / "fct_orders_events.csv")}
    assert duplicates > 0  # the zone holds duplicate copies: the facts must keep them
    target_ = open_target(settings)
    try:
        [(rows, distinct)] = target_.query(
            "select count(*), count(distinct event_id) from analytics.fct_orders_events"
        )
        ids = {str(e) for (e,) in target_.query("select event_id from analytics.fct_orders_events")}
        # row for row the landed copies: the same file and line, each once
        [(unmatched,)] = target_.query(
            "select count(*) from raw.orders_events r left join analytics.fct_orders_events f "
            "on f._source_file = r._source_file and f._line_number = r._line_number "
            "and f._loaded_at = r._loaded_at where f.event_id is null"
        )
        # the facts hold a producer's number once per copy: the holes must still be the truth's
        [(repeated_numbers,)] = target_.query(
            "select count(*) from (select producer_id, producer_epoch, sequence_number "
            "from analytics.fct_orders_events group by 1, 2, 3 having count(*) > 1) as r"
        )
        differing = {d.table for d in compare(target_, truth, contract) if not d.equal}
    finally:
        target_.close()
    assert (rows, distinct, unmatched) == (valid_copies, len(events), 0)
    assert ids == events
    assert repeated_numbers > 0
    assert read_csv(truth / "sequence_gaps.csv") and "sequence_gaps" not in differing

    written = build_report(settings, [contract], tmp_path / "reports")
    summary = json.loads((tmp_path / "reports" / "orders" / "summary.json").read_text())
    assert summary["guarantee"] == "at_least_once" and summary["held"] is True, summary["verdict"]
    assert written.held is True
    assert summary["totals"]["duplicates_removed"] == duplicates  # counted, and kept
    assert (summary["totals"]["fact_rows"], summary["totals"]["fact_event_ids"]) == (
        valid_copies,
        len(events),
    )
    names = {c["name"]: c for c in summary["checks"]}
    assert "duplicates.key_unique" not in names
    assert names["reconciliation.copies_in_facts"]["success"] is True
    page = (tmp_path / "reports" / "orders" / "index.html").read_text()
    assert "At least once: yes" in page and "duplicate copies kept" in page
    # what the guarantee cost, from dbt's timings of the last run
    assert set(summary["cost"]) == {"append", "total", "last_run"}
    assert summary["cost"]["append"] > 0 and 'data-testid="cost"' in page

    # nothing for the audit to remove: duplicates are the point
    if target == "duckdb":
        audit = subprocess.run(
            [sys.executable, "-m", "onceonly", "reconcile", "--full", "--repair"],
            env={
                "PATH": "/usr/bin:/bin",
                "ONCEONLY_DUCKDB_PATH": str(settings.duckdb_path),
                "ONCEONLY_STREAMS_DIR": str(streams),
            },
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert audit.returncode == 0, audit.stderr
        assert "orders: at least once: duplicate copies are kept by design" in audit.stderr


LEDGER = """\
name: ledger
description: Account postings, each published once or not at all.
guarantee: exactly_once
fields:
  txn_id: {type: string, required: true, not_blank: true}
  account: {type: string, required: true}
  amount: {type: "decimal(12, 2)", required: true}
  posted_at: {type: timestamp, required: true}
  source: {type: string, required: true}
  seq: {type: integer, required: true, min: 1}
roles:
  key: txn_id
  event_time: posted_at
  producer: {id: source, sequence: seq, sequence_start: 1}
checks:
  gaps.sequence_holes: error   # a posting may not be published past a missing one
"""


def _ledger(
    target: str, tmp_path: Path, request: pytest.FixtureRequest, declaration: str = ""
) -> tuple[Settings, Path]:
    """A ``ledger`` stream (``LEDGER`` unless another declaration is given) on a target
    whose server the test starts: its settings and its streams folder."""
    if target in SERVER:
        request.getfixturevalue(SERVER[target])
    streams = tmp_path / "streams"
    streams.mkdir()
    (streams / "ledger.yml").write_text(declaration or LEDGER)
    return _settings(target, streams, tmp_path), streams


def _published_txns(settings: Settings) -> list[str]:
    """The ledger's published txn_ids, in order."""
    warehouse = open_target(settings)
    try:
        rows = warehouse.query("select txn_id from analytics.fct_ledger_events order by 1")
    finally:
        warehouse.close()
    return [str(k) for (k,) in rows]


def _posting(seq: int, day: str = "2026-03-01") -> bytes:
    line = {
        "txn_id": f"t{seq}",
        "account": "acc-1",
        "amount": f"{seq}.00",
        "posted_at": f"{day}T09:{seq:02d}:00Z",
        "source": "core",
        "seq": seq,
    }
    return json.dumps(line).encode() + b"\n"


@pytest.mark.parametrize("target", [*TARGETS, "bigquery"])
def test_exactly_once_publishes_a_batch_only_when_its_checks_pass(
    target: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Write-audit-publish: a batch that would publish past a missing posting waits,
    facts untouched, until the posting arrives; a copy arriving 30 days late never
    reaches the facts; a batch written but not published leaves the facts as they were."""
    from onceonly.dbt_runner import DbtError, run_dbt

    settings, streams = _ledger(target, tmp_path, request)
    contract = load_streams(streams)["ledger"]
    zone = tmp_path / "zone"

    def deliver(hour: str, name: str, *lines: bytes) -> None:
        folder = zone / "ledger" / hour
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"".join(lines))
        land_zone(settings, zone, contract=contract)

    def published() -> list[tuple[str, int]]:
        warehouse = open_target(settings)
        try:
            rows = warehouse.query(
                "select txn_id, count(*) from analytics.fct_ledger_events group by 1 order by 1"
            )
        finally:
            warehouse.close()
        return [(str(k), int(str(n))) for k, n in rows]

    deliver("dt=2026-03-01/hour=10", "a.jsonl", _posting(1), _posting(2), _posting(2), _posting(3))
    build(settings)
    assert published() == [("t1", 1), ("t2", 1), ("t3", 1)]

    # posting 4 is missing: the batch (5, and a re-sent 1) fails its audit, nothing moves
    deliver("dt=2026-03-01/hour=11", "b.jsonl", _posting(5), _posting(1))
    with pytest.raises(DbtError, match="no_sequence_holes"):
        build(settings)
    assert published() == [("t1", 1), ("t2", 1), ("t3", 1)]

    # 30 days later posting 4 arrives with a copy of 3: the waiting batch goes out with it
    deliver("dt=2026-03-31/hour=08", "c.jsonl", _posting(4), _posting(3))
    build(settings)
    assert published() == [(f"t{n}", 1) for n in range(1, 6)]

    # written and audited, not yet published (a run stopped between the two): facts as
    # before; the next run publishes it, once
    deliver("dt=2026-03-31/hour=09", "d.jsonl", _posting(6))
    r = contract.relations
    run_dbt("build", settings, ["-s", r.writes.name, r.unpublished_batch.name])
    assert published() == [(f"t{n}", 1) for n in range(1, 6)]
    # the publish run alone twice over that one written batch: published once, as the
    # batch is empty once its write is published
    run_dbt("run", settings, ["-s", r.publications.name])
    run_dbt("run", settings, ["-s", r.publications.name])
    assert published() == [(f"t{n}", 1) for n in range(1, 7)]
    build(settings)
    assert published() == [(f"t{n}", 1) for n in range(1, 7)]

    # `dbt build --full-refresh` (a dbt user's habit) keeps what was published: the facts
    # are never rebuilt from the batch alone, and the next run publishes as before
    run_dbt("build", settings, ["--full-refresh"])
    assert published() == [(f"t{n}", 1) for n in range(1, 7)]
    deliver("dt=2026-03-31/hour=10", "e.jsonl", _posting(7))
    build(settings)
    assert published() == [(f"t{n}", 1) for n in range(1, 8)]

    # a write that would publish a key again (forged here: a faulty write) fails the
    # audit of every published key and is never published; the next write replaces it
    columns = ", ".join(
        [*contract.field_names, "_event_date", "_extra", "_batch_id", "_source_file"]
        + ["_line_number", "_arrived_at", "_loaded_at", "_chosen"]
    )
    warehouse = open_target(settings)
    try:
        warehouse.execute_steps(
            [
                sql(
                    "insert into {w} ({c}, _write_id) select {c}, _write_id + 100 from {w} "
                    "where txn_id = 't1'",
                    w=r.writes,
                    c=columns,
                )
            ]
        )
    finally:
        warehouse.close()
    with pytest.raises(DbtError, match="unique_in_history"):
        run_dbt("build", settings, ["-s", r.unpublished_batch.name, r.publications.name])
    assert published() == [(f"t{n}", 1) for n in range(1, 8)]
    build(settings)
    assert published() == [(f"t{n}", 1) for n in range(1, 8)]


def test_exactly_once_under_the_dags_publishes_nothing_past_a_failing_audit(
    tmp_path: Path,
) -> None:
    """The scheduled path (land and transform DAGs, dbt through Cosmos): the batch's
    tests run before the facts take it in, so a failing audit fails the run and leaves
    the facts as they were; once the missing posting arrives, the next run publishes."""
    from onceonly.orchestration.runner import DagRunFailed, run_dags

    streams = tmp_path / "streams"
    streams.mkdir()
    (streams / "ledger.yml").write_text(LEDGER)
    zone = tmp_path / "zone"
    settings = Settings(
        target="duckdb",
        duckdb_path=tmp_path / "w.duckdb",
        streams_dir=streams,
        landing=zone,
        reports_dir=tmp_path / "reports",
        retry_delay_seconds=0.0,  # dag.test() waits out each retry's delay
    )

    def deliver(hour: str, name: str, *lines: bytes) -> None:
        folder = zone / "ledger" / hour
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"".join(lines))

    def published() -> list[str]:
        return _published_txns(settings)

    deliver("dt=2026-03-01/hour=10", "a.jsonl", _posting(1), _posting(2))
    run_dags(settings, ["ledger"])
    assert published() == ["t1", "t2"]
    deliver("dt=2026-03-01/hour=11", "b.jsonl", _posting(4))
    with pytest.raises(DagRunFailed, match="transform_ledger"):
        run_dags(settings, ["ledger"])
    assert published() == ["t1", "t2"]
    # the report is still written, and says what waits and why
    summary = json.loads((tmp_path / "reports" / "ledger" / "summary.json").read_text())
    assert summary["totals"]["unpublished"] == 1
    assert any(
        " value waiting unpublished in 1 file of landing run " in line
        for line in summary["verdict"]
    ), summary["verdict"]
    deliver("dt=2026-03-01/hour=12", "c.jsonl", _posting(3))
    run_dags(settings, ["ledger"])
    assert published() == ["t1", "t2", "t3", "t4"]
    summary = json.loads((tmp_path / "reports" / "ledger" / "summary.json").read_text())
    assert summary["totals"]["unpublished"] == 0 and summary["held"] is True


def _manifest(folder: Path, name: str, **totals: str) -> None:
    """The producer's manifest of ``folder/name``: its lines, its bytes' sha256 and
    the control totals it declares."""
    import hashlib

    data = (folder / name).read_bytes()
    (folder / f"{name}.manifest.json").write_text(
        json.dumps(
            {
                "record_count": data.count(b"\n"),
                "sha256": hashlib.sha256(data).hexdigest(),
                "control_totals": totals,
            }
        )
    )


@pytest.mark.parametrize("target", [*TARGETS, "bigquery"])
def test_exactly_once_holds_a_batch_whose_control_totals_do_not_add_up(
    target: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A posting the declaration quarantines leaves its file short of the amount its
    manifest declares: the batch waits, facts untouched, and the report names the
    waiting landing run, the file and the check. Once the declaration is fixed and the
    file landed again (--force), the next run publishes it. (On the BigQuery emulator the
    report's figures are read without the GX checkpoint, whose DB-API queries the
    emulator takes only through test_bigquery's shim.)"""
    from onceonly.dbt_runner import DbtError
    from onceonly.report.figures import read_figures

    strict = (
        LEDGER.replace(
            'amount: {type: "decimal(12, 2)", required: true}',
            'amount: {type: "decimal(12, 2)", required: true, max: 100}',
        ).split("checks:")[0]
        + "control_totals: [amount]\n"
    )
    assert strict != LEDGER and "max: 100" in strict
    settings, streams = _ledger(target, tmp_path, request, strict)
    zone = tmp_path / "zone"

    def deliver(hour: str, name: str, total: str, *lines: bytes) -> None:
        folder = zone / "ledger" / hour
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"".join(lines))
        _manifest(folder, name, amount=total)

    def land(force: bool = False) -> None:
        land_zone(settings, zone, force=force, contract=load_streams(streams)["ledger"])

    def published() -> list[str]:
        return _published_txns(settings)

    deliver("dt=2026-03-01/hour=10", "a.jsonl", "6.00", _posting(1), _posting(2), _posting(3))
    land()
    build(settings)
    assert published() == ["t1", "t2", "t3"]

    # postings 4 and 5 pass; 6, of 150.00, is over the declared max and quarantined:
    # b.jsonl lands 9.00 of the 159.00 its manifest declares
    big = json.loads(_posting(6))
    big["amount"] = "150.00"
    deliver(
        "dt=2026-03-01/hour=11",
        "b.jsonl",
        "159.00",
        _posting(4),
        _posting(5),
        json.dumps(big).encode() + b"\n",
    )
    land()
    with pytest.raises(DbtError, match="control_totals_match"):
        build(settings)
    assert published() == ["t1", "t2", "t3"]

    contract = load_streams(streams)["ledger"]
    warehouse = open_target(settings)
    try:
        waiting = read_figures(warehouse, contract).waiting
    finally:
        warehouse.close()
    assert waiting["keys"] == 2
    assert [f["source_file"] for f in waiting["files"]] == ["ledger/dt=2026-03-01/hour=11/b.jsonl"]
    [gate] = waiting["failed_gates"]
    assert gate["name"] == "control_totals"
    [row] = gate["rows"]
    assert (row["source_file"], row["field"]) == ("ledger/dt=2026-03-01/hour=11/b.jsonl", "amount")
    assert (float(row["declared"]), float(row["landed"])) == (159.0, 9.0)
    if target != "bigquery":
        build_report(settings, [contract], tmp_path / "reports")
        summary = json.loads((tmp_path / "reports" / "ledger" / "summary.json").read_text())
        assert summary["waiting"] == json.loads(json.dumps(waiting)) and not summary["held"]
        page = (tmp_path / "reports" / "ledger" / "index.html").read_text()
        assert "Publish check <code>control_totals</code> failed" in page
        assert "b.jsonl" in page and waiting["files"][0]["batch_id"] in page

    # the cause fixed: the declaration allows the amount; the file is landed again
    (streams / "ledger.yml").write_text(strict.replace(", max: 100}", "}"))
    land(force=True)
    build(settings)
    assert published() == [f"t{n}" for n in range(1, 7)]
    warehouse = open_target(settings)
    try:
        waiting = read_figures(warehouse, load_streams(streams)["ledger"]).waiting
    finally:
        warehouse.close()
    assert waiting == {"keys": 0, "files": [], "failed_gates": [], "held": []}


def _postings(first: int, n: int) -> bytes:
    """Postings ``first`` .. ``first + n - 1`` of one source, a second apart."""
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 3, 1, tzinfo=UTC)
    return b"".join(
        json.dumps(
            {
                "txn_id": f"t{seq}",
                "account": f"acc-{seq % 7}",
                "amount": f"{seq % 1000}.25",
                "posted_at": (start + timedelta(seconds=seq)).isoformat(),
                "source": "core",
                "seq": seq,
            }
        ).encode()
        + b"\n"
        for seq in range(first, first + n)
    )


@pytest.mark.parametrize("target", TARGETS)
def test_exactly_once_killed_between_write_and_publish_is_never_half_published(
    target: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """kill -9 of `dbt build` while the batch is written, as the publish starts and while
    it runs: the facts are as before or as after, never half; the next run publishes the
    batch, each key once."""
    import signal
    import time

    from onceonly.dbt_runner import dbt_build_process

    settings, streams = _ledger(target, tmp_path, request)
    contract = load_streams(streams)["ledger"]
    zone = tmp_path / "zone"
    size = 60_000

    def facts() -> tuple[int, int]:
        warehouse = open_target(settings)
        try:
            [(rows, keys)] = warehouse.query(
                "select count(*), count(distinct txn_id) from analytics.fct_ledger_events"
            )
        finally:
            warehouse.close()
        return int(str(rows)), int(str(keys))

    def build_apart() -> None:
        """`dbt build` in a process of its own (in this one, dbt would keep the DuckDB
        file open)."""
        process = dbt_build_process(settings, tmp_path)
        out, _ = process.communicate(timeout=600)
        assert process.returncode == 0, out.decode()[-3000:]

    build_apart()  # the project built once, empty
    kill_points = [
        (contract.relations.writes.name, 0.05),  # while the batch is written
        (contract.relations.writes.name, 0.5),  # (about when a 60k batch is in, here)
        (contract.relations.publications.name, 0.0),  # as the publish starts
        (contract.relations.facts.name, 0.0),  # after it, as the facts view is made
    ]
    published = 0
    outcomes = []
    for hour, (node, delay) in enumerate(kill_points):
        folder = zone / "ledger" / f"dt=2026-03-02/hour={hour:02d}"
        folder.mkdir(parents=True)
        (folder / "postings.jsonl").write_bytes(_postings(published + 1, size))
        land_zone(settings, zone, contract=contract)
        process = dbt_build_process(settings, tmp_path)
        assert process.stdout is not None
        seen = []
        for raw in process.stdout:
            line = raw.decode(errors="replace")
            seen.append(line)
            if "START" in line and f".{node} " in line:
                time.sleep(delay)
                break
        else:
            pytest.fail(f"dbt build never started {node}:\n{''.join(seen[-20:])}")
        process.send_signal(signal.SIGKILL)
        process.wait()
        after_kill = facts()
        assert after_kill in ((published, published), (published + size, published + size))
        outcomes.append(after_kill[0] - published)
        build_apart()
        published += size
        assert facts() == (published, published)
    # killed while the batch was written, the facts cannot have moved; once its
    # publication is in, they hold the whole batch
    assert outcomes[:2] == [0, 0] and outcomes[3] == size, outcomes


@pytest.mark.parametrize("target", [*TARGETS, "bigquery"])
def test_exactly_once_holds_a_conflicting_key_until_resolved(
    target: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Copies of one key with different content: exactly_once publishes neither, holds
    the key in dq.<stream>_held_conflicts and publishes the rest; `onceonly resolve`
    (the command a user runs) chooses a copy and the next run publishes that one. A
    differing copy of a key already published changes nothing and is reported."""
    import os

    from onceonly.report.figures import read_figures

    settings, streams = _ledger(target, tmp_path, request, LEDGER.split("checks:")[0])
    contract = load_streams(streams)["ledger"]
    zone = tmp_path / "zone"
    hour = "dt=2026-03-01/hour=10"

    def deliver(name: str, *lines: bytes) -> str:
        folder = zone / "ledger" / hour
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"".join(lines))
        land_zone(settings, zone, contract=contract)
        return f"ledger/{hour}/{name}"

    def amounts() -> dict[str, str]:
        warehouse = open_target(settings)
        try:
            rows = warehouse.query("select txn_id, amount from analytics.fct_ledger_events")
        finally:
            warehouse.close()
        return {str(k): f"{float(str(v)):.2f}" for k, v in rows}

    def fact_rows() -> int:
        warehouse = open_target(settings)
        try:
            [(n,)] = warehouse.query("select count(*) from analytics.fct_ledger_events")
        finally:
            warehouse.close()
        return int(str(n))

    def waiting() -> dict:
        warehouse = open_target(settings)
        try:
            return read_figures(warehouse, contract).waiting
        finally:
            warehouse.close()

    def resolve(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "onceonly", "resolve", "--stream", "ledger", *args],
            env={**os.environ, **settings.environment()},
            capture_output=True,
            text=True,
            timeout=300,
        )

    changed = json.loads(_posting(2))
    changed["amount"] = "20.00"
    deliver("a.jsonl", _posting(1), _posting(2), _posting(3))
    second = deliver("b.jsonl", json.dumps(changed).encode() + b"\n", _posting(4))
    build(settings)
    assert amounts() == {"t1": "1.00", "t3": "3.00", "t4": "4.00"}
    assert waiting()["held"] == [{"key": "t2", "copies": 2, "versions": 2}]
    if target != "bigquery":  # (GX on the emulator needs test_bigquery's shim)
        build_report(settings, [contract], tmp_path / "reports")
        summary = json.loads((tmp_path / "reports" / "ledger" / "summary.json").read_text())
        checks = {c["name"]: c for c in summary["checks"]}
        assert checks["reconciliation.events_in_facts"]["success"] is True
        assert summary["held"] is True
        assert any("held out of the facts" in line for line in summary["verdict"])
        page = (tmp_path / "reports" / "ledger" / "index.html").read_text()
        assert 'data-testid="held-conflicts"' in page
        cost = summary["cost"]
        assert set(cost) == {"write", "publish checks", "publish", "total", "last_run"}
        assert min(cost["write"], cost["publish checks"], cost["publish"]) > 0
        assert cost["total"] == pytest.approx(
            cost["write"] + cost["publish checks"] + cost["publish"], abs=0.02
        )

    # a later batch with one more copy of the held key, the same as its first: the key
    # stays held (its earlier copies landed before the facts' newest load), the rest of
    # the batch is published
    deliver("b2.jsonl", _posting(2), _posting(5))
    build(settings)
    assert amounts() == {"t1": "1.00", "t3": "3.00", "t4": "4.00", "t5": "5.00"}
    assert waiting()["held"] == [{"key": "t2", "copies": 3, "versions": 2}]

    not_held = resolve("--key", "t1", "--keep", "first")
    assert not_held.returncode == 2
    assert "ledger key 't1' is not held" in not_held.stderr and "t2" in not_held.stderr
    nowhere = resolve("--key", "t2", "--keep", "nowhere.jsonl:9")
    assert nowhere.returncode == 2 and f"{second}:1" in nowhere.stderr, nowhere.stderr
    chosen = resolve("--key", "t2", "--keep", f"{second}:1", "--note", "the bank's figure")
    assert chosen.returncode == 0, chosen.stderr
    assert "keeps" in chosen.stdout and "3 copies" in chosen.stdout

    # the chosen copy landed before the facts' newest load: a batch of it alone leaves
    # that load where it was, and the facts run alone twice still publish it once
    from onceonly.dbt_runner import run_dbt

    r = contract.relations
    run_dbt("build", settings, ["-s", r.writes.name, r.unpublished_batch.name])
    run_dbt("run", settings, ["-s", r.publications.name])
    run_dbt("run", settings, ["-s", r.publications.name])
    build(settings)
    assert amounts() == {"t1": "1.00", "t2": "20.00", "t3": "3.00", "t4": "4.00", "t5": "5.00"}
    assert fact_rows() == 5
    assert waiting()["held"] == []

    # a third amount for t2, after it was published: the facts keep what was published
    changed["amount"] = "200.00"
    deliver("c.jsonl", json.dumps(changed).encode() + b"\n")
    build(settings)
    assert amounts()["t2"] == "20.00" and waiting()["held"] == []
