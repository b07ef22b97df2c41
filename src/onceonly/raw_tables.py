"""Column layouts of the raw tables, in logical types that each target maps to its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from onceonly.contract import Kind, StreamContract
from onceonly.sql import Param, Relation, Statement, sql

if TYPE_CHECKING:
    import pyarrow as pa

RAW_SCHEMA = "raw"
LEDGER_TABLE = "load_ledger"
QUARANTINE_TABLE = "quarantine"
MANIFEST_TOTALS_TABLE = "manifest_totals"
RESOLUTIONS_TABLE = "conflict_resolutions"
REJECTED_SEQUENCES_TABLE = "rejected_sequences"
#: The load ledger and the quarantine, shared by every stream (a ``stream`` column).
LEDGER_RELATION = Relation(RAW_SCHEMA, LEDGER_TABLE)
QUARANTINE_RELATION = Relation(RAW_SCHEMA, QUARANTINE_TABLE)
MANIFEST_TOTALS_RELATION = Relation(RAW_SCHEMA, MANIFEST_TOTALS_TABLE)
RESOLUTIONS_RELATION = Relation(RAW_SCHEMA, RESOLUTIONS_TABLE)
REJECTED_SEQUENCES_RELATION = Relation(RAW_SCHEMA, REJECTED_SEQUENCES_TABLE)

Columns = list[tuple[str, str]]

#: Added to every delivered copy in raw.<stream>_events.
LOAD_METADATA: Columns = [
    ("_batch_id", "varchar"),
    ("_source_file", "varchar"),
    ("_line_number", "bigint"),
    ("_arrived_at", "timestamp"),
    ("_loaded_at", "timestamp"),
]

LEDGER: Columns = [
    ("batch_id", "varchar"),
    ("stream", "varchar"),
    ("source_file", "varchar"),
    ("arrived_at", "timestamp"),
    ("sha256", "varchar"),
    ("size_bytes", "bigint"),
    ("manifest_record_count", "bigint"),
    ("lines_read", "bigint"),
    ("rows_landed", "bigint"),
    ("rows_quarantined", "bigint"),
    ("lines_with_dropped_fields", "bigint"),  # unknown_fields: drop
    ("status", "varchar"),  # landed | skipped | rejected
    ("detail", "varchar"),
    ("forced", "boolean"),
    ("attempted_at", "timestamp"),
]

QUARANTINE: Columns = [
    ("batch_id", "varchar"),
    ("stream", "varchar"),
    ("source_file", "varchar"),
    ("line_number", "bigint"),
    ("raw_text", "varchar"),
    ("reason_code", "varchar"),
    ("reason", "varchar"),
    ("quarantined_at", "timestamp"),
]


#: The control totals a producer's manifest declares for a landed file: per declared
#: ``control_totals`` field, the sum over the file's lines as sent (one row per field).
MANIFEST_TOTALS: Columns = [
    ("batch_id", "varchar"),
    ("stream", "varchar"),
    ("source_file", "varchar"),
    ("field", "varchar"),
    ("declared", "decimal(38,9)"),
    ("recorded_at", "timestamp"),
]


#: exactly_once: which copy of a key with conflicting copies is published, as decided
#: by `onceonly resolve` (the newest decision per key counts).
RESOLUTIONS: Columns = [
    ("stream", "varchar"),
    ("key_value", "varchar"),  # the key as text
    ("batch_id", "varchar"),  # the chosen copy: landing run, file, line
    ("source_file", "varchar"),
    ("line_number", "bigint"),
    ("rule", "varchar"),  # first | last | <file>:<line>
    ("note", "varchar"),
    ("resolved_at", "timestamp"),
]


#: The events a file rejected whole carried, as runs of each producer's sequence (streams
#: with producer roles): the report names these files for the sequence gaps they explain.
REJECTED_SEQUENCES: Columns = [
    ("batch_id", "varchar"),
    ("stream", "varchar"),
    ("source_file", "varchar"),
    ("producer", "varchar"),
    ("epoch", "bigint"),
    ("first_sequence", "bigint"),
    ("last_sequence", "bigint"),
    ("recorded_at", "timestamp"),
]


def logical_type(kind: Kind, precision: int = 18, scale: int = 2) -> str:
    return {
        Kind.STRING: "varchar",
        Kind.ENUM: "varchar",
        Kind.CODE: "varchar",
        Kind.TIMESTAMP: "timestamp",
        Kind.INTEGER: "bigint",
        Kind.BOOLEAN: "boolean",
        Kind.DECIMAL: f"decimal({precision},{scale})",
    }[kind]


def event_columns(contract: StreamContract) -> Columns:
    cols: Columns = [(f.name, logical_type(f.kind, f.precision, f.scale)) for f in contract.fields]
    cols.append((contract.extra_column, "json"))
    return cols + LOAD_METADATA


def physical_type(logical: str, types: dict[str, str]) -> str:
    """A logical type as a target's type, mapped by ``types`` (identity if absent); a
    decimal's ``(precision,scale)`` fills the ``{spec}`` of the target's decimal type."""
    base = logical.split("(")[0]
    if base == "decimal":
        return types.get("decimal", logical).format(spec=logical[len("decimal") :])
    return types.get(logical, types.get(base, logical))


def create_table_sql(
    schema: str,
    table: str,
    columns: Columns,
    types: dict[str, str],
    quote: str = '"',
    options: str = "",
) -> str:
    """CREATE TABLE IF NOT EXISTS with logical types mapped by ``types`` (identity if absent),
    identifiers quoted with ``quote`` and ``options`` (partitioning, clustering) after."""
    from onceonly.sql import ident, qualified

    cols = ", ".join(f"{ident(n, quote)} {physical_type(t, types)}" for n, t in columns)
    return f"create table if not exists {qualified(schema, table, quote)} ({cols}){options}"


def raw_writes(
    contract: StreamContract | None,
    events: pa.Table | None,
    quarantine: pa.Table | None,
    ledger: pa.Table,
    totals: pa.Table | None = None,
    rejected: pa.Table | None = None,
) -> list[tuple[str, pa.Table]]:
    """(table, rows) to append, in order (the ledger last), skipping empty ones. Without a
    contract only the ledger and the quarantine are written (attempts of no stream).
    ``rejected``: the sequence runs of the files rejected whole."""
    writes = []
    if contract is not None and events is not None:
        writes.append((contract.raw_table, events))
    if quarantine is not None:
        writes.append((QUARANTINE_TABLE, quarantine))
    if totals is not None:
        writes.append((MANIFEST_TOTALS_TABLE, totals))
    if rejected is not None:
        writes.append((REJECTED_SEQUENCES_TABLE, rejected))
    writes.append((LEDGER_TABLE, ledger))
    return [(table, data) for table, data in writes if data.num_rows]


def raw_tables(contract: StreamContract | None) -> list[tuple[str, Columns]]:
    """The raw tables a stream lands into: its events, then the tables every stream shares
    (ledger, quarantine, manifest totals), which are all there is without a stream."""
    tables = [(contract.raw_table, event_columns(contract))] if contract is not None else []
    return tables + [
        (LEDGER_TABLE, LEDGER),
        (QUARANTINE_TABLE, QUARANTINE),
        (MANIFEST_TOTALS_TABLE, MANIFEST_TOTALS),
        (RESOLUTIONS_TABLE, RESOLUTIONS),
        (REJECTED_SEQUENCES_TABLE, REJECTED_SEQUENCES),
    ]


def landed_hashes_sql(stream: str) -> Statement:
    """sha256 -> the first source_file of every file content landed for the stream."""
    return sql(
        "select sha256, min(source_file) from {ledger} "
        "where stream = {stream} and status = 'landed' group by sha256",
        ledger=LEDGER_RELATION,
        stream=Param(stream),
    )


def rejections_sql(stream: str) -> Statement:
    """(source_file, detail) of every rejection recorded for the stream."""
    return sql(
        "select distinct source_file, detail from {ledger} "
        "where stream = {stream} and status = 'rejected'",
        ledger=LEDGER_RELATION,
        stream=Param(stream),
    )
