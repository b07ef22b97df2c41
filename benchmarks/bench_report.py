"""The report with many quarantined lines: its size, its build time and its load in Chromium.

Usage: .venv/bin/python benchmarks/bench_report.py [--lines 100000] [--workdir DIR]
                                                   [--out benchmarks/recorded/report.json]
Lands one file of ``--lines`` bad lines (and one good line) into DuckDB, builds the
models, then times the report (figures, evidence, CSVs and pages; the GX checkpoint is
left out) and the page's load in headless Chromium (navigation start to the load
event, as the browser measures it), best of three.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path

from onceonly.dbt_runner import run_dbt
from onceonly.landing import land
from onceonly.report.build import build_report
from onceonly.settings import Settings
from onceonly.streams import example
from onceonly.targets import open_target

GOOD = {
    "event_id": "e-1",
    "event_type": "order_placed",
    "occurred_at": "2026-01-05T10:30:00Z",
    "producer_id": "shop-eu",
    "producer_epoch": 0,
    "sequence_number": 0,
    "order_id": "ord-1",
    "customer_id": "cust-1",
    "product_id": "sku-001",
    "quantity": 2,
    "amount": "19.90",
    "currency": "EUR",
}


def _load_ms(page_file: Path) -> float:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            times = []
            for _ in range(3):
                page = browser.new_page()
                page.goto(page_file.resolve().as_uri(), wait_until="load")
                timing = page.evaluate(
                    "() => { const t = performance.getEntriesByType('navigation')[0];"
                    " return t.loadEventEnd - t.startTime; }"
                )
                times.append(float(timing))
                page.close()
        finally:
            browser.close()
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="onceonly-bench-report-"))
    shutil.rmtree(work / "landing", ignore_errors=True)
    hour = work / "landing" / "orders" / "dt=2026-01-05" / "hour=10"
    hour.mkdir(parents=True)
    with (hour / "bad.jsonl").open("wb") as fh:
        for i in range(args.lines):
            fh.write(b'{"event_id": "x-%d", "amount": oops}\n' % i)
    (hour / "good.jsonl").write_text(json.dumps(GOOD) + "\n")
    db = work / "bench.duckdb"
    db.unlink(missing_ok=True)
    settings = Settings(target="duckdb", duckdb_path=db, reports_dir=work / "reports")
    contract = example("orders")
    target = open_target(settings)
    try:
        land(work / "landing", target, contract)
    finally:
        target.close()
    run_dbt("build", settings)
    t0 = time.perf_counter()
    build_report(settings, [contract], checked={"checks": []})
    report_s = time.perf_counter() - t0
    page = settings.reports_dir / "orders" / "index.html"
    csv = settings.reports_dir / "orders" / "quarantined_lines.csv"
    result = {
        "quarantined_lines": args.lines,
        "report_seconds": round(report_s, 2),
        "page_bytes": page.stat().st_size,
        "csv_bytes": csv.stat().st_size,
        "chromium_load_ms": round(_load_ms(page), 1),
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
