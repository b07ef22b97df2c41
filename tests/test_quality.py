"""The Great Expectations safety net and the analyst report."""

from __future__ import annotations

import json
import shutil
from html import escape
from pathlib import Path

import pytest
from conftest import ORDERS
from pipeline import build, copy_of, land_zone, read_csv

from onceonly.generate.writer import generate
from onceonly.quality.checkpoint import run_checkpoint
from onceonly.report.build import build_report
from onceonly.report.html import SHOWN_CHARS
from onceonly.settings import Settings


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("zone")
    generate(out, n_events=3000, days=2, seed=17, profile="messy")
    return out


@pytest.fixture(scope="module")
def built(zone: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(target="duckdb", duckdb_path=tmp_path_factory.mktemp("wh") / "w.duckdb")
    land_zone(settings, zone)
    build(settings)
    return settings


@pytest.fixture(scope="module")
def report_dir(built: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    build_report(built, [ORDERS], out)
    return out


def test_gx_duckdb_shim_is_what_makes_sql_expectations_work(tmp_path: Path) -> None:
    """Fails loudly if a GX upgrade moves or renames what the shim patches."""
    import duckdb
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    from onceonly.quality.gx_duckdb import enable_duckdb_persisted_connection

    assert isinstance(engine._PERSISTED_CONNECTION_DIALECTS, tuple)
    enable_duckdb_persisted_connection()
    assert "duckdb" in engine._PERSISTED_CONNECTION_DIALECTS
    db = tmp_path / "t.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create table t as select * from (values ('a'), ('b'), ('b')) v(id)")
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_sql(name="s", connection_string=f"duckdb:///{db}")
    batch = source.add_query_asset(
        name="t", query="select * from t"
    ).add_batch_definition_whole_table("all")
    result = batch.get_batch().validate(gxe.ExpectColumnValuesToBeUnique(column="id"))
    assert result.success is False
    assert result.result["unexpected_count"] == 2
    assert set(result.result["partial_unexpected_list"]) == {"b"}


def test_a_check_counts_every_offending_row_from_one_query_and_fetches_a_sample(
    tmp_path: Path,
) -> None:
    """ExpectNoUnexpectedRows: the observed value counts all the rows the query returns,
    the details hold the first SAMPLE_ROWS, and the warehouse runs the query once."""
    import duckdb
    import great_expectations as gx
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from onceonly.quality.expectations import SAMPLE_ROWS, ExpectNoUnexpectedRows
    from onceonly.quality.gx_duckdb import enable_duckdb_persisted_connection

    enable_duckdb_persisted_connection()
    db = tmp_path / "t.duckdb"
    offending = SAMPLE_ROWS + 5
    with duckdb.connect(str(db)) as con:
        con.execute(f"create table t as select range % {offending} as id from range(100)")
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_sql(name="s", connection_string=f"duckdb:///{db}")
    batch = source.add_query_asset(name="t", query="select * from t")
    query = "select id, count(*) as n from {batch} group by id having count(*) > 3"
    ran: list[str] = []

    def record(*args: object) -> None:
        ran.append(str(args[2]))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        result = (
            batch.add_batch_definition_whole_table("all")
            .get_batch()
            .validate(ExpectNoUnexpectedRows(unexpected_rows_query=query), result_format="COMPLETE")
        )
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    # ids 0..24 appear 4 times each (range(100) % 25): all 25 offend
    assert result.success is False
    assert result.result["observed_value"] == offending
    rows = result.result["details"]["unexpected_rows"]
    assert len(rows) == SAMPLE_ROWS and all(r["n"] == 4 and set(r) == {"id", "n"} for r in rows)
    assert sum("having count(*) > 3" in statement for statement in ran) == 1
    ok = (
        source.get_asset("t")
        .get_batch_definition("all")
        .get_batch()
        .validate(ExpectNoUnexpectedRows(unexpected_rows_query=query.replace("3", "4")))
    )
    assert ok.success is True and ok.result["observed_value"] == 0


def test_every_injected_gap_and_conflict_is_reported_and_nothing_else(
    report_dir: Path, zone: Path
) -> None:
    summary = json.loads((report_dir / "orders" / "summary.json").read_text())
    truth = zone / "_truth" / "orders"
    gaps = [
        {
            "producer": row["producer_id"],
            "epoch": int(row["producer_epoch"]),
            "first_missing": int(row["first_missing"]),
            "last_missing": int(row["last_missing"]),
            "missing_count": int(row["missing_count"]),
        }
        for row in read_csv(truth / "sequence_gaps.csv")
    ]
    assert gaps  # the messy profile lost some events
    # its truncated file is delivered again whole: no gap is explained by a rejected file
    assert all(g.pop("in_rejected_files") == 0 for g in summary["gaps"])
    assert all(g.pop("rejected_files") == [] for g in summary["gaps"])
    assert sorted(summary["gaps"], key=str) == sorted(gaps, key=str)
    conflicts = [
        {"key": r["event_id"], "copies": int(r["copies"]), "versions": int(r["versions"])}
        for r in read_csv(truth / "event_conflicts.csv")
    ]
    assert conflicts
    assert sorted(summary["conflicts"], key=str) == sorted(conflicts, key=str)
    checks = {c["name"]: c for c in summary["checks"]}
    assert checks["gaps.sequence_holes"]["unexpected_count"] == len(gaps)
    assert checks["conflicts.conflicting_copies"]["unexpected_count"] == len(conflicts)
    # the error-severity checks all pass on correct facts
    assert [c["name"] for c in summary["checks"] if not c["success"]] == [
        "gaps.sequence_holes",
        "conflicts.conflicting_copies",
    ]
    assert summary["checks_passed"] is True and summary["held"] is True


def test_summary_figures_equal_the_truth(report_dir: Path, zone: Path) -> None:
    totals = json.loads((report_dir / "orders" / "summary.json").read_text())["totals"]
    truth = zone / "_truth" / "orders"
    files = read_csv(truth / "files.csv")
    landed = [f for f in files if f["status"] == "landed"]
    assert (
        totals["fact_event_ids"]
        == totals["fact_rows"]
        == len(read_csv(truth / "fct_orders_events.csv"))
    )
    assert totals["delivered_copies"] == sum(int(f["lines"]) for f in landed)
    assert totals["quarantined"] == len(read_csv(truth / "quarantine.csv"))
    assert totals["duplicates_removed"] == sum(
        int(f["duplicates_in_file"]) + int(f["duplicates_of_earlier"]) for f in landed
    )
    assert totals["duplicates_in_file"] == sum(int(f["duplicates_in_file"]) for f in landed)
    assert totals["files_rejected"] == sum(f["status"] == "rejected" for f in files)
    assert totals["files_redelivered_skipped"] == sum(f["status"] == "skipped" for f in files)
    assert totals["late_duplicates"] == len(read_csv(truth / "late_duplicates.csv"))
    gaps = read_csv(truth / "sequence_gaps.csv")
    assert totals["events_lost_in_gaps"] == sum(int(g["missing_count"]) for g in gaps)


def test_a_duplicate_written_into_the_facts_fails_the_checkpoint_naming_it(
    built: Settings, tmp_path: Path
) -> None:
    import duckdb

    settings = copy_of(built, tmp_path)
    with duckdb.connect(str(settings.duckdb_path)) as con:
        [(victim,)] = con.execute(
            "select min(event_id) from analytics.fct_orders_events"
        ).fetchall()
        con.execute(
            "insert into analytics.fct_orders_events "
            "select * from analytics.fct_orders_events where event_id = ?",
            [victim],
        )
    outcome = run_checkpoint(settings, tmp_path / "r", [ORDERS])
    failed = {o.check.name: o for o in outcome.errors}
    assert "duplicates.key_unique" in failed
    assert failed["duplicates.key_unique"].sample == [{"event_id": victim, "copies": 2}]
    assert failed["duplicates.key_unique"].unexpected_count == 1
    assert not outcome.success


def test_a_fact_row_deleted_fails_the_checkpoint_naming_it(built: Settings, tmp_path: Path) -> None:
    import duckdb

    settings = copy_of(built, tmp_path)
    with duckdb.connect(str(settings.duckdb_path)) as con:
        [(victim,)] = con.execute(
            "select max(event_id) from analytics.fct_orders_events"
        ).fetchall()
        con.execute("delete from analytics.fct_orders_events where event_id = ?", [victim])
    outcome = run_checkpoint(settings, tmp_path / "r", [ORDERS])
    failed = {o.check.name: o for o in outcome.errors}
    assert list(failed) == ["reconciliation.events_in_facts"]
    assert failed["reconciliation.events_in_facts"].sample == [
        {"event_id": victim, "problem": "in raw, not in the facts"}
    ]
    written = build_report(settings, [ORDERS], tmp_path / "report")
    assert written.held is False and written.checks_passed is False


def test_evidence_lists_every_quarantined_line_and_rejected_file(
    built: Settings, report_dir: Path, zone: Path, tmp_path: Path
) -> None:
    """The CSVs beside the page hold every row the truth expects; the page shows the first
    ONCEONLY_REPORT_ROWS of them, escaped, and says where the rest are."""
    truth = zone / "_truth" / "orders"
    page = report_dir / "orders"
    quarantined = read_csv(page / "quarantined_lines.csv")
    assert sorted((q["file"], q["line"], q["reason code"]) for q in quarantined) == sorted(
        (q["source_file"], q["line_number"], q["reason_code"])
        for q in read_csv(truth / "quarantine.csv")
    )
    assert all(q["reason"] and q["line as delivered"] is not None for q in quarantined)
    rejected = read_csv(page / "rejected_files.csv")
    expected = [
        f["source_file"] for f in read_csv(truth / "files.csv") if f["status"] == "rejected"
    ]
    assert sorted(r["file"] for r in rejected) == sorted(expected) and expected
    assert all(r["why"] for r in rejected)

    conflicts = read_csv(page / "conflicts.csv")
    assert sorted((c["event_id"], c["copies"]) for c in conflicts) == sorted(
        (c["event_id"], c["copies"]) for c in read_csv(truth / "event_conflicts.csv")
    )
    for c in conflicts:  # each names the fields whose values differ, and the values
        differing = [d.split(": ", 1) for d in c["fields that differ"].split("; ")]
        assert differing and all(name in ORDERS.content_fields for name, _ in differing), c
        assert all(len(set(values.split(" | "))) > 1 for _, values in differing), c
        assert len(c["copies as file:line, in landing order"].split("; ")) == int(c["copies"])

    late = read_csv(page / "late_duplicates.csv")
    assert sorted((r["event_id"], r["file"], r["line"]) for r in late) == sorted(
        (r["event_id"], r["source_file"], r["line_number"])
        for r in read_csv(truth / "late_duplicates.csv")
    )
    assert late  # the messy profile delivers some copies weeks late

    few = tmp_path / "few"
    build_report(built.with_(report_rows=3), [ORDERS], few, checked={"checks": []})
    html = (few / "orders" / "index.html").read_text()
    assert f"The first 3 below; all {len(quarantined):,} in" in html
    table = html.split('<table data-testid="quarantined-lines"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 1 + 3  # the header and three rows
    shown = [q["line as delivered"] for q in quarantined[:3]]
    assert all(escape(text[:SHOWN_CHARS]) in table for text in shown)
    assert any('"' in text for text in shown)  # JSON's quotes, shown escaped


def test_report_in_headless_chromium(report_dir: Path) -> None:
    from playwright.sync_api import sync_playwright

    summary = json.loads((report_dir / "orders" / "summary.json").read_text())
    for page_file in (report_dir / "index.html", report_dir / "orders" / "index.html"):
        html = page_file.read_text()
        assert "http://" not in html and "https://" not in html and "<script src" not in html
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1600})
            page.on("request", lambda r: requests.append(r.url))
            page.goto((report_dir / "index.html").resolve().as_uri())
            index_verdict = page.inner_text("#verdict")
            page.click('[data-testid="streams"] a:text("orders")')
            verdict = page.inner_text("#verdict")
            figures = {
                key: page.inner_text(f'[data-figure="{key}"]')
                for key in (
                    "delivered_copies",
                    "fact_event_ids",
                    "duplicates_removed",
                    "quarantined",
                    "events_lost_in_gaps",
                    "conflicting_events",
                )
            }
            day_rows = page.locator('[data-testid="days"] tbody tr').count()
            quarantine_rows = page.locator('[data-testid="quarantined-lines"] tbody tr').count()
            charts = page.locator("svg").count()
            trend_points = page.locator('[data-testid="trend-volume"] circle').count()
            page.screenshot(path=str(report_dir / "screenshot.png"), full_page=True)
            # filtering narrows the rows to those holding the text, sorting orders them
            table = '[data-testid="quarantined-lines"]'
            page.fill('input[data-filter="quarantined-lines"]', "INVALID_json")
            filtered = page.locator(f"{table} tbody tr:visible").count()
            page.fill('input[data-filter="quarantined-lines"]', "")
            page.click(f'{table} th:text-is("line")')
            ascending = page.locator(f"{table} tbody tr td:nth-child(2)").all_inner_texts()
            page.click(f'{table} th:text-is("line")')
            descending = page.locator(f"{table} tbody tr td:nth-child(2)").all_inner_texts()
        finally:
            browser.close()
    assert index_verdict.startswith("Every stream holds its guarantee: yes")
    assert verdict.startswith("Effectively once: yes")
    for key, shown in figures.items():
        assert shown == f"{summary['totals'][key]:,}", key
    assert day_rows == len(summary["days"])
    assert quarantine_rows == min(100, summary["totals"]["quarantined"]) > 0
    assert charts >= 3 + 5  # the day chart, the bars, and the five trend charts
    assert trend_points == len(summary["history"]) > 0
    on_page = read_csv(report_dir / "orders" / "quarantined_lines.csv")[:quarantine_rows]
    holding = [
        r
        for r in on_page
        if "invalid_json"
        in " ".join([*list(r.values())[:4], r["line as delivered"][:SHOWN_CHARS]]).lower()
    ]
    assert 0 < filtered == len(holding) < quarantine_rows
    lines = [int(v.replace(",", "")) for v in ascending]
    assert lines == sorted(lines) and lines != [int(r["line"]) for r in on_page]
    assert [int(v.replace(",", "")) for v in descending] == sorted(lines, reverse=True)
    assert requests and all(u.startswith("file://") for u in requests), requests
    assert (report_dir / "screenshot.png").stat().st_size > 10_000
    docs = summary["data_docs"]
    assert docs and (report_dir / "orders" / docs).exists()


def test_daily_control_totals_equal_the_truth(report_dir: Path, zone: Path) -> None:
    from collections import defaultdict
    from decimal import Decimal

    summary = json.loads((report_dir / "orders" / "summary.json").read_text())
    expected: dict[str, Decimal] = defaultdict(Decimal)
    events: dict[str, int] = defaultdict(int)
    for row in read_csv(zone / "_truth" / "orders" / "fct_orders_events.csv"):
        day = row["occurred_at"][:10]
        events[day] += 1
        expected[day] += Decimal(row["amount"] or "0")
    shown = {
        r["event_date"]: (r["events"], Decimal(r["amount"] or "0"))
        for r in summary["control_totals"]
    }
    assert shown == {day: (events[day], expected[day]) for day in events}
    page = (report_dir / "orders" / "index.html").read_text()
    assert 'data-testid="control-totals"' in page


def test_gap_events_in_a_rejected_file_are_named_not_counted_as_loss(
    landing: Path, write_file, tmp_path: Path
) -> None:
    """A file rejected whole still says which events it carried: a sequence gap those
    events fill is reported as "arrived in rejected file X", not as upstream loss."""
    from conftest import jsonl, order_placed

    def events(*seqs: int) -> bytes:
        return jsonl(*(order_placed(f"e-{s}", s) for s in seqs))

    write_file("a.jsonl", events(0, 1, 2, 3))
    whole = events(4, 5, 6, 7, 8, 9)  # read whole, but its manifest counts 7 lines
    write_file("b.jsonl", whole, manifest={"record_count": 7, "sha256": _sha(whole)})
    cut = write_file("d.jsonl", events(12, 13, 14), manifest=True)
    cut.write_bytes(events(12, 13))  # 14 cut off in transit: the sha256 no longer matches
    write_file("c.jsonl", events(10, 11, 15, 17))  # 16 never sent
    settings = Settings(target="duckdb", duckdb_path=tmp_path / "w.duckdb")
    land_zone(settings, landing)
    build(settings)
    out = tmp_path / "report"
    build_report(settings, [ORDERS], out, checked={"checks": []})

    rejected = {
        Path(r["file"]).name: r["file"] for r in read_csv(out / "orders/rejected_files.csv")
    }
    assert sorted(rejected) == ["b.jsonl", "d.jsonl"]
    gaps = read_csv(out / "orders" / "sequence_gaps.csv")
    assert [(g["first missing"], g["last missing"], g["cause"]) for g in gaps] == [
        ("4", "9", f"arrived in rejected file {rejected['b.jsonl']}"),
        ("12", "14", f"2 arrived in rejected file {rejected['d.jsonl']}; 1 event never arrived"),
        ("16", "16", "never arrived (upstream loss)"),
    ]
    summary = json.loads((out / "orders" / "summary.json").read_text())
    assert summary["totals"]["events_lost_in_gaps"] == 2  # 14 and 16
    assert summary["totals"]["gap_events_in_rejected_files"] == 8
    verdict = " | ".join(summary["verdict"])
    assert "upstream loss: 2 events never arrived (2 sequence gaps)" in verdict, verdict
    assert "8 missing events arrived in rejected files" in verdict, verdict
    html = (out / "orders" / "index.html").read_text()
    assert escape(f"arrived in rejected file {rejected['b.jsonl']}") in html


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_history_charts_each_day_and_flags_the_volume_drop_on_day_4(tmp_path: Path) -> None:
    """Five days of deliveries, landed by five runs, with most of day 4's files never
    delivered: dq.run_history keeps a row per run, the page charts five days, and the
    volume check flags day 4 alone, naming the band it left."""
    from datetime import timedelta

    from onceonly.generate.writer import DEFAULT_START

    zone = tmp_path / "zone"
    generate(zone, n_events=2000, days=5, seed=2, profile="clean")
    start = DEFAULT_START.replace(tzinfo=None)
    days = [start + timedelta(days=i) for i in range(5)]
    day4 = sorted((zone / "orders" / f"dt={days[3]:%Y-%m-%d}").rglob("*.jsonl"))
    for path in day4[: len(day4) * 7 // 10]:  # 70 % of day 4 lost on the way
        path.unlink()
        path.with_name(path.name + ".manifest.json").unlink(missing_ok=True)
    settings = Settings(target="duckdb", duckdb_path=tmp_path / "w.duckdb")
    out = tmp_path / "report"

    def run_days(*indexes: int) -> dict:
        for i in indexes:
            land_zone(settings, zone, start=days[i], end=days[i] + timedelta(days=1))
        build(settings)
        build_report(settings, [ORDERS], out, checked={"checks": []})
        return json.loads((out / "orders" / "summary.json").read_text())

    first = run_days(0, 1, 2)
    assert [d["day"] for d in first["history"]] == [f"{d:%Y-%m-%d}" for d in days[:3]]
    assert first["volume_findings"] == []  # three days: too few to learn a band from
    summary = run_days(3, 4)
    build_report(settings, [ORDERS], out, checked={"checks": []})  # records nothing twice
    history = summary["history"]
    assert [d["day"] for d in history] == [f"{d:%Y-%m-%d}" for d in days]
    import duckdb

    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        runs = con.execute(
            "select count(distinct batch_id), count(*), sum(new_events) from dq.run_history"
        ).fetchone()
        [(facts,)] = con.execute("select count(*) from analytics.fct_orders_events").fetchall()
    assert runs is not None and runs[0] == runs[1] == 5 and runs[2] == facts
    assert history[0]["counts"] == first["history"][0]["counts"]  # a row is never rewritten
    new = [d["counts"]["new_events"] for d in history]
    [finding] = summary["volume_findings"]
    assert finding["day"] == finding["last_day"] == f"{days[3]:%Y-%m-%d}"
    assert finding["new_events"] == [new[3]]
    assert finding["baseline_days"] == 3 and new[3] < finding["low"]
    assert finding["low"] <= min(new[0], new[1], new[2], new[4])  # the band holds the others
    assert (
        sum(d["counts"]["events_lost"] for d in history) == summary["totals"]["events_lost_in_gaps"]
    )
    assert any(
        line.startswith(f"volume: {days[3]:%Y-%m-%d} brought {new[3]:,} new events, outside")
        for line in summary["verdict"]
    )
    page = (out / "orders" / "index.html").read_text()
    chart = page.split('data-testid="trend-volume"', 1)[1].split("</svg>", 1)[0]
    assert chart.count("<circle") == 5 and chart.count('fill="#d9534f"') == 1
    assert "learned from 3 earlier days" in page


def _chromium(p):  # type: ignore[no-untyped-def]
    return p.chromium.launch(
        executable_path=shutil.which("chromium") or "/usr/bin/chromium",
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )


def test_a_page_with_100k_quarantined_lines_shows_the_first_rows_and_stays_small(
    landing: Path, write_file, tmp_path: Path
) -> None:
    """The page holds the first ONCEONLY_REPORT_ROWS of 100,000 quarantined lines and the
    CSV all of them; the page stays under 5 MB and renders them in Chromium (its load
    time is measured by benchmarks/bench_report.py)."""
    from conftest import jsonl, order_placed
    from playwright.sync_api import sync_playwright

    bad = b"".join(b'{"event_id": "x-%d", "amount": oops}\n' % i for i in range(100_000))
    write_file("bad.jsonl", bad)
    write_file("good.jsonl", jsonl(order_placed("e-1", 0)))
    settings = Settings(target="duckdb", duckdb_path=tmp_path / "w.duckdb")
    land_zone(settings, landing)
    build(settings)
    out = tmp_path / "report"
    build_report(settings, [ORDERS], out, checked={"checks": []})
    page_file = out / "orders" / "index.html"
    assert page_file.stat().st_size < 5 * 2**20
    rows = read_csv(out / "orders" / "quarantined_lines.csv")
    assert len(rows) == 100_000 and {r["reason code"] for r in rows} == {"invalid_json"}
    with sync_playwright() as p:
        browser = _chromium(p)
        try:
            page = browser.new_page()
            page.goto(page_file.resolve().as_uri())
            heading = page.inner_text('h2:has-text("Quarantined lines (")')
            shown = page.locator('[data-testid="quarantined-lines"] tbody tr').count()
            page.fill('input[data-filter="quarantined-lines"]', '"x-99"')
            filtered = page.locator('[data-testid="quarantined-lines"] tbody tr:visible').count()
        finally:
            browser.close()
    assert heading == "Quarantined lines (100,000)"
    assert shown == 100 and filtered == 1
