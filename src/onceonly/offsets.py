"""Kafka Connect offset accounting (``layout: kafka_connect``).

A sink file ``<stream>/partition=<p>/<topic>+<p>+<start offset>.<ext>`` holds the records
of one partition from its start offset on, one per line, so its range is
[start, start + lines - 1]. A range landed again, wholly or in part (a task that
rewrote it after a rebalance), is an overlap: its copies are duplicates by cause
``offset_overlap``. Offsets between two landed ranges that no file holds are a hole: lost
on the way, or still to come. Both are read from the load ledger, nothing else.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from onceonly.object_store import unversioned

#: partition=<p>/<topic>+<p>+<start>.<ext>, the partition named alike twice
SINK_FILE = re.compile(r"(?:^|/)partition=(\d+)/[^/]*\+(\d+)\+(\d+)\.[^/]+$")


def sink_file(source_file: str) -> tuple[int, int] | None:
    """(partition, start offset) of a sink file's name; None for another name."""
    m = SINK_FILE.search(unversioned(source_file))
    if m is None or m.group(1).lstrip("0") != m.group(2).lstrip("0"):
        return None
    return int(m.group(1)), int(m.group(3))


@dataclass(frozen=True)
class Range:
    partition: int
    first: int
    last: int
    source_file: str


@dataclass(frozen=True)
class Overlap:
    """Offsets [first, last] of ``partition`` landed again by ``source_file``."""

    partition: int
    first: int
    last: int
    source_file: str
    landed_before_by: str

    @property
    def lines(self) -> tuple[int, int]:
        """The lines of ``source_file`` that hold the overlapping offsets."""
        start = sink_file(self.source_file)
        assert start is not None
        return self.first - start[1] + 1, self.last - start[1] + 1


@dataclass(frozen=True)
class Hole:
    partition: int
    first_missing: int
    last_missing: int

    @property
    def missing(self) -> int:
        return self.last_missing - self.first_missing + 1


def ranges(landed: list[tuple[str, int]]) -> list[Range]:
    """The offset range of each landed sink file, in landing order (``landed``: source
    file and lines read, in that order); files of another name and empty files left out."""
    out = []
    for source_file, lines in landed:
        named = sink_file(source_file)
        if named is not None and lines > 0:
            out.append(Range(named[0], named[1], named[1] + lines - 1, source_file))
    return out


def overlaps(landed: list[Range]) -> list[Overlap]:
    """Each stretch of offsets a file landed that earlier files had landed already."""
    out: list[Overlap] = []
    earlier: dict[int, list[Range]] = defaultdict(list)
    for r in landed:
        hits = sorted(
            (max(r.first, e.first), min(r.last, e.last), e.source_file)
            for e in earlier[r.partition]
            if e.first <= r.last and r.first <= e.last
        )
        merged: list[list[Any]] = []
        for first, last, by in hits:
            if merged and first <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], last)
            else:
                merged.append([first, last, by])
        out += [Overlap(r.partition, a, b, r.source_file, by) for a, b, by in merged]
        earlier[r.partition].append(r)
    return out


def holes(landed: list[Range]) -> list[Hole]:
    """Per partition, the offsets between its first and last landed ones that no landed
    file holds."""
    out: list[Hole] = []
    by_partition: dict[int, list[Range]] = defaultdict(list)
    for r in landed:
        by_partition[r.partition].append(r)
    for partition in sorted(by_partition):
        covered_to: int | None = None
        for r in sorted(by_partition[partition], key=lambda r: r.first):
            if covered_to is not None and r.first > covered_to + 1:
                out.append(Hole(partition, covered_to + 1, r.first - 1))
            covered_to = r.last if covered_to is None else max(covered_to, r.last)
    return out


def findings(found: list[Range], rejected: tuple[str, ...] = ()) -> dict[str, Any]:
    """The overlaps and holes of landed ranges, as plain data for the report; a hole names
    the files rejected whole whose start offset falls in it (their records did arrive, in
    a file that could not be landed)."""
    starts = [(named, f) for f in rejected if (named := sink_file(f)) is not None]
    return {
        "overlaps": [asdict(o) for o in overlaps(found)],
        "gaps": [
            {
                **asdict(h),
                "missing": h.missing,
                "in_rejected_files": [
                    f
                    for (p, start), f in starts
                    if p == h.partition and h.first_missing <= start <= h.last_missing
                ],
            }
            for h in holes(found)
        ],
    }
