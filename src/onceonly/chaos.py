"""`onceonly chaos`: drive the real pipeline while injecting failures, recover the way a
scheduler would (retry), then hold the result to the generator's truth.

Faults, drawn at random per run:
  kill_landing        SIGKILL of the landing process at a random moment (mid-file)
  lost_ack            the landing fails after its rows were committed (retried)
  concurrent_landing  the same interval landed twice at once (targets that allow it)
  kill_dbt            SIGKILL of `dbt build` at a random moment (mid-MERGE)
  redeliver_files     files shipped again, byte for byte, under new names
  replay_hour         an hour landed again on purpose (--force)
  report_fails        the report step fails once (retried)
"""

from __future__ import annotations

import csv
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from onceonly import exit_codes
from onceonly.contract import StreamContract
from onceonly.settings import Settings
from onceonly.truth_check import Comparison, comparisons

FAULTS = (
    "kill_landing",
    "lost_ack",
    "concurrent_landing",
    "kill_dbt",
    "redeliver_files",
    "replay_hour",
    "report_fails",
)
#: truth files that are findings or accounting, not facts
_NOT_FACTS = {"sequence_gaps", "event_conflicts", "late_duplicates", "files", "quarantine"}


def _chaos_comparisons(contract: StreamContract, truth: Path) -> tuple[Comparison, ...]:
    """What must equal the truth after any fault: the facts and marts, the gaps, and which
    events conflict. Not how many copies each conflicting event has: a replay adds copies,
    and the conflicts table counts them (as it should)."""
    out = []
    for c in comparisons(contract, truth):
        if c.truth_file == "event_conflicts":
            c = replace(c, columns=(contract.key, "versions"))
        if c.truth_file not in _NOT_FACTS or c.truth_file in ("sequence_gaps", "event_conflicts"):
            out.append(c)
    return tuple(out)


@dataclass
class RunOutcome:
    faults: list[str]
    exact: bool
    events_lost: int
    events_duplicated: int
    gaps_flagged: int
    gaps_injected: int
    conflicts_flagged: int
    conflicts_injected: int
    report_ok: bool
    notes: list[str] = field(default_factory=list)


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "onceonly", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _dbt(settings: Settings, workdir: Path) -> subprocess.Popen[bytes]:
    from onceonly.dbt_runner import dbt_build_process

    return dbt_build_process(settings, workdir)


def _finished(process: subprocess.Popen[bytes]) -> int:
    process.communicate(timeout=900)
    return process.returncode


def _killed_after(process: subprocess.Popen[bytes], seconds: float) -> None:
    time.sleep(seconds)
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait()


def _retry(run: list[str], env: dict[str, str], attempts: int = 3) -> None:
    """Run a CLI step, retrying as a scheduler would; raise if it never succeeds."""
    for _ in range(attempts):
        p = _cli(run, env)
        _, err = p.communicate(timeout=900)
        if p.returncode in exit_codes.COMPLETED:  # rejected files and bad lines: recorded
            return
    raise RuntimeError(f"onceonly {' '.join(run)} failed {attempts} times: {err.decode()[-500:]}")


def one_run(settings: Settings, seed: int, run: int, events: int, stream: str) -> RunOutcome:
    from onceonly import reconcile
    from onceonly.generate.writer import generate
    from onceonly.landing_zone import discover
    from onceonly.report.build import build_report
    from onceonly.sql import sql
    from onceonly.targets import open_target, scratch, supports_concurrent_landing
    from onceonly.truth_check import compare, resolve_held_as_truth

    rng = random.Random(seed * 1000 + run)
    workdir = Path(tempfile.mkdtemp(prefix="onceonly-chaos-"))
    try:
        zone = workdir / "zone"
        info = generate(
            zone, n_events=events, days=1, seed=seed * 1000 + run, profile="messy", stream=stream
        )
        stream = str(info["stream"])
        contract = settings.streams()[stream]
        truth = zone / "_truth" / stream
        # an empty warehouse of the configured kind for this run (a DuckDB file in the
        # run's folder, a database, prefixed datasets), named for the whole run by env
        target_settings = scratch(
            settings.with_(duckdb_path=workdir / "chaos.duckdb", faults=""), f"chaos_{run}"
        )
        env = {**os.environ, **target_settings.environment()}
        land = ["land", "--landing", str(zone), "--stream", stream]
        concurrent = supports_concurrent_landing(settings)
        pool = [f for f in FAULTS if f != "concurrent_landing" or concurrent]
        faults = sorted(rng.sample(pool, rng.randint(1, 3)))
        if "redeliver_files" in faults:
            for lf in rng.sample(discover(zone, stream).files, 3):
                # the same bytes, and the same manifest, later and under another name
                later = lf.arrived_at + timedelta(hours=rng.randint(1, 3))
                dest = zone / stream / f"dt={later:%Y-%m-%d}" / f"hour={later:%H}"
                dest.mkdir(parents=True, exist_ok=True)
                assert lf.path is not None  # chaos runs on a local landing zone
                shutil.copy(lf.path, dest / f"zz-again-{lf.name}")
                manifest = lf.path.with_name(lf.manifest_name)
                if manifest.exists():
                    shutil.copy(manifest, dest / f"zz-again-{lf.manifest_name}")
        if "kill_landing" in faults:
            _killed_after(_cli(land, env), rng.uniform(0.8, 2.5))
        if "concurrent_landing" in faults:
            first, second = _cli(land, env), _cli(land, env)
            first.wait(timeout=900)
            second.wait(timeout=900)
        if "lost_ack" in faults:
            p = _cli(land, {**env, "ONCEONLY_FAULTS": "after_landing"})
            p.wait(timeout=900)  # fails after committing: the retry below must skip
        _retry(land, env)  # the scheduler's retry / the next run
        if "kill_dbt" in faults:
            _killed_after(_dbt(target_settings, workdir), rng.uniform(1.5, 6.0))
        build = _dbt(target_settings, workdir)
        if _finished(build) != 0:
            if _finished(_dbt(target_settings, workdir)) != 0:  # one retry
                raise RuntimeError("dbt build failed twice")
        if "replay_hour" in faults:
            hours = sorted({f.arrived_at for f in discover(zone, stream).files})
            hour = rng.choice(hours)
            _retry(
                [
                    *land,
                    "--force",
                    "--start",
                    hour.isoformat(),
                    "--end",
                    (hour + timedelta(hours=1)).isoformat(),
                ],
                env,
            )
            if _finished(_dbt(target_settings, workdir)) != 0:
                raise RuntimeError("dbt build after the replay failed")
        warehouse = open_target(target_settings)
        try:
            held = resolve_held_as_truth(warehouse, contract, truth)
        finally:
            warehouse.close()
        if held and _finished(_dbt(target_settings, workdir)) != 0:
            raise RuntimeError("dbt build after resolving the held keys failed")
        warehouse = open_target(target_settings)
        try:
            reconcile.repair(warehouse, contract)
            checked = _chaos_comparisons(contract, truth)
            diffs = {d.table: d for d in compare(warehouse, truth, contract, checked)}
            facts, key = contract.relations.facts, contract.key
            [(n_facts, distinct)] = warehouse.query(
                sql("select count(*), count(distinct {key}) from {facts}", key=key, facts=facts)
            )
            fact_ids = {
                str(r[0])
                for r in warehouse.query(
                    sql("select distinct {key} from {facts}", key=key, facts=facts)
                )
            }
        finally:
            warehouse.close()
        report_ok = False
        reporting = target_settings.with_(faults="report" if "report_fails" in faults else "")
        for attempt_no in (1, 2):
            try:
                report = build_report(
                    reporting, [contract], workdir / "reports", attempt=attempt_no
                )
                report_ok = report.held and report.checks_passed
                break
            except Exception:  # noqa: BLE001 - the injected failure; retried once
                continue
        with (truth / f"{facts.name}.csv").open(newline="") as fh:
            truth_ids = {row[key] for row in csv.DictReader(fh)}
        gaps, conflicts = diffs.get("sequence_gaps"), diffs["event_conflicts"]
        gaps_injected = _rows(truth / "sequence_gaps.csv")
        conflicts_injected = _rows(truth / "event_conflicts.csv")
        exact = all(d.equal for d in diffs.values())
        return RunOutcome(
            faults=faults,
            exact=exact,
            events_lost=len(truth_ids - fact_ids),
            events_duplicated=int(str(n_facts)) - int(str(distinct)),
            gaps_flagged=gaps_injected
            - (sum(gaps.missing.values()) - sum(gaps.unexpected.values()) if gaps else 0),
            gaps_injected=gaps_injected,
            conflicts_flagged=conflicts_injected
            - sum(conflicts.missing.values())
            + sum(conflicts.unexpected.values()),
            conflicts_injected=conflicts_injected,
            report_ok=report_ok,
            notes=[
                f"{name}: {sum(d.missing.values())} rows missing, "
                f"{sum(d.unexpected.values())} unexpected"
                for name, d in diffs.items()
                if not d.equal
            ],
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _rows(path: Path) -> int:
    """Data rows of a truth CSV (0 when the stream has no such table)."""
    return len(path.read_text().splitlines()) - 1 if path.exists() else 0


@dataclass
class ChaosSummary:
    runs: list[RunOutcome]

    @property
    def faults(self) -> Counter[str]:
        return Counter(f for r in self.runs for f in r.faults)

    @property
    def ok(self) -> bool:
        return all(
            r.exact
            and r.events_lost == 0
            and r.events_duplicated == 0
            and r.report_ok
            and r.gaps_flagged == r.gaps_injected
            and r.conflicts_flagged == r.conflicts_injected
            for r in self.runs
        )


def run_chaos(
    settings: Settings,
    stream: str,
    runs: int,
    seed: int,
    events: int = 600,
    on_run: object = None,
    first_run: int = 0,
) -> ChaosSummary:
    outcomes = []
    for i in range(first_run, first_run + runs):
        outcomes.append(one_run(settings, seed, i, events, stream))
        if callable(on_run):
            on_run(len(outcomes), outcomes[-1])
    return ChaosSummary(outcomes)
