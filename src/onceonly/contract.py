"""The model of a stream declaration: fields, their rules, and the roles fields play.

A stream is declared in ``streams/<name>.yml`` (loaded by ``onceonly.streams``); this module
holds only what a declaration means. Validation (``validation.py``), the raw tables, the
dbt models (``dbt_models.py``), the checks, the audit and the report take a
:class:`StreamContract` as an argument and name no stream or field of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from onceonly.sql import Relation

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

#: A line longer than this (in bytes, without its line ending) is quarantined unread.

#: The column holding a line's undeclared fields (``unknown_fields: keep``).
EXTRA_COLUMN = "_extra"

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


class Kind(StrEnum):
    STRING = "string"
    ENUM = "enum"
    TIMESTAMP = "timestamp"  # RFC 3339 with offset, stored as UTC
    INTEGER = "integer"  # JSON integer within [min, max] (64-bit)
    DECIMAL = "decimal"  # JSON number or string, at most `scale` decimal places
    CODE = "code"  # a string matching `pattern`
    BOOLEAN = "boolean"  # JSON true / false


class ConflictRule(StrEnum):
    FIRST_LANDED = "first_landed"  # the first landed copy of a key is kept
    HIGHEST_VERSION = "highest_version"  # the copy with the highest version role is kept


class Guarantee(StrEnum):
    """What the stream's facts promise (the article's "choosing your strategy")."""

    #: every valid delivered copy, appended: duplicates counted and shown, but kept
    AT_LEAST_ONCE = "at_least_once"
    #: one row per key: windowed MERGE, late duplicates found and removed by the audit
    EFFECTIVELY_ONCE = "effectively_once"
    #: write-audit-publish: each batch deduplicated against the whole key history,
    #: written aside, checked, and published only when its checks pass
    EXACTLY_ONCE = "exactly_once"

    @property
    def words(self) -> str:
        return self.value.replace("_", " ")

    @property
    def deduplicates(self) -> bool:
        return self is not Guarantee.AT_LEAST_ONCE


class Layout(StrEnum):
    """How the producer's files lie under ``<landing>/<stream>/``."""

    HOURLY = "hourly"  # dt=YYYY-MM-DD/hour=HH/<name>: the arrival hour in the path
    FIREHOSE = "firehose"  # YYYY/MM/dd/HH/<name>: Firehose's prefix, records concatenated
    #: partition=<p>/<topic>+<p>+<start offset>.<ext>: a Kafka Connect sink's files, each
    #: an offset range of one partition; arrival is when the file was written
    KAFKA_CONNECT = "kafka_connect"


class UnknownFields(StrEnum):
    KEEP = "keep"  # kept as JSON in _extra
    QUARANTINE = "quarantine"  # the line is quarantined (reason unknown_field)
    DROP = "drop"  # removed; the lines that had some are counted in the ledger


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    required: bool = False
    required_for: frozenset[str] = frozenset()  # required when the discriminator is one of these
    required_with: str | None = None  # required when this other field is present
    default: int | str | bool | None = None
    min_length: int = 0
    max_length: int | None = None
    not_blank: bool = False
    allowed: tuple[str, ...] = ()
    pattern: str | None = None
    min_value: Decimal | None = None  # integers and decimals
    max_value: Decimal | None = None
    precision: int = 18  # decimals: total digits
    scale: int = 2  # decimals: digits after the point
    description: str = ""

    @property
    def numeric(self) -> bool:
        return self.kind in (Kind.INTEGER, Kind.DECIMAL)

    def integer_bounds(self) -> tuple[int, int]:
        low = INT64_MIN if self.min_value is None else int(self.min_value)
        high = INT64_MAX if self.max_value is None else int(self.max_value)
        return max(low, INT64_MIN), min(high, INT64_MAX)


@dataclass(frozen=True)
class Producer:
    """Where the producer numbers its events: contiguous per (id, epoch) from ``sequence_start``."""

    id: str
    sequence: str
    epoch: str | None = None
    sequence_start: int = 0


@dataclass(frozen=True)
class Outbox:
    """A PostgreSQL outbox table the stream's events are relayed from (onceonly relay)."""

    table: str  # [schema.]table
    #: an Airflow connection id naming the outbox's database (None: the settings')
    connection: str | None = None
    #: relay only the rows of this aggregatetype (None: every row)
    aggregatetype: str | None = None
    #: (stream field, payload key or $column) for fields not named alike in the payload
    fields: tuple[tuple[str, str], ...] = ()
    batch_rows: int = 100_000


@dataclass(frozen=True)
class StreamContract:
    """One declared stream: what its lines look like and what its fields mean."""

    stream: str
    fields: tuple[Field, ...]
    key: str
    event_time: str
    discriminator: str | None = None
    version: str | None = None
    producer: Producer | None = None
    dedup_window_days: int = 7
    guarantee: Guarantee = Guarantee.EFFECTIVELY_ONCE
    conflicts: ConflictRule = ConflictRule.FIRST_LANDED
    unknown_fields: UnknownFields = UnknownFields.KEEP
    layout: Layout = Layout.HOURLY
    control_totals: tuple[str, ...] = ()
    severities: tuple[tuple[str, str], ...] = ()  # check or group -> error | warn | off
    #: "hourly": every hour between the first and the last event has events (checked);
    #: None: quiet hours are normal, not a sign of loss
    cadence: str | None = None
    description: str = ""
    source: Path | None = None  # the declaration file
    outbox: Outbox | None = None
    extra_column: str = EXTRA_COLUMN

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def raw_table(self) -> str:
        return f"{self.stream}_events"

    @property
    def content_fields(self) -> tuple[str, ...]:
        """What "the same content" compares: every declared field but the key."""
        return tuple(n for n in self.field_names if n != self.key)

    @property
    def relations(self) -> Relations:
        return Relations(self.stream)

    @property
    def built_relations(self) -> list[Relation]:
        """The relations dbt builds for the stream that the checks, the audit, the
        findings and the report read."""
        r = self.relations
        out = [r.facts, r.copies_ranked, r.event_conflicts, r.late_duplicates, r.file_outcomes]
        if self.producer is not None:
            out.append(r.sequence_gaps)
        if self.guarantee == Guarantee.EXACTLY_ONCE:
            out.append(r.held_conflicts)
        return out

    @property
    def copy_order(self) -> str:
        """The deterministic tie-break between copies of a key: the first landed wins."""
        return "_loaded_at, _source_file, _line_number"

    def get(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


@dataclass(frozen=True)
class Relations:
    """The warehouse relations derived from one stream (dbt model names are the table
    names); a target's dialect writes them as SQL."""

    stream: str

    @property
    def raw_events(self) -> Relation:
        return Relation("raw", f"{self.stream}_events")

    @property
    def staging(self) -> Relation:
        return Relation("staging", f"stg_{self.stream}__events")

    @property
    def copies_ranked(self) -> Relation:
        return Relation("staging", f"int_{self.stream}__copies_ranked")

    @property
    def facts(self) -> Relation:
        return Relation("analytics", f"fct_{self.stream}_events")

    @property
    def sequence_gaps(self) -> Relation:
        return Relation("dq", f"{self.stream}_sequence_gaps")

    @property
    def event_conflicts(self) -> Relation:
        return Relation("dq", f"{self.stream}_event_conflicts")

    @property
    def late_duplicates(self) -> Relation:
        return Relation("dq", f"{self.stream}_late_duplicates")

    @property
    def batch_reconciliation(self) -> Relation:
        return Relation("dq", f"{self.stream}_batch_reconciliation")

    @property
    def writes(self) -> Relation:
        """exactly_once: every row written, each under its write number (``_write_id``):
        the published facts and the batch that waits for its checks."""
        return Relation("staging", f"int_{self.stream}__writes")

    @property
    def unpublished_batch(self) -> Relation:
        """exactly_once: the rows written and audited, not yet published (a view)."""
        return Relation("staging", f"int_{self.stream}__batch")

    @property
    def publications(self) -> Relation:
        """exactly_once: one row per published write; the facts are the writes up to the
        newest."""
        return Relation("staging", f"int_{self.stream}__publications")

    @property
    def held_conflicts(self) -> Relation:
        """exactly_once: keys whose copies differ, held out of the facts until resolved."""
        return Relation("dq", f"{self.stream}_held_conflicts")

    def gate(self, check: str) -> Relation:
        """exactly_once: the rows by which one publish check of the batch failed (empty
        when it passed), stored by dbt when the check runs."""
        return Relation("dq", f"{self.stream}_gate__{check}")

    @property
    def file_outcomes(self) -> Relation:
        return Relation("dq", f"{self.stream}_file_outcomes")

    @property
    def audit_repairs(self) -> Relation:
        return Relation("dq", f"{self.stream}_audit_repairs")
