"""Airflow overhead: DAG parse time, the dbt stage through Cosmos vs a bare `dbt build`,
and the whole `onceonly demo` wall time.

Usage: .venv/bin/python benchmarks/bench_airflow.py [--events 20000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PARSE = """
import json, time
import airflow.sdk
from airflow.dag_processing.dagbag import DagBag
t = time.perf_counter()
bag = DagBag({dags!r})
print(json.dumps({{"seconds": time.perf_counter() - t, "dags": len(bag.dags)}}))
"""


def parse_seconds(repeats: int = 5) -> float:
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", PARSE.format(dags=str(REPO / "dags"))],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="onceonly-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("AIRFLOW_HOME", str(work / "airflow"))
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "ERROR"

    from onceonly.dbt_runner import run_dbt
    from onceonly.generate.writer import generate
    from onceonly.landing import land
    from onceonly.orchestration.runner import (
        ensure_manifest,
        export_settings,
        load_dag,
        prepare_airflow,
    )
    from onceonly.settings import Settings
    from onceonly.streams import example
    from onceonly.targets import open_target

    prepare_airflow()
    zone = work / "zone"
    generate(zone, n_events=args.events, days=3, seed=5, profile="messy")
    results: dict[str, object] = {"events": args.events}
    for name in ("bare", "cosmos"):
        settings = Settings(target="duckdb", duckdb_path=work / f"{name}.duckdb", landing=zone)
        target = open_target(settings)
        land(zone, target, example("orders"))
        target.close()
        ensure_manifest(settings)
        if name == "bare":
            t0 = time.perf_counter()
            run_dbt("build", settings)
            results["bare_dbt_build_seconds"] = round(time.perf_counter() - t0, 2)
        else:
            export_settings(settings)
            dag = load_dag("transform_orders")
            t0 = time.perf_counter()
            run = dag.test(mark_success_pattern="data_quality|report|verdict")
            results["cosmos_dbt_stage_seconds"] = round(time.perf_counter() - t0, 2)
            assert run.state == "success", run.state
    results["cosmos_over_bare"] = round(
        results["cosmos_dbt_stage_seconds"] / results["bare_dbt_build_seconds"],
        2,  # type: ignore[operator]
    )
    results["dag_parse_seconds_median_of_5"] = round(parse_seconds(), 3)

    demo_dir = work / "demo"
    demo_dir.mkdir(exist_ok=True)
    env = {**os.environ, "AIRFLOW_HOME": str(demo_dir / "airflow")}
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "onceonly", "demo"],
        cwd=demo_dir,
        env=env,
        check=True,
        capture_output=True,
    )
    results["demo_seconds_fresh_airflow_home"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "onceonly", "demo"],
        cwd=demo_dir,
        env=env,
        check=True,
        capture_output=True,
    )
    results["demo_seconds_second_run"] = round(time.perf_counter() - t0, 1)
    results["machine"] = (
        f"{platform.machine()}, {platform.python_version()}, {os.cpu_count()} cores"
    )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
