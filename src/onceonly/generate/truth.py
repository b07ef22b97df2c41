"""The expected warehouse contents, computed from the planned deliveries alone.

This is a second, independent implementation of the warehouse contract (plain Python over
the generator's own records, no SQL): the tests hold the warehouse to it. Which copy is
kept, what is a duplicate, a conflict, a late copy or a gap is the same for every stream;
the stream's model gives its fact rows and marts.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from onceonly.generate.deliveries import GenFile
from onceonly.generate.model import GenEvent, Rows, StreamModel, models


@dataclass
class Copy:
    event: GenEvent
    source_file: str
    line_number: int
    arrived_at: datetime


@dataclass
class Truth:
    """Every expected table of one stream, by truth file name (``<name>.csv``)."""

    tables: dict[str, Rows]

    def __getattr__(self, name: str) -> Rows:
        try:
            return self.__dict__["tables"][name]
        except KeyError:
            raise AttributeError(name) from None


def _line_count(data: bytes) -> int:
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def compute(files: list[GenFile], stream: str | StreamModel, window_days: int = 7) -> Truth:
    model = models()[stream] if isinstance(stream, str) else stream
    ordered = sorted(files, key=lambda f: (f.arrived_at, f.name))
    landed_hashes: set[str] = set()
    copies: list[Copy] = []
    file_rows: Rows = []
    quarantine: Rows = []
    file_of_copy: list[int] = []
    for index, f in enumerate(ordered):
        data = f.data()
        source = f.path(model.name)
        row: dict[str, object] = {"source_file": source, "arrived_at": f.arrived_at}
        sha = hashlib.sha256(data).hexdigest()
        if f.truncated:
            cut = data[: len(data) // 2]
            row.update(status="rejected", lines=_line_count(cut), landed=0, quarantined=0)
        elif sha in landed_hashes and f.lines:
            row.update(status="skipped", lines=0, landed=0, quarantined=0)
        else:
            if f.lines:  # an empty file is no copy of another
                landed_hashes.add(sha)
            bad = 0
            for number, line in enumerate(f.lines, start=1):
                if line.event is None:
                    bad += 1
                    quarantine.append(
                        {
                            "source_file": source,
                            "line_number": number,
                            "reason_code": line.reason_code,
                        }
                    )
                else:
                    copies.append(Copy(line.event, source, number, f.arrived_at))
                    file_of_copy.append(index)
            n = len(f.lines)
            row.update(status="landed", lines=n, landed=n - bad, quarantined=bad)
        file_rows.append(row)

    winners: dict[str, Copy] = {}
    first_file: dict[str, int] = {}
    per_file: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    versions: dict[str, set[Any]] = defaultdict(set)
    n_copies: dict[str, int] = defaultdict(int)
    late: Rows = []
    for c, fi in zip(copies, file_of_copy, strict=True):
        key = c.event.key
        versions[key].add(c.event)
        n_copies[key] += 1
        if key not in winners:
            winners[key] = c
            first_file[key] = fi
            per_file[fi]["new_events"] += 1
            continue
        if first_file[key] == fi:
            per_file[fi]["duplicates_in_file"] += 1
        else:
            per_file[fi]["duplicates_of_earlier"] += 1
        if c.arrived_at - winners[key].event.time > timedelta(days=window_days):
            late.append(
                {
                    model.key_name: key,
                    "source_file": c.source_file,
                    "line_number": c.line_number,
                    model.time_name: winners[key].event.time,
                    "arrived_at": c.arrived_at,
                }
            )
    for fi, row in enumerate(file_rows):
        for k in ("new_events", "duplicates_in_file", "duplicates_of_earlier"):
            row[k] = per_file[fi][k]

    facts = [w.event for w in winners.values()]
    fact_rows: Rows = [
        {
            **model.fact_row(e),
            "_source_file": winners[e.key].source_file,
            "_line_number": winners[e.key].line_number,
        }
        for e in facts
    ]
    conflicts: Rows = [
        {model.key_name: key, "copies": n_copies[key], "versions": len(v)}
        for key, v in versions.items()
        if len(v) > 1
    ]
    return Truth(
        {
            model.facts_name: sorted(fact_rows, key=lambda r: str(r[model.key_name])),
            **model.marts(facts),
            "sequence_gaps": _gaps(facts, model),
            "event_conflicts": sorted(conflicts, key=lambda r: str(r[model.key_name])),
            "late_duplicates": sorted(
                late,
                key=lambda r: (str(r[model.key_name]), str(r["source_file"]), r["line_number"]),
            ),
            "files": file_rows,
            "quarantine": quarantine,
        }
    )


def _gaps(facts: list[GenEvent], model: StreamModel) -> Rows:
    """Holes in each producer's sequence per epoch, from the model's sequence start."""
    seqs: dict[tuple[str, int], set[int]] = defaultdict(set)
    for e in facts:
        seqs[(e.producer, e.epoch)].add(e.sequence)
    rows: Rows = []
    for (producer, epoch), present in sorted(seqs.items()):
        expected = model.sequence_start
        for s in sorted(present):
            if s > expected:
                row: dict[str, object] = {model.producer_name: producer}
                if model.epoch_name:
                    row[model.epoch_name] = epoch
                row.update(first_missing=expected, last_missing=s - 1, missing_count=s - expected)
                rows.append(row)
            expected = s + 1
    return rows
