"""`onceonly report`: figures + checks -> reports/index.html and reports/summary.json."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from onceonly.report.figures import read_figures
from onceonly.report.html import render, verdict
from onceonly.settings import Settings
from onceonly.targets import open_target


@dataclass
class Report:
    index: Path
    summary: Path
    exactly_once: bool
    checks_passed: bool


def check_dicts(outcome: Any) -> list[dict[str, Any]]:
    """The checkpoint outcome as plain data (for XCom, summary.json and the page)."""
    return [
        {
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


def default_reports_dir() -> Path:
    return Path(os.environ.get("ONCEONLY_REPORTS_DIR", "reports"))


def run_checks(settings: Settings, out: Path | None = None) -> dict[str, Any]:
    """Run the checkpoint; its outcome as plain data, with the Data Docs location."""
    from onceonly.quality.checkpoint import run_checkpoint

    out = out or default_reports_dir()
    out.mkdir(parents=True, exist_ok=True)
    outcome = run_checkpoint(settings, out)
    return {
        "checks": check_dicts(outcome),
        "data_docs": str(outcome.data_docs) if outcome.data_docs else None,
    }


def build_report(
    settings: Settings,
    out: Path | None = None,
    checked: dict[str, Any] | None = None,
    attempt: int = 1,
) -> Report:
    """Write the report files; runs the checkpoint first unless its outcome is given."""
    from onceonly.faults import maybe_fail

    maybe_fail("report", attempt)
    out = out or default_reports_dir()
    out.mkdir(parents=True, exist_ok=True)
    checked = checked or run_checks(settings, out)
    checks = checked["checks"]
    warehouse = open_target(settings)
    try:
        figures = read_figures(warehouse)
    finally:
        warehouse.close()
    meta = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "target": settings.target,
    }
    docs = None
    if checked.get("data_docs"):
        docs = os.path.relpath(checked["data_docs"], out.resolve())
    ok, reasons = verdict(figures, checks)
    checks_passed = not [c for c in checks if not c["success"] and c["severity"] == "error"]
    (out / "index.html").write_text(render(figures, checks, meta, docs), encoding="utf-8")
    summary = {
        **meta,
        "exactly_once": ok,
        "verdict": reasons,
        "checks_passed": checks_passed,
        "checks": checks,
        "data_docs": docs,
        **figures.as_dict(),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return Report(out / "index.html", out / "summary.json", ok, checks_passed)
