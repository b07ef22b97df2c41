"""`onceonly chaos --runs 3` on DuckDB (the inventory stream) and on PostgreSQL (orders),
as CI runs it (the 100-run campaigns are recorded in docs/reliability.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _chaos(target: str, cwd: Path, stream: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "onceonly",
            "chaos",
            "--runs",
            "3",
            "--seed",
            "11",
            "--target",
            target,
            "--events",
            "400",
            "--stream",
            stream,
        ],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "120"},
        capture_output=True,
        text=True,
        timeout=1800,
    )


def _value(out: str, measure: str) -> str:
    for line in out.splitlines():
        if f"│ {measure} " in line:
            return line.split("│")[2].strip()
    raise AssertionError(f"{measure!r} not in:\n{out}")


def _holds(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert _value(out, "runs") == "3"
    assert _value(out, "runs with exact facts") == "3"
    assert _value(out, "events lost") == "0"
    assert _value(out, "events duplicated") == "0"
    flagged, injected = _value(out, "gaps flagged / injected").split(" / ")
    assert flagged == injected and int(injected) > 0
    assert sum(1 for ln in out.splitlines() if "│ faults: " in ln) >= 3


def test_chaos_on_duckdb(tmp_path: Path) -> None:
    result = _chaos("duckdb", tmp_path, "inventory")
    _holds(result)
    assert "inventory" in result.stdout


def test_chaos_on_postgres(postgres_env, tmp_path: Path) -> None:
    result = _chaos("postgres", tmp_path, "orders")
    _holds(result)
    assert "concurrent_landing" in result.stdout or "kill_" in result.stdout
