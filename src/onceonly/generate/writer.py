"""Write a generated landing zone (data files, manifests) and its ``_truth/`` folder."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from onceonly.contract import Layout
from onceonly.generate import deliveries, truth
from onceonly.generate.model import models
from onceonly.landing_zone import MANIFEST_SUFFIX

DEFAULT_START = datetime(2026, 1, 5)
TRUTH_DIR = "_truth"


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | Decimal):
        return str(value)
    return value


def write_csv(path: Path, rows: list[dict[str, object]], columns: list[str] | None = None) -> None:
    columns = columns or (list(rows[0]) if rows else [])
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        for row in rows:
            w.writerow([_cell(row.get(c)) for c in columns])


def generate(
    out: Path,
    n_events: int = 10_000,
    days: int = 3,
    seed: int = 42,
    profile: str = "messy",
    stream: str = "orders",
    window_days: int = 7,
    start: datetime = DEFAULT_START,
    on_progress: Callable[[str, int, int], None] | None = None,
    layout: Layout = Layout.HOURLY,
    parquet: bool = False,
) -> dict[str, object]:
    """Write the landing zone of one of the generator's streams under ``out`` in
    ``layout`` (and its truth under ``out/_truth/<stream>/``); return what was injected."""
    model = models()[stream]
    prof = deliveries.PROFILES[profile]
    evs, plan = _plan(stream, n_events, days, seed, profile, start)
    plan.files = deliveries.in_layout(deliveries.in_format(plan.files, parquet), layout, stream)
    out.mkdir(parents=True, exist_ok=True)
    total = len(plan.files)
    for i, f in enumerate(plan.files, start=1):
        path = out / f.path(stream)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = f.data()
        if f.manifest:
            n_lines = len(f.lines)
            manifest = {"record_count": n_lines, "sha256": hashlib.sha256(data).hexdigest()}
            path.with_name(path.name + MANIFEST_SUFFIX).write_text(json.dumps(manifest) + "\n")
        path.write_bytes(data[: len(data) // 2] if f.truncated else data)
        if layout == Layout.KAFKA_CONNECT:  # a sink file arrives when it is written
            written = f.arrived_at.replace(tzinfo=UTC).timestamp()
            os.utime(path, (written, written))
        if on_progress:
            on_progress("files", i, total)
    _write_truth(out, stream, plan.files, window_days)
    info: dict[str, object] = {
        "seed": seed,
        "requested_events": n_events,
        "profile_name": profile,
        "events": len(evs),
        "days": days,
        "start": start.isoformat(),
        "stream": stream,
        "window_days": window_days,
        "layout": layout.value,
        "parquet_files": sum(f.parquet for f in plan.files),
        "files": total,
        "profile": asdict(prof),
        "injected": plan.injected,
        "malformed_kinds": model.malformed_kinds,
    }
    _write_info(out, stream, info)
    return info


def _plan(
    stream: str, n_events: int, days: int, seed: int, profile: str, start: datetime
) -> tuple[list[object], deliveries.Plan]:
    """The simulated events and their planned deliveries (the same for the same inputs)."""
    model = models()[stream]
    rng = random.Random(seed)
    evs = list(model.simulate(rng, n_events, start, days))
    return evs, deliveries.plan(evs, deliveries.PROFILES[profile], rng, model)


def _write_truth(out: Path, stream: str, files: list[deliveries.GenFile], window_days: int) -> None:
    model = models()[stream]
    truth_dir = out / TRUTH_DIR / stream
    truth_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in truth.compute(files, model, window_days).tables.items():
        write_csv(truth_dir / f"{name}.csv", rows, list(model.columns()[name]))


def _info_path(out: Path, stream: str) -> Path:
    return out / TRUTH_DIR / stream / "faults.json"


def _write_info(out: Path, stream: str, info: dict[str, object]) -> None:
    _info_path(out, stream).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")


def add_deliveries(out: Path, stream: str, files: list[deliveries.GenFile], by: str) -> None:
    """Files another producer (``by``) wrote into a generated landing zone become part of
    its truth: the truth is computed again over the planned files and these."""
    info = json.loads(_info_path(out, stream).read_text())
    _, plan = _plan(
        stream,
        int(info["requested_events"]),
        int(info["days"]),
        int(info["seed"]),
        str(info["profile_name"]),
        datetime.fromisoformat(str(info["start"])),
    )
    _write_truth(out, stream, [*plan.files, *files], int(info["window_days"]))
    info.setdefault("added", {})[by] = {
        "files": len(files),
        "lines": sum(len(f.lines) for f in files),
    }
    _write_info(out, stream, info)
