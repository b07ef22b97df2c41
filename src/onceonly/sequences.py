"""Sequence ranges of the events in files rejected whole, and what they explain.

A file rejected whole (its manifest does not match) lands nothing, yet its readable lines
say which events it carried. Landing records them as contiguous runs of each producer's
sequence (``raw.rejected_sequences``); the report then names, for each sequence gap, the
rejected files holding its events: those arrived and were refused here, they were not
lost upstream.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from onceonly.contract import Producer


@dataclass(frozen=True)
class Run:
    """Consecutive sequence numbers ``first``..``last`` of one producer and epoch."""

    producer: str
    epoch: int | None
    first: int
    last: int

    @property
    def events(self) -> int:
        return self.last - self.first + 1


def _integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def runs_in_lines(producer: Producer, lines: Iterable[str]) -> list[Run]:
    """The runs of sequence numbers in ``lines`` (JSON objects; a line that does not parse
    or lacks the producer's fields counts for nothing)."""
    numbers: dict[tuple[str, int | None], set[int]] = defaultdict(set)
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        who, sequence = event.get(producer.id), _integer(event.get(producer.sequence))
        epoch = _integer(event.get(producer.epoch)) if producer.epoch else None
        if who is None or sequence is None or (producer.epoch and epoch is None):
            continue
        numbers[(str(who), epoch)].add(sequence)
    runs = []
    for (who, epoch), found in sorted(numbers.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        ordered = sorted(found)
        start = previous = ordered[0]
        for n in ordered[1:]:
            if n != previous + 1:
                runs.append(Run(who, epoch, start, previous))
                start = n
            previous = n
        runs.append(Run(who, epoch, start, previous))
    return runs


def explained(
    producer: str, epoch: int | None, first: int, last: int, runs: dict[str, list[Run]]
) -> tuple[int, list[str]]:
    """Of the missing numbers ``first``..``last``: how many a rejected file holds, and
    those files (``runs``: per rejected file, its runs)."""
    covered: list[tuple[int, int]] = []
    files = []
    for source_file, file_runs in sorted(runs.items()):
        hit = False
        for r in file_runs:
            if r.producer != producer or r.epoch != epoch:
                continue
            lo, hi = max(first, r.first), min(last, r.last)
            if lo <= hi:
                covered.append((lo, hi))
                hit = True
        if hit:
            files.append(source_file)
    count, reach = 0, first - 1
    for lo, hi in sorted(covered):
        lo = max(lo, reach + 1)
        if lo <= hi:
            count += hi - lo + 1
        reach = max(reach, hi)
    return count, files
