"""`onceonly report`: figures + checks -> a page and a summary.json per stream, and an index.

Layout of the reports folder::

    index.html               a verdict per stream, linking to each stream's page
    summary.json             the verdict per stream, machine-readable
    <stream>/index.html      the stream's page (figures, checks, gaps, conflicts)
    <stream>/summary.json    the same figures, machine-readable
    <stream>/*.csv           every row of each evidence list on the page
    <stream>/data_docs/      the stream's GX Data Docs (a site per stream, so that checking
                             one stream leaves the others' pages in place)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from onceonly.contract import StreamContract
from onceonly.findings import require_built
from onceonly.quality.checks import fails_the_run
from onceonly.relay import lag_summary, read_passes
from onceonly.report.evidence import read_evidence
from onceonly.report.figures import read_figures
from onceonly.report.history import read_trend, record_history, volume_findings
from onceonly.report.html import render, render_index, verdict
from onceonly.settings import Settings
from onceonly.targets import open_target


@dataclass
class Report:
    index: Path
    summary: Path
    held: bool  # every stream reported holds its declared guarantee
    checks_passed: bool


def check_dicts(outcome: Any) -> list[dict[str, Any]]:
    """The checkpoint outcome as plain data (for XCom, summary.json and the page)."""
    return [
        {
            "stream": o.check.stream,
            "name": o.check.name,
            "suite": o.check.suite,
            "severity": o.check.severity,
            "description": o.check.description,
            "success": o.success,
            "unexpected_count": o.unexpected_count,
            "sample": [json.loads(json.dumps(s, default=str)) for s in o.sample],
            "error": o.error,
        }
        for o in outcome.outcomes
    ]


def run_checks(
    settings: Settings, streams: list[StreamContract], out: Path | None = None
) -> dict[str, Any]:
    """Run a checkpoint per stream; the outcomes as plain data, with where each stream's
    Data Docs are ({stream: index.html})."""
    from onceonly.quality.checkpoint import run_checkpoint

    out = out or settings.reports_dir
    checks: list[dict[str, Any]] = []
    docs: dict[str, str | None] = {}
    for contract in streams:
        folder = out / contract.stream
        folder.mkdir(parents=True, exist_ok=True)
        outcome = run_checkpoint(settings, folder, [contract])
        checks += check_dicts(outcome)
        docs[contract.stream] = str(outcome.data_docs) if outcome.data_docs else None
    return {"checks": checks, "data_docs": docs}


def failed_checks(checks: list[dict[str, Any]]) -> list[str]:
    return [
        f"{c['stream']}:{c['name']}"
        for c in checks
        if fails_the_run(c["severity"], c["success"], c["error"])
    ]


def _stream_page(
    settings: Settings,
    contract: StreamContract,
    checks: list[dict[str, Any]],
    meta: dict[str, str],
    out: Path,
    data_docs: str | None,
) -> dict[str, Any]:
    warehouse = open_target(settings)
    try:
        figures = read_figures(warehouse, contract)
        evidence = read_evidence(warehouse, contract, figures.gaps)
        record_history(warehouse, contract, figures.gaps)
        figures.trend = read_trend(warehouse, contract)
        figures.volume = volume_findings(figures.trend)
    finally:
        warehouse.close()
    if contract.outbox is not None:
        figures.relay = lag_summary(
            read_passes(settings.landing_folder, contract.stream), datetime.now(UTC)
        )
    folder = out / contract.stream
    folder.mkdir(parents=True, exist_ok=True)
    docs = os.path.relpath(data_docs, folder.resolve()) if data_docs else None
    ok, reasons = verdict(figures, checks, contract)
    for listed in evidence:
        listed.write_csv(folder)
    (folder / "index.html").write_text(
        render(figures, checks, meta, docs, contract, evidence, settings.report_rows),
        encoding="utf-8",
    )
    summary = {
        **meta,
        "stream": contract.stream,
        "guarantee": contract.guarantee.value,
        "held": ok,
        "verdict": reasons,
        "checks_passed": not failed_checks(checks),
        "checks": checks,
        "data_docs": docs,
        **figures.as_dict(),
    }
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return summary


def _require_models(settings: Settings, streams: list[StreamContract]) -> None:
    """The relations the report reads: a one-line error naming them before any dbt run."""
    warehouse = open_target(settings, create=False)
    try:
        for contract in streams:
            require_built(warehouse, contract)
    finally:
        warehouse.close()


def build_report(
    settings: Settings,
    streams: list[StreamContract],
    out: Path | None = None,
    checked: dict[str, Any] | None = None,
    attempt: int = 1,
) -> Report:
    """Write the pages of ``streams`` and the index (which keeps the verdicts of streams
    reported earlier); runs the checkpoint first unless its outcome is given."""
    from onceonly.faults import maybe_fail

    maybe_fail(settings.fault_points, "report", attempt)
    _require_models(settings, streams)
    out = out or settings.reports_dir
    out.mkdir(parents=True, exist_ok=True)
    checked = checked or run_checks(settings, streams, out)
    checks = checked["checks"]
    meta = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "target": settings.target,
    }
    written = {
        contract.stream: _stream_page(
            settings,
            contract,
            [c for c in checks if c["stream"] == contract.stream],
            meta,
            out,
            (checked.get("data_docs") or {}).get(contract.stream),
        )
        for contract in streams
    }
    # the index keeps the verdicts of the other declared streams reported earlier
    summaries = []
    for name in settings.streams():
        path = out / name / "summary.json"
        if name in written:
            summaries.append(written[name])
        elif path.exists():
            earlier = json.loads(path.read_text())
            if {"guarantee", "held"} <= set(
                earlier
            ):  # (one written by an older version is left out)
                summaries.append(earlier)
    index = out / "index.html"
    index.write_text(render_index(summaries, meta), encoding="utf-8")
    overall = {
        **meta,
        "held": all(s["held"] for s in summaries),
        "checks_passed": all(s["checks_passed"] for s in summaries),
        "streams": {
            s["stream"]: {
                "guarantee": s["guarantee"],
                "held": s["held"],
                "checks_passed": s["checks_passed"],
                "verdict": s["verdict"],
                "summary": f"{s['stream']}/summary.json",
            }
            for s in summaries
        },
    }
    summary = out / "summary.json"
    summary.write_text(json.dumps(overall, indent=2) + "\n")
    mine_ok = all(page["held"] for page in written.values())
    return Report(index, summary, mine_ok, not failed_checks(checks))
