"""The rows behind a stream's counts: rejected files, quarantined lines, conflicting copies,
late duplicates and sequence gaps with their cause.

The page shows the first rows of each list (``ONCEONLY_REPORT_ROWS``); a CSV beside the
page holds them all. Read with the same SQL on every engine.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

from onceonly.contract import StreamContract
from onceonly.landing_zone import KEPT_CHARS
from onceonly.raw_tables import QUARANTINE_RELATION
from onceonly.sql import Param, sql
from onceonly.targets import Warehouse
from onceonly.words import counted


@dataclass(frozen=True)
class EvidenceList:
    """One list of evidence: its columns, every row, and the CSV file written beside."""

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]
    csv_name: str

    def write_csv(self, folder: Path) -> Path:
        path = folder / self.csv_name
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(self.columns)
            writer.writerows(self.rows)
        return path


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _differences(contract: StreamContract, copies: list[tuple[object, ...]]) -> list[str]:
    """For one key's copies (key, file, line, content fields...): each content field whose
    values differ, with the values in landing order, e.g. ``amount: 19.90 | 21.00``."""
    out = []
    for i, name in enumerate(contract.content_fields, start=3):
        values = [_text(c[i]) if c[i] is not None else "null" for c in copies]
        if len(set(values)) > 1:
            out.append(f"{name}: {' | '.join(values)}")
    return out


def _conflicts(warehouse: Warehouse, contract: StreamContract) -> EvidenceList:
    """Each conflicting key: its copies (file:line, in landing order) and the content
    fields that differ between them (what ``content_hash`` compares)."""
    r = contract.relations
    # names checked by the declaration's schema, written as every target reads them
    columns = ", ".join(f"c.{n}" for n in contract.content_fields)
    copies = warehouse.query(
        sql(
            f"select c.{{key}}, c._source_file, c._line_number, {columns} "
            "from {ranked} as c join {conflicts} as e on c.{key} = e.{key} "
            "order by c.{key}, c.landed_rank",
            key=contract.key,
            ranked=r.copies_ranked,
            conflicts=r.event_conflicts,
        )
    )
    rows: list[tuple[str, ...]] = []
    for key, group in groupby(copies, key=lambda c: c[0]):
        found = list(group)
        rows.append(
            (
                _text(key),
                str(len(found)),
                "; ".join(f"{c[1]}:{c[2]}" for c in found),
                "; ".join(_differences(contract, found)),
            )
        )
    return EvidenceList(
        "Conflicting copies, field by field",
        (contract.key, "copies", "copies as file:line, in landing order", "fields that differ"),
        rows,
        "conflicts.csv",
    )


def _late_duplicates(warehouse: Warehouse, contract: StreamContract) -> EvidenceList:
    """Copies that arrived after the dedup window, when their key had landed long before."""
    rows = warehouse.query(
        sql(
            "select {key}, source_file, line_number, {time}, arrived_at, first_source_file "
            "from {late} order by arrived_at, source_file, line_number",
            key=contract.key,
            time=contract.event_time,
            late=contract.relations.late_duplicates,
        )
    )
    return EvidenceList(
        "Late duplicates",
        (
            contract.key,
            "file",
            "line",
            f"{contract.event_time} (UTC)",
            "arrived at (UTC)",
            "first copy in file",
        ),
        [tuple(_text(v) for v in row) for row in rows],
        "late_duplicates.csv",
    )


def gap_cause(gap: dict[str, Any]) -> str:
    """Why a sequence gap's events are missing: in rejected files, or never arrived."""
    held, missing = gap["in_rejected_files"], gap["missing_count"]
    files = ", ".join(gap["rejected_files"])
    word = "rejected file" if len(gap["rejected_files"]) == 1 else "rejected files"
    if not held:
        return "never arrived (upstream loss)"
    if held == missing:
        return f"arrived in {word} {files}"
    return f"{held} arrived in {word} {files}; {counted(missing - held, 'event')} never arrived"


def _gaps(contract: StreamContract, gaps: list[dict[str, Any]]) -> EvidenceList:
    p = contract.producer
    assert p is not None
    epoch = (p.epoch,) if p.epoch else ()
    return EvidenceList(
        "Sequence gaps",
        (p.id, *epoch, "first missing", "last missing", "missing", "cause"),
        [
            (
                g["producer"],
                *((str(g["epoch"]),) if p.epoch else ()),
                str(g["first_missing"]),
                str(g["last_missing"]),
                str(g["missing_count"]),
                gap_cause(g),
            )
            for g in gaps
        ],
        "sequence_gaps.csv",
    )


def read_evidence(
    warehouse: Warehouse, contract: StreamContract, gaps: list[dict[str, Any]]
) -> list[EvidenceList]:
    """The stream's rejected files (each file once, its decisive attempt), its quarantined
    lines (each line's kept text cut to ``KEPT_CHARS`` characters), its conflicting
    copies with the fields that differ, its late duplicates and, with producer roles, its
    sequence ``gaps`` (read with the figures) with their cause."""
    rejected = warehouse.query(
        sql(
            "select source_file, arrived_at, detail, attempts from {files} "
            "where status = 'rejected' order by arrived_at, source_file",
            files=contract.relations.file_outcomes,
        )
    )
    quarantined = warehouse.query(
        sql(
            "select source_file, line_number, reason_code, reason, "
            f"substr(raw_text, 1, {KEPT_CHARS}) from {{quarantine}} "
            "where stream = {stream} order by source_file, line_number, quarantined_at",
            quarantine=QUARANTINE_RELATION,
            stream=Param(contract.stream),
        )
    )
    return [
        EvidenceList(
            "Files rejected whole",
            ("file", "arrived at (UTC)", "why", "attempts"),
            [tuple(_text(v) for v in row) for row in rejected],
            "rejected_files.csv",
        ),
        EvidenceList(
            "Quarantined lines",
            ("file", "line", "reason code", "reason", "line as delivered"),
            [tuple(_text(v) for v in row) for row in quarantined],
            "quarantined_lines.csv",
        ),
        _conflicts(warehouse, contract),
        _late_duplicates(warehouse, contract),
        *([_gaps(contract, gaps)] if contract.producer is not None else []),
    ]
