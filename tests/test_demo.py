"""`onceonly demo` as a new user runs it: messy data in, every table equal to the truth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def test_demo_runs_the_dags_and_matches_the_truth(
    tmp_path: Path, postgres_env: dict[str, str]
) -> None:
    """With a PostgreSQL server to hand (as `make demo-outbox` starts one), the demo's stock
    application also writes inventory movements through its outbox, relayed meanwhile."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ONCEONLY_")},
        **postgres_env,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "ONCEONLY_RETRY_DELAY_SECONDS": "1",
        "COLUMNS": "160",
    }
    env.pop("ONCEONLY_FAULTS", None)
    result = subprocess.run(
        [sys.executable, "-m", "onceonly", "demo", "--events", "2500", "--outbox"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    truth_rows = [ln for ln in out.splitlines() if "│ yes" in ln or "│ NO" in ln]
    # orders: facts, 2 marts, 5 dq/accounting tables; inventory: facts, 1 mart, 5
    assert len(truth_rows) == 8 + 7 and all("│ yes" in ln for ln in truth_rows), out[-2000:]
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text())
    assert summary["held"] is True
    assert set(summary["streams"]) == {"orders", "inventory"}
    for stream, guarantee in (("orders", "effectively once"), ("inventory", "exactly once")):
        assert f"{stream}: {guarantee}: yes" in out
        assert (tmp_path / "reports" / stream / "index.html").exists()
        # each stream's Data Docs hold its own validations, those of the stream checked
        # first as well as the last
        page = json.loads((tmp_path / "reports" / stream / "summary.json").read_text())
        docs = (tmp_path / "reports" / stream / page["data_docs"]).resolve()
        validations = docs.parent / "validations"  # a folder per dot of a suite's name
        assert [p.name for p in validations.iterdir()] == [stream]
        suites = {c["suite"] for c in page["checks"]}
        pages = {s: list((validations / Path(*s.split("."))).rglob("*.html")) for s in suites}
        assert suites and all(pages.values()), pages
    assert (tmp_path / "reports" / "index.html").exists()
    assert (tmp_path / "warehouse" / "demo.duckdb").exists()
    # inventory lands in one batch: every movement delivered with two contents is held for
    # a person to resolve, and the truth is compared after resolving them in a copy
    truth = tmp_path / "demo-landing" / "_truth" / "inventory" / "event_conflicts.csv"
    conflicts = len(truth.read_text().splitlines()) - 1
    inventory = json.loads((tmp_path / "reports" / "inventory" / "summary.json").read_text())
    assert len(inventory["waiting"]["held"]) == conflicts > 0
    assert f"inventory: {conflicts} key" in out and "held for conflicting copies" in out
    # the stock application: its movements relayed, landed, published once each, and its
    # own stock table equal to the stock the facts compute
    info = json.loads(
        (tmp_path / "demo-landing" / "_truth" / "inventory" / "faults.json").read_text()
    )
    relayed = info["added"]["outbox relay"]
    assert relayed["lines"] == 600 and relayed["files"] >= 2
    assert "stock application: 600 movements committed" in out
    assert "stock application: its stock table equals the facts' stock levels" in out
    assert inventory["relay"]["rows_24h"] == 600 and inventory["relay"]["waiting"] == 0


@pytest.mark.parametrize(
    ("layout", "format", "written"),
    [
        ("firehose", "jsonl", "2026/01/*/*/orders-1-*"),
        ("kafka_connect", "jsonl", "partition=*/orders+*+*.json*"),
        ("hourly", "parquet", "dt=*/hour=*/*.parquet"),
    ],
)
def test_demo_in_another_layout_or_format_matches_the_truth(
    layout: str, format: str, written: str, tmp_path: Path
) -> None:
    """`onceonly demo --layout ... --format ...`: the deliveries in that layout and format,
    landed under the declarations (copies that name the layout), every table equal to the
    truth."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ONCEONLY_")},
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "ONCEONLY_RETRY_DELAY_SECONDS": "1",
        "COLUMNS": "160",
    }
    demo = [sys.executable, "-m", "onceonly", "demo", "--events", "800", "--layout", layout]
    demo += ["--format", format]
    result = subprocess.run(
        [*demo, "--no-outbox"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    truth_rows = [ln for ln in result.stdout.splitlines() if "│ yes" in ln or "│ NO" in ln]
    assert len(truth_rows) == 8 + 7 and all("│ yes" in ln for ln in truth_rows)
    if layout != "hourly":
        declared = (tmp_path / "demo-landing" / "_streams" / "orders.yml").read_text()
        assert f"layout: {layout}" in declared
        refused = subprocess.run(
            [*demo, "--outbox", "--out", "other"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
        )
        assert refused.returncode == 2 and "--outbox with --layout" in refused.stderr
    assert list((tmp_path / "demo-landing" / "orders").glob(written))
