"""The BigQuery target against the local emulator (see tests/bigquery_emulator.py for what
that does and does not prove): landing by load jobs, dbt-bigquery builds equal to the
truth, partition-pruning MERGEs, idempotence, recovery from a landing that died."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import ORDERS, order_placed
from pipeline import build, differences, fact_checksums, land_zone, read_csv, write_events

from onceonly.errors import ConfigError
from onceonly.generate.writer import generate
from onceonly.landing import land
from onceonly.landing_zone import discover
from onceonly.quality.checkpoint import run_checkpoint
from onceonly.quality.expectations import SAMPLE_ROWS
from onceonly.settings import ENV, Settings
from onceonly.sql import Param, sql
from onceonly.targets import dialect, open_target
from onceonly.targets.bigquery import BigQueryDialect, BigQueryTarget


def bq(**overrides: object) -> Settings:
    """The bigquery target's settings, read when called (after the fixture set the env)."""
    return Settings.from_env(target="bigquery", **overrides)


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("zone")
    generate(out, n_events=2500, days=3, seed=61, profile="messy")
    return out


def _days(zone: Path) -> list:
    hours = sorted({f.arrived_at for f in discover(zone, "orders").files})
    day, last, out = hours[0].replace(hour=0), hours[-1], []
    while day <= last:
        out.append(day)
        day += timedelta(days=1)
    return out


def _with_parameters_inlined(data: dict) -> dict:
    """The query of a jobs.query request with its query parameters written in as literals."""
    query = data["query"]
    literal = BigQueryDialect("emulator").literal
    typed = {
        "STRING": literal,
        "TIMESTAMP": lambda v: f"timestamp {literal(v)}",
        "DATE": lambda v: f"date {literal(v)}",
    }
    for param in data.get("queryParameters", []):
        kind = param["parameterType"]["type"]
        value = param["parameterValue"].get("value")
        text = "null" if value is None else typed.get(kind, str)(value)
        if param.get("name"):
            name = re.escape(param["name"])
            query = re.sub(rf"@(`{name}`|{name}\b)", lambda _, t=text: t, query)
        else:
            query = query.replace("?", text, 1)
    rest = {k: v for k, v in data.items() if k not in ("queryParameters", "parameterMode")}
    return {**rest, "query": query}


@pytest.fixture
def emulator_takes_dbapi_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test-harness workaround, nothing in the product: the BigQuery DB-API (under
    sqlalchemy-bigquery, under GX) sends ``queryParameters`` with every query (empty, or
    the values GX binds), and the emulator rejects that field (BigQuery takes it). The
    parameters are written into the query text before the request is sent."""
    from google.cloud.bigquery.client import Client

    original = Client._call_api

    def call_api(self, *args, **kwargs):
        data = kwargs.get("data")
        if isinstance(data, dict) and "queryParameters" in data and "query" in data:
            kwargs["data"] = _with_parameters_inlined(data)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Client, "_call_api", call_api)


def test_daily_batches_equal_the_truth_and_gx_names_what_the_window_let_slip(
    bigquery_env, emulator_takes_dbapi_queries, zone: Path, tmp_path: Path
) -> None:
    """One landing and one dbt build per day of arrival, as the DAGs run: every build
    after the first MERGEs a batch into partitioned facts. Copies later than the dedup
    window slip past the windowed MERGE by design (the full audit removes them); the GX
    checkpoint, run on BigQuery, must name exactly those, and report the truth's gaps
    and conflicts."""
    days = _days(zone)
    assert len(days) >= 10  # late copies arrive 8-10 days after the first day
    for day in days:
        land_zone(bq(), zone, start=day, end=day + timedelta(days=1))
        build(bq())
    truth = zone / "_truth" / "orders"
    late_rows = read_csv(truth / "late_duplicates.csv")
    assert late_rows, "the zone must hold copies later than the dedup window"
    # every other table equals the truth, aggregates included: they take each event's
    # first copy
    assert differences(bq(), truth) == {"fct_orders_events": (0, len(late_rows))}
    late = sorted(r["event_id"] for r in late_rows)
    target = open_target(bq())
    try:
        slipped = target.query(
            "select event_id, count(*) from analytics.fct_orders_events "
            "group by event_id having count(*) > 1 order by event_id"
        )
    finally:
        target.close()
    assert slipped == [(e, 2) for e in late]

    outcome = run_checkpoint(bq(), tmp_path / "reports", [ORDERS])
    assert not [(o.check.name, o.error) for o in outcome.outcomes if o.error]
    by_name = {o.check.name: o for o in outcome.outcomes}
    unique = by_name["duplicates.key_unique"]
    assert (unique.success, unique.unexpected_count) == (False, len(late))
    shown = [s["event_id"] for s in unique.sample]  # the first SAMPLE_ROWS, in no order
    assert len(shown) == min(len(late), SAMPLE_ROWS) and set(shown) <= set(late)
    assert by_name["duplicates.sequence_unique"].unexpected_count == len(late)
    assert by_name["gaps.sequence_holes"].unexpected_count == len(
        read_csv(truth / "sequence_gaps.csv")
    )
    assert by_name["conflicts.conflicting_copies"].unexpected_count == len(
        read_csv(truth / "event_conflicts.csv")
    )
    failing = {o.check.name for o in outcome.outcomes if not o.success}
    assert failing == {
        "duplicates.key_unique",
        "duplicates.sequence_unique",
        "gaps.sequence_holes",
        "conflicts.conflicting_copies",
    }
    assert outcome.data_docs is not None and outcome.data_docs.exists()

    # reconcile_daily removes exactly the copies that slipped, records them, and a second
    # run changes nothing (its steps are safe to rerun: BigQuery runs them one by one)
    from onceonly.orchestration.runner import run_dag

    for _ in range(2):
        run_dag(bq(), "reconcile_daily")
        assert differences(bq(), truth) == {}
        target = open_target(bq())
        try:
            repaired = target.query(
                "select event_id from dq.orders_audit_repairs order by event_id"
            )
        finally:
            target.close()
        assert [e for (e,) in repaired] == late


def test_one_batch_equals_the_truth_and_reruns_change_nothing(bigquery_env, zone: Path) -> None:
    land_zone(bq(), zone)
    build(bq())
    assert differences(bq(), zone / "_truth" / "orders") == {}
    before = fact_checksums(bq())
    build(bq())
    assert fact_checksums(bq()) == before
    again = land_zone(bq(), zone)
    assert again.count("landed") == 0 and again.count("skipped") > 0
    build(bq())
    assert fact_checksums(bq()) == before
    token = bigquery_env["ONCEONLY_BQ_TOKEN"]
    for folder in ("target", "logs"):
        for path in (bq().dbt_project_dir / folder).rglob("*"):
            if path.is_file():
                assert token.encode() not in path.read_bytes(), path


#: each incremental model, its partition column, and the predicate its MERGE must hold
PRUNED = {
    "fct_orders_events": (
        "_event_date",
        # dedup window: 7 days before the batch's newest arrival (2026-01-08)
        r"DBT_INTERNAL_DEST\._event_date >= date_sub\(cast\('2026-01-08' as date\), "
        r"interval 7 day\)",
    ),
    "fct_daily_revenue": (
        "revenue_date",
        # revenue dates of the new events: e-4 placed on 01-07, e-3 captured on 01-08
        r"DBT_INTERNAL_DEST\.revenue_date between cast\('2026-01-07' as date\) "
        r"and cast\('2026-01-08' as date\)",
    ),
    "fct_orders": (
        "order_date",
        # o-2's first event is on 01-06, its newest on 01-08; o-3 is on 01-07 only
        r"DBT_INTERNAL_DEST\.order_date between cast\('2026-01-06' as date\) "
        r"and cast\('2026-01-08' as date\)",
    ),
}


def test_every_incremental_merge_filters_the_destination_partition(
    bigquery_env, tmp_path: Path
) -> None:
    zone = tmp_path / "zone"
    write_events(
        zone,
        "orders/dt=2026-01-06/hour=10/a.jsonl",
        order_placed("e-1", 0, occurred_at="2026-01-06T09:00:00Z", order_id="o-1"),
        order_placed("e-2", 1, occurred_at="2026-01-06T09:30:00Z", order_id="o-2"),
    )
    land_zone(bq(), zone)
    build(bq())
    write_events(
        zone,
        "orders/dt=2026-01-08/hour=10/b.jsonl",
        order_placed(
            "e-3",
            2,
            occurred_at="2026-01-08T09:00:00Z",
            order_id="o-2",
            event_type="payment_captured",
        ),
        order_placed("e-4", 3, occurred_at="2026-01-07T23:00:00Z", order_id="o-3"),
        order_placed("e-1", 0, occurred_at="2026-01-06T09:00:00Z", order_id="o-1"),
    )
    land_zone(bq(), zone)
    build(bq())
    run_dir = bq().dbt_project_dir / "target/run/onceonly"
    target = open_target(bq())
    assert isinstance(target, BigQueryTarget)
    try:
        for model, (column, predicate) in PRUNED.items():
            [compiled] = run_dir.rglob(f"{model}.sql")
            merge = compiled.read_text()
            assert re.search(r"merge into `[^`]+`\.`analytics`\.`" + model + "`", merge), model
            assert re.search(r"on \(" + predicate + r"\) and \(", merge), (model, merge)
            table = target.client.get_table(f"analytics.{model}")
            assert table.time_partitioning.field == column, model
            assert table.clustering_fields, model
        for table_name in ("orders_events", "load_ledger", "quarantine"):
            assert target.client.get_table(f"raw.{table_name}").time_partitioning.type_ == "DAY"
        # the re-delivered e-1 was matched inside the window, not inserted again
        assert target.query(
            "select order_id, order_date, last_event_date, captured_amount "
            "from analytics.fct_orders order by order_id"
        ) == [
            ("o-1", date(2026, 1, 6), date(2026, 1, 6), Decimal("0")),
            ("o-2", date(2026, 1, 6), date(2026, 1, 8), Decimal("19.90")),
            ("o-3", date(2026, 1, 7), date(2026, 1, 7), Decimal("0")),
        ]
        assert target.query("select count(*) from analytics.fct_orders_events") == [(4,)]
    finally:
        target.close()


class _DiesBeforeTheLedger:
    """A target whose landing run dies after the events' load job, before the ledger's."""

    def __init__(self, inner: BigQueryTarget) -> None:
        self.inner = inner

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def write_batch(
        self, contract, events, quarantine, ledger: pa.Table, totals=None, rejected=None
    ):
        self.inner.write_batch(contract, events, quarantine, ledger.slice(0, 0), totals, rejected)
        raise RuntimeError("killed between load jobs")


def test_a_landing_that_died_between_load_jobs_is_undone_then_landed_once(
    bigquery_env, tmp_path: Path
) -> None:
    zone = tmp_path / "zone"
    write_events(
        zone,
        "orders/dt=2026-01-06/hour=10/a.jsonl",
        order_placed("e-1", 0),
        order_placed("e-2", 1),
    )
    data = zone / "orders/dt=2026-01-06/hour=10/a.jsonl"
    with data.open("ab") as fh:
        fh.write(b"not json\n")
    manifest = {"record_count": 3, "sha256": hashlib.sha256(data.read_bytes()).hexdigest()}
    data.with_name("a.jsonl.manifest.json").write_text(
        json.dumps({**manifest, "control_totals": {"amount": "39.98"}})
    )
    target = open_target(bq())
    assert isinstance(target, BigQueryTarget)
    try:
        with pytest.raises(RuntimeError, match="killed"):
            land(zone, _DiesBeforeTheLedger(target), ORDERS)
        assert target.query("select count(*) from raw.orders_events") == [(2,)]
        assert target.query("select count(*) from raw.manifest_totals") == [(1,)]
        assert target.query("select count(*) from raw.load_ledger") == [(0,)]
        summary = land(zone, target, ORDERS)
        assert summary.count("landed") == 1
        assert target.query(
            "select event_id, count(*) from raw.orders_events group by 1 order by 1"
        ) == [("e-1", 1), ("e-2", 1)]
        assert target.query("select count(*) from raw.quarantine") == [(1,)]
        assert target.query("select status, rows_landed from raw.load_ledger") == [("landed", 2)]
        # the control totals of the dead run were discarded with its events
        assert target.query("select field, declared from raw.manifest_totals") == [
            ("amount", Decimal("39.98"))
        ]
    finally:
        target.close()


def test_values_with_quotes_commas_and_unicode_land_unchanged(bigquery_env, tmp_path: Path) -> None:
    zone = tmp_path / "zone"
    tricky = 'Zoë "the" O\'Brien, 東京 🚀'
    write_events(
        zone, "orders/dt=2026-01-06/hour=10/a.jsonl", order_placed("e-1", customer_id=tricky)
    )
    land_zone(bq(), zone)
    target = open_target(bq())
    try:
        assert target.query("select customer_id, amount from raw.orders_events") == target.query(
            sql("select {value}, numeric '19.90'", value=Param(tricky))
        )
        assert target.query("select customer_id from raw.orders_events") == [(tricky,)]
    finally:
        target.close()


def test_settings_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONCEONLY_BQ_PROJECT", raising=False)
    with pytest.raises(ConfigError, match="ONCEONLY_BQ_PROJECT is not set"):
        dialect(bq())
    monkeypatch.setenv("ONCEONLY_BQ_PROJECT", "p")
    monkeypatch.setenv("ONCEONLY_BQ_METHOD", "password")
    with pytest.raises(ConfigError, match="ONCEONLY_BQ_METHOD='password'"):
        bq()
    monkeypatch.setenv("ONCEONLY_BQ_METHOD", "oauth-secrets")
    monkeypatch.setenv("ONCEONLY_BQ_TOKEN", "tok-very-secret")
    assert "tok-very-secret" not in repr(bq())
    assert "tok-very-secret" in bq().environment().values()  # for dbt's process only


def test_inlined_literals_keep_every_string_intact() -> None:
    statement = sql("select {a}, {b}", a=Param("it's"), b=Param("back\\slash\n"))
    assert BigQueryDialect("p").inline(statement) == "select 'it\\'s', 'back\\\\slash\\u000a'"
    with pytest.raises(KeyError, match="no value"):
        BigQueryDialect("p").inline(sql("select {a}, {b}", a=Param(1)))


def test_land_and_transform_dags_on_bigquery_end_with_a_passing_verdict(
    bigquery_env,
    emulator_takes_dbapi_queries,
    zone: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The scheduled path on BigQuery: both DAGs under dag.test() (Cosmos runs dbt),
    then the checkpoint, the report and the verdict. The project and the credentials come
    from an Airflow connection (ONCEONLY_BQ_CONN_ID): the ONCEONLY_BQ_* values name a
    project that does not exist and a method that cannot authenticate here, so the
    landing, dbt (Cosmos' profile from the connection), the checks and the report each
    reach the emulator's project only through the connection."""
    import json
    from dataclasses import replace

    from onceonly.orchestration.runner import run_dags

    right = bq().bigquery
    monkeypatch.setenv(
        "AIRFLOW_CONN_ONCEONLY_BIGQUERY",
        json.dumps(
            {
                "conn_type": "google_cloud_platform",
                "extra": {"project": right.project, "token": right.token},
            }
        ),
    )
    wrong = replace(
        right, project="no-such-project", method="oauth", token="", conn_id="onceonly_bigquery"
    )
    settings = replace(bq(landing=zone, reports_dir=tmp_path / "reports"), bigquery=wrong)
    for name in ENV.values():
        monkeypatch.setenv(name, "")  # run_dags sets them: restored after the test
    run_dags(settings, ["orders"])
    reached = settings.with_connections()
    assert (reached.bigquery.project, reached.bigquery.method) == (right.project, "oauth-secrets")
    assert differences(reached, zone / "_truth" / "orders") == {}
    summary = json.loads((tmp_path / "reports/orders/summary.json").read_text())
    assert summary["held"] is True and summary["checks_passed"] is True
    assert summary["totals"]["fact_rows"] == len(
        read_csv(zone / "_truth/orders/fct_orders_events.csv")
    )
    # the run's summary went into dq.run_history on BigQuery too
    history = summary["history"]
    assert (
        history
        and sum(d["counts"]["new_events"] for d in history) == (summary["totals"]["fact_rows"])
    )
    assert sum(d["counts"]["lines"] for d in history) == summary["totals"]["delivered_copies"]


def test_an_at_least_once_stream_appends_every_valid_copy_on_bigquery(
    bigquery_env, zone: Path, tmp_path: Path
) -> None:
    """guarantee: at_least_once on BigQuery (a keyless MERGE appends): the facts hold
    every valid copy, and a rerun appends nothing."""
    from onceonly.streams import load_streams

    streams = tmp_path / "streams"
    streams.mkdir()
    shipped = Path(__file__).resolve().parents[1] / "streams" / "orders.yml"
    (streams / "orders.yml").write_text(shipped.read_text() + "\nguarantee: at_least_once\n")
    settings = bq(streams_dir=streams)
    contract = load_streams(streams)["orders"]
    land_zone(settings, zone, contract=contract)
    build(settings)
    build(settings)
    landed = [
        f for f in read_csv(zone / "_truth" / "orders" / "files.csv") if f["status"] == "landed"
    ]
    target = open_target(settings)
    try:
        [(rows, distinct)] = target.query(
            "select count(*), count(distinct event_id) from analytics.fct_orders_events"
        )
    finally:
        target.close()
    assert rows == sum(int(f["landed"]) for f in landed)
    assert distinct == len(read_csv(zone / "_truth" / "orders" / "fct_orders_events.csv"))
    assert rows > distinct
