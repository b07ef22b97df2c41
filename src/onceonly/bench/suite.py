"""`onceonly bench`: the pipeline against the hand-written floor and the naive
alternatives, on the same data in one run, with scaling and memory.

1. Deliveries of ``events`` lines are written once (see bench/data.py).
2. Ours: landing (lines/s), dedup and facts (the staging views and the three incremental
   marts: events/s), a whole `dbt build`, and `onceonly run` end to end (both DAGs under
   dag.test(): landing, dbt through Cosmos, GX checkpoint, report).
3. The alternatives (bench/alternatives.py): the floor from the files; append-only and
   (at each history size) full refresh over the landed raw table.
4. Incremental cost as history grows: ``history`` events written straight into raw and
   built, then a batch of ``batch`` copies taken in incrementally; full refresh of the same.
5. Airflow: DAG parse time; the dbt stage through Cosmos vs a bare `dbt build`.
6. Peers (``--peer``, bench/peers.py): the loader a user would pick instead, on the same
   landing zone from its own environment, beside ours' landing plus dedup and facts.

Every step runs in a process of its own (bench/steps.py) for its own peak RSS. The
alternatives are DuckDB by definition (they read the same files landed into DuckDB), and
so is the history section (DuckDB SQL); ours runs on the configured target, each step on a
scratch warehouse of its own (a copy of the landed one).
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from onceonly import exit_codes
from onceonly.bench.peers import Peer, run_peer
from onceonly.bench.steps import MART_MODELS, copy_database, run_process, run_step
from onceonly.contract import Guarantee
from onceonly.settings import Settings

GIB = 1024**3

#: aims on DuckDB (issue #8, where issue #16 made them stricter: incremental and peak
#: RSS): name -> (ratio key, comparison, bound)
AIMS = {
    "end to end vs the floor": ("ours_over_floor", "<=", 2.0),
    "dedup overhead over append-only": ("ours_over_append_only", "<=", 1.25),
    "incremental, largest / smallest history": ("largest_over_smallest_history", "<=", 1.15),
    "full refresh / incremental at the largest history": ("full_refresh_over_ours", ">=", 5.0),
    "peak RSS of ours (GiB)": ("ours_peak_rss_gib", "<=", 3.0),
    # issue #16
    "dedup-and-facts step / append step": ("dedup_step_over_append_step", "<=", 2.0),
    "dbt stage through Cosmos / bare dbt build": ("cosmos_over_bare", "<=", 1.2),
    "landing, valid lines/s": ("landing_lines_per_second", ">=", 500_000),
    # issue #14: a run's facts step at the largest history, over at_least_once's
    "effectively_once / at_least_once per run": ("effectively_once_over_at_least_once", "<=", 1.3),
    "exactly_once / at_least_once per run": ("exactly_once_over_at_least_once", "<=", 1.6),
}


def _r(x: float, digits: int = 2) -> float:
    return round(x, digits)


def run_bench(
    events: int,
    histories: list[int],
    batch: int,
    settings: Settings,
    work: Path,
    progress: Callable[[str], None] = lambda _: None,
    peers: tuple[Peer, ...] = (),
) -> dict[str, Any]:
    from onceonly.streams import example
    from onceonly.targets import scratch

    work = work.resolve()  # every child process means the same folders
    work.mkdir(parents=True, exist_ok=True)
    landing = work / "landing"
    env = {
        "AIRFLOW_HOME": str(work / "airflow"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
    }
    #: ours' warehouses: scratch warehouses of the configured target, named per step
    base = settings.with_(
        duckdb_path=work / "ours.duckdb", landing=landing, reports_dir=work / "reports"
    )
    alternatives = work / "alternatives.duckdb"
    for path in [alternatives, work / "floor.duckdb", work / "append.duckdb"]:
        path.unlink(missing_ok=True)
    out: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "target": settings.target,
        "delivered_events": events,
    }

    def env_of(step: Settings) -> dict[str, str]:
        return {**env, **step.environment()}

    progress(f"writing {events:,} delivered lines")
    out["data"] = run_step("generate", landing=str(landing), lines=events)

    progress("alternatives: landing their input (DuckDB)")
    duck = Settings(target="duckdb", duckdb_path=alternatives, landing=landing)
    run_step("land", env_of(duck), landing=str(landing))

    progress(f"ours: landing ({settings.target})")
    landed = scratch(base, "landed")
    land = run_step("land", env_of(landed), landing=str(landing))

    def fresh(name: str) -> Settings:
        """A copy of the landed warehouse for one of ours' steps."""
        return scratch(base, name, copy_of=landed)

    progress("ours: dedup and facts (dbt run of the marts)")
    facts = run_step("dbt", env_of(fresh("facts")), command="run", args=MART_MODELS)
    progress("ours: the facts at each guarantee")
    levels = {
        g.value: run_step("facts_at", env_of(fresh(f"facts_{g.value}")), guarantee=g.value)
        for g in Guarantee
    }
    progress("ours: dbt build (bare)")
    bare = run_step("dbt", env_of(fresh("bare")), command="build", args=[])
    progress("ours: dbt stage through Cosmos")
    cosmos = run_step("cosmos", env_of(fresh("cosmos")))
    progress("ours: onceonly run, end to end")
    e2e = run_process(
        [sys.executable, "-m", "onceonly", "run", "--landing", str(landing)],
        env_of(scratch(base, "run")),
        completed=exit_codes.COMPLETED,  # the deliveries hold bad lines by design
    )
    progress("airflow: DAG parse")
    parses = [run_step("parse_dags", env)["seconds"] for _ in range(3)]

    progress("alternatives: floor")
    floor = run_step("floor", duckdb_path=str(work / "floor.duckdb"), landing=str(landing))
    progress("alternatives: append-only")
    append_db = copy_database(alternatives, work / "append.duckdb")
    append = run_step("append_only", duckdb_path=str(append_db))

    orders = example("orders")  # the stream bench/data.py delivers
    ran_peers = {}
    for p in peers:
        progress(f"peer: {p.name} on the same landing zone")
        ran_peers[p.name] = run_peer(
            p, landing / orders.stream, orders.key, work / f"peer-{p.name}"
        )

    distinct = out["data"]["events"]
    if floor["facts"] != distinct:
        raise AssertionError(f"floor holds {floor['facts']} facts, {distinct} events delivered")
    ours_pipeline = land["seconds"] + facts["seconds"]
    out["ours"] = {
        "landing": {**land, "lines_per_second": _r(land["lines"] / land["seconds"], 0)},
        "dedup_and_facts": {**facts, "events_per_second": _r(distinct / facts["seconds"], 0)},
        "dbt_build": bare,
        "onceonly_run": e2e,
    }
    out["alternatives"] = {"floor": floor, "append_only": append}
    if ran_peers:
        out["peers"] = ran_peers
    cheapest = levels[Guarantee.AT_LEAST_ONCE.value]["seconds"]
    out["guarantees"] = {
        g: {**level, "over_at_least_once": _r(level["seconds"] / cheapest)}
        for g, level in levels.items()
    }
    out["airflow"] = {
        "dag_parse_seconds_median_of_3": _r(sorted(parses)[1], 3),
        "bare_dbt_build_seconds": _r(bare["seconds"]),
        "cosmos_dbt_stage_seconds": _r(cosmos["seconds"]),
        "cosmos_over_bare": _r(cosmos["seconds"] / bare["seconds"]),
    }
    ratios: dict[str, float] = {
        "ours_over_floor": _r(e2e["wall_seconds"] / floor["wall_seconds"]),
        "ours_pipeline_over_floor": _r(ours_pipeline / floor["seconds"]),
        "ours_over_append_only": _r(ours_pipeline / (land["seconds"] + append["seconds"])),
        "dedup_step_over_append_step": _r(facts["seconds"] / append["seconds"]),
        "cosmos_over_bare": out["airflow"]["cosmos_over_bare"],
        "landing_lines_per_second": out["ours"]["landing"]["lines_per_second"],
        "ours_peak_rss_gib": _r(
            max(s["peak_rss_bytes"] for s in (land, facts, bare, cosmos, e2e)) / GIB
        ),
    }
    for name, strategies in ran_peers.items():
        for strategy, figures in strategies.items():
            ratios[f"ours_pipeline_over_{name}_{strategy}"] = _r(
                ours_pipeline / figures["wall_seconds"]
            )

    if histories:
        out["history"] = [
            incremental_at_history(work, env, history, batch, progress) for history in histories
        ]
        runs = out["history"]
        ratios["largest_over_smallest_history"] = _r(
            runs[-1]["incremental_seconds"] / runs[0]["incremental_seconds"]
        )
        out["guarantees_at_history"] = guarantees_at_history(
            work, env, histories[-1], batch, progress
        )
        for g in (Guarantee.EFFECTIVELY_ONCE, Guarantee.EXACTLY_ONCE):
            ratios[f"{g.value}_over_at_least_once"] = out["guarantees_at_history"][g.value][
                "over_at_least_once"
            ]
        ratios["full_refresh_over_ours"] = runs[-1]["full_refresh_over_incremental"]
    out["ratios"] = ratios
    out["aims"] = {
        name: {
            "figure": ratios.get(key),
            "aim": f"{op} {bound:,}",
            "met": None
            if key not in ratios
            else (ratios[key] <= bound if op == "<=" else ratios[key] >= bound),
        }
        for name, (key, op, bound) in AIMS.items()
    }
    return out


def incremental_at_history(
    work: Path,
    env: dict[str, str],
    history: int,
    batch: int,
    progress: Callable[[str], None] = lambda _: None,
    full_refresh: bool = True,
) -> dict[str, Any]:
    """On DuckDB: ``history`` events written into raw and built, then a batch of ``batch``
    copies taken in incrementally (the staging views and the three marts, each model's
    seconds as dbt reports them), then (``full_refresh``) a full refresh of the same, for
    comparison."""
    progress(f"history: {history:,} events, then a {batch:,}-copy batch")
    hdb = work / f"history-{history}.duckdb"
    hdb.unlink(missing_ok=True)
    initial = run_step("history", env, duckdb_path=str(hdb), history=history)
    added = run_step("batch", duckdb_path=str(hdb), history=history, batch=batch)
    incremental = run_step(
        "dbt",
        {**env, **Settings(target="duckdb", duckdb_path=hdb).environment()},
        command="run",
        args=MART_MODELS,
    )
    refresh = run_step("full_refresh", duckdb_path=str(hdb)) if full_refresh else None
    hdb.unlink()
    out: dict[str, Any] = {
        "history_events": history,
        "batch_copies": batch,
        "batch_new_events": added["new_events"],
        "initial_build_seconds": _r(initial["seconds"]),
        "incremental_seconds": _r(incremental["seconds"]),
        "incremental_model_seconds": {k: _r(v) for k, v in incremental["nodes"].items()},
        "incremental_peak_rss_bytes": incremental["peak_rss_bytes"],
    }
    if refresh is not None:
        out["full_refresh_seconds"] = _r(refresh["seconds"])
        out["full_refresh_over_incremental"] = _r(refresh["seconds"] / incremental["seconds"])
    return out


def guarantees_at_history(
    work: Path,
    env: dict[str, str],
    history: int,
    batch: int,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """At each guarantee, on DuckDB: ``history`` events built into the facts, then the run
    that takes in a batch of ``batch`` copies; each run's seconds over at_least_once's."""
    progress(f"history: the run at each guarantee, {history:,} events then {batch:,} copies")
    levels = {}
    for g in Guarantee:
        progress(f"  {g.value}")
        gdb = work / f"history-{g.value}.duckdb"
        gdb.unlink(missing_ok=True)
        levels[g.value] = run_step(
            "history_at",
            env,
            duckdb_path=str(gdb),
            history=history,
            batch=batch,
            guarantee=g.value,
        )
        gdb.unlink()
    base = levels[Guarantee.AT_LEAST_ONCE.value]["seconds"]
    return {
        "history_events": history,
        "batch_copies": batch,
        **{
            g: {**level, "over_at_least_once": _r(level["seconds"] / base)}
            for g, level in levels.items()
        },
    }


def table_rows(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(measure, figure, aim) rows for the printed summary."""
    ours, alt = result["ours"], result["alternatives"]
    rows = [
        ("delivered lines", f"{result['data']['lines']:,}", ""),
        ("landing, lines/s", f"{ours['landing']['lines_per_second']:,.0f}", ""),
        ("dedup + facts, events/s", f"{ours['dedup_and_facts']['events_per_second']:,.0f}", ""),
        ("onceonly run (end to end), s", f"{ours['onceonly_run']['wall_seconds']:.1f}", ""),
        *(
            (
                f"facts at {g}, s (x at_least_once)",
                f"{v['seconds']:.1f} ({v['over_at_least_once']:.2f}x)",
                "",
            )
            for g, v in result["guarantees"].items()
        ),
        ("floor script, s", f"{alt['floor']['wall_seconds']:.1f}", ""),
        ("append-only, s", f"{alt['append_only']['seconds']:.1f}", ""),
        ("DAG parse, s", f"{result['airflow']['dag_parse_seconds_median_of_3']:.2f}", ""),
        ("Cosmos dbt stage / bare dbt build", f"{result['airflow']['cosmos_over_bare']:.2f}", ""),
    ]
    ours_pipeline = ours["landing"]["seconds"] + ours["dedup_and_facts"]["seconds"]
    rows.append(("ours: landing + dedup and facts, s", f"{ours_pipeline:.1f}", ""))
    for name, strategies in result.get("peers", {}).items():
        for strategy, p in strategies.items():
            rows.append(
                (
                    f"{p['peer']} {strategy}, s (duplicate rows kept)",
                    f"{p['wall_seconds']:.1f} ({p['duplicate_rows']:,})",
                    "",
                )
            )
            rows.append(
                (
                    f"ours / {name} {strategy}",
                    f"{result['ratios'][f'ours_pipeline_over_{name}_{strategy}']:.2f}",
                    "",
                )
            )
    for name, aim in result["aims"].items():
        value = aim["figure"]
        if value is None:
            figure = "not measured"
        else:
            figure = f"{value:,.0f}" if value >= 1000 else f"{value:.2f}"
        met = "" if aim["met"] is None else (" met" if aim["met"] else " NOT met")
        rows.append((name, figure, aim["aim"] + met))
    return rows
