"""Arrow batches as CSV for bulk loads (PostgreSQL COPY, BigQuery load jobs).

Every string is quoted, so '' is an empty string and an unquoted empty field is
NULL on both engines.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv


def _is_text(column: pa.ChunkedArray) -> bool:
    return pa.types.is_string(column.type) or pa.types.is_large_string(column.type)


def has_control_characters(table: pa.Table) -> tuple[bool, bool]:
    """(any line break, any other ASCII control character) in the table's text columns."""
    breaks = controls = False
    for column in table.columns:
        if not _is_text(column):
            continue
        breaks = breaks or bool(pc.any(pc.match_substring_regex(column, r"[\r\n]")).as_py())
        controls = controls or bool(
            pc.any(pc.match_substring_regex(column, r"[\x00-\x08\x0b\x0c\x0e-\x1f]")).as_py()
        )
    return breaks, controls


def csv_bytes(table: pa.Table, nul_as_text: bool = False) -> bytes:
    """The table as header-less CSV. ``nul_as_text`` writes NUL as the six characters
    \\u0000 (PostgreSQL text cannot hold NUL)."""
    if nul_as_text:
        columns = [
            pc.replace_substring(c, "\x00", "\\u0000") if _is_text(c) else c for c in table.columns
        ]
        table = pa.table(columns, names=table.column_names)
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return sink.getvalue()
