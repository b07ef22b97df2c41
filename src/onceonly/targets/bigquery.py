"""BigQuery, the scale-out target: landing by load jobs (settings.BigQuerySettings).

Credentials are built by dbt-bigquery's own code from the same settings dbt's profile
reads (``ONCEONLY_BQ_METHOD`` is any of dbt-bigquery's methods), so landing and dbt
authenticate alike. ``ONCEONLY_BQ_API_ENDPOINT`` points both at another endpoint (the
local emulator the tests use).

BigQuery has no transaction spanning load jobs: a chunk is three load jobs (events,
quarantine, ledger), the ledger's last. A landing run that dies between them leaves rows
whose file has no ledger row; the next run deletes those first (see
``discard_unrecorded_loads``), then lands the file again.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from onceonly.contract import StreamContract
from onceonly.errors import ConfigError, OnceOnlyError
from onceonly.raw_tables import (
    LEDGER_RELATION,
    LEDGER_TABLE,
    MANIFEST_TOTALS_TABLE,
    QUARANTINE_TABLE,
    RAW_SCHEMA,
    REJECTED_SEQUENCES_TABLE,
    RESOLUTIONS_TABLE,
    Columns,
    create_table_sql,
    physical_type,
    raw_tables,
    raw_writes,
)
from onceonly.settings import BigQuerySettings, Settings
from onceonly.sql import Dialect, Param, Relation, Statement, ident, sql
from onceonly.targets.csv_encoding import csv_bytes, has_control_characters

TYPES = {
    "varchar": "string",
    "timestamp": "timestamp",
    "bigint": "int64",
    "boolean": "bool",
    # the JSON text as delivered: a load job's CSV cannot fill a JSON column everywhere
    "json": "string",
    "decimal": "numeric",
}
#: The datasets onceonly reads and writes; ONCEONLY_SCHEMA_PREFIX is put before each.
DATASETS = ("raw", "staging", "analytics", "dq")
#: Each raw table's partition column (daily partitions by load time).
_PARTITION_COLUMNS = {
    LEDGER_TABLE: "attempted_at",
    QUARANTINE_TABLE: "quarantined_at",
    MANIFEST_TOTALS_TABLE: "recorded_at",
    REJECTED_SEQUENCES_TABLE: "recorded_at",
    RESOLUTIONS_TABLE: "resolved_at",
}
#: No lock across load jobs: the landing DAG runs one at a time (max_active_runs=1).
CONCURRENT_LANDING = False


class BigQueryError(OnceOnlyError):
    """A failed API call: transient (worth a retry) for server errors and rate limits,
    terminal for the rest (a bad query, a missing table, no permission)."""

    def __init__(self, message: str, exc: Exception) -> None:
        super().__init__(message)
        code = getattr(exc, "code", None)
        self.transient = code is None or int(code) >= 500 or int(code) == 429


def credentials(settings: BigQuerySettings) -> Any:
    """Google credentials built by dbt-bigquery from these settings; none to be found is
    a one-line ConfigError saying how to provide them."""
    from dbt.adapters.bigquery.credentials import (
        BigQueryCredentials,
        create_google_credentials,
    )
    from dbt_common.exceptions import DbtConfigError
    from google.auth.exceptions import GoogleAuthError

    profile: dict[str, Any] = {
        "method": settings.method,
        "database": settings.project,
        "schema": "analytics",
        "location": settings.location,
    }
    for key in ("keyfile", "keyfile_json", "token"):
        if value := getattr(settings, key):
            profile[key] = value
    try:
        return create_google_credentials(BigQueryCredentials.from_dict(profile))
    except (DbtConfigError, GoogleAuthError, OSError, ValueError) as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        why = lines[-1] if lines else type(exc).__name__
        raise ConfigError(
            f"BigQuery credentials (ONCEONLY_BQ_METHOD={settings.method}) not usable: {why} "
            "Run `gcloud auth application-default login`, or set ONCEONLY_BQ_METHOD="
            "service-account with ONCEONLY_BQ_KEYFILE"
        ) from None


def _project(settings: Settings) -> str:
    if not settings.bigquery.project:
        raise ConfigError("ONCEONLY_BQ_PROJECT is not set: the BigQuery target needs a project")
    return settings.bigquery.project


def _schema(columns: Columns) -> list[Any]:
    from google.cloud import bigquery

    return [bigquery.SchemaField(name, physical_type(t, TYPES).upper()) for name, t in columns]


class BigQueryDialect(Dialect):
    """GoogleSQL: backquoted ``project.dataset.table`` names; parameters written as typed
    literals (the emulator the tests run against rejects query parameters, and one path
    for both keeps the tested SQL the SQL BigQuery runs)."""

    quote = "`"
    types = TYPES

    def __init__(self, project: str, schema_prefix: str = "") -> None:
        super().__init__(schema_prefix)
        self.project = project

    def relation(self, r: Relation) -> str:
        return f"`{self.project}.{self.schema(r.schema)}.{r.name}`"

    def render(self, statement: Statement | str) -> tuple[str, list[object]]:
        return self.inline(statement), []

    def literal(self, value: object) -> str:
        if isinstance(value, Decimal):
            return f"numeric '{value}'"
        if isinstance(value, datetime):
            return f"timestamp '{value.isoformat(sep=' ')}'"
        if value is None or isinstance(value, bool | int | float | date):
            return super().literal(value)
        escaped = "".join(
            "\\" + ch if ch in "\\'" else f"\\u{ord(ch):04x}" if ord(ch) < 0x20 else ch
            for ch in str(value)
        )
        return f"'{escaped}'"

    def hour_of(self, expr: str) -> str:
        return f"timestamp_trunc({expr}, hour)"

    def seconds_between(self, lo: str, hi: str) -> str:
        return f"timestamp_diff({hi}, {lo}, second)"

    def hours_between(self, lo: str, hi: str, source: str) -> str:
        return (
            f"select hour from {source}, "
            f"unnest(generate_timestamp_array({lo}, {hi}, interval 1 hour)) as hour"
        )


def _first_line(exc: Exception) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


class BigQueryTarget:
    def __init__(self, settings: Settings) -> None:
        from google.api_core.client_options import ClientOptions
        from google.cloud import bigquery

        self.settings = settings.bigquery
        self.dialect = BigQueryDialect(_project(settings), settings.schema_prefix)
        self.client = bigquery.Client(
            project=self.settings.project,
            credentials=credentials(self.settings),
            location=self.settings.location,
            client_options=ClientOptions(api_endpoint=self.settings.api_endpoint or None),
        )

    def _table(self, table: str) -> str:
        return self.dialect.relation(Relation(RAW_SCHEMA, table))

    def _run(self, statement: Statement | str) -> list[tuple[object, ...]]:
        from google.api_core import exceptions

        try:
            result = self.client.query(self.dialect.inline(statement)).result()
        except exceptions.GoogleAPICallError as exc:
            raise BigQueryError(f"BigQuery query failed: {_first_line(exc)}", exc) from None
        return [tuple(row.values()) for row in result]

    def ensure_raw_tables(self, contract: StreamContract | None) -> None:
        from google.cloud import bigquery

        raw = self.dialect.schema(RAW_SCHEMA)
        dataset = bigquery.Dataset(f"{self.settings.project}.{raw}")
        dataset.location = self.settings.location
        self.client.create_dataset(dataset, exists_ok=True)
        for table, columns in raw_tables(contract):
            partition = _PARTITION_COLUMNS.get(table, "_loaded_at")
            options = f" partition by timestamp_trunc({ident(partition, '`')}, day)"
            if contract is not None and table == contract.raw_table:
                options += f" cluster by {ident(contract.key, '`')}"
            ddl = create_table_sql(raw, table, columns, TYPES, "`", options)
            self._run(ddl)
        if contract is not None:
            self.discard_unrecorded_loads(contract)

    def discard_unrecorded_loads(self, contract: StreamContract) -> None:
        """Delete event, quarantine and manifest total rows of files without a ledger row:
        what a landing run that died between its load jobs left. They were written by the
        newest run, at or after the newest ledger attempt, so only those partitions are
        read (all of them while the ledger is empty)."""
        ledger = self._table(LEDGER_TABLE)
        [(newest,)] = self._run(
            sql(
                "select max(attempted_at) from {ledger} where stream = {stream}",
                ledger=LEDGER_RELATION,
                stream=Param(contract.stream),
            )
        )
        for table, batch, file, loaded in (
            (contract.raw_table, "_batch_id", "_source_file", "_loaded_at"),
            (QUARANTINE_TABLE, "batch_id", "source_file", "quarantined_at"),
            (MANIFEST_TOTALS_TABLE, "batch_id", "source_file", "recorded_at"),
            (REJECTED_SEQUENCES_TABLE, "batch_id", "source_file", "recorded_at"),
        ):

            def since(alias: str, loaded: str = loaded) -> str:
                if newest is None:
                    return ""
                return f"{alias}.{loaded} >= {self.dialect.literal(newest)} and "

            # a MERGE, not a DELETE with a subquery: one statement both BigQuery and the
            # emulator run
            self._run(
                f"merge {self._table(table)} t using ("
                f"select r.{batch} as batch_id, r.{file} as source_file "
                f"from {self._table(table)} r left join {ledger} l "
                f"on l.batch_id = r.{batch} and l.source_file = r.{file} "
                f"where {since('r')}l.batch_id is null group by 1, 2) s "
                f"on {since('t')}t.{batch} = s.batch_id and t.{file} = s.source_file "
                "when matched then delete"
            )

    def exists(self, relation: Relation) -> bool:
        from google.api_core import exceptions

        try:
            self.client.get_table(self.dialect.relation(relation).strip("`"))
        except exceptions.NotFound:
            return False
        return True

    def refresh_statistics(self, contract: StreamContract) -> None:
        """Nothing to do: BigQuery plans without sampled statistics."""

    def acquire_landing_lock(self, stream: str) -> None:
        """BigQuery has no lock to take: the landing DAG runs one at a time
        (max_active_runs=1); do not start two landing runs of a stream by hand."""

    def _load(self, table: str, data: pa.Table, columns: Columns) -> None:
        from google.api_core import exceptions
        from google.cloud import bigquery

        line_breaks, controls = has_control_characters(data)
        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.CSV,
            schema=[f for f in _schema(columns) if f.name in data.column_names],
            write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
        )
        # only when the batch needs them (line breaks inside a quoted value, other
        # control characters): the emulator the tests use rejects both options
        if line_breaks:
            config.allow_quoted_newlines = True
        if controls:
            config.preserve_ascii_control_characters = True
        ordered = data.select([n for n, _ in columns if n in data.column_names])
        try:
            self.client.load_table_from_file(
                io.BytesIO(csv_bytes(ordered)),
                self._table(table).strip("`"),
                job_config=config,
            ).result()
        except exceptions.GoogleAPICallError as exc:
            raise BigQueryError(
                f"BigQuery load into raw.{table} failed: {_first_line(exc)}", exc
            ) from None

    def write_batch(
        self,
        contract: StreamContract | None,
        events: pa.Table | None,
        quarantine: pa.Table | None,
        ledger: pa.Table,
        totals: pa.Table | None = None,
        rejected: pa.Table | None = None,
    ) -> None:
        """Up to five load jobs, the ledger's last: a file counts as landed only once its
        ledger row is in (see discard_unrecorded_loads)."""
        columns = dict(raw_tables(contract))
        for table, data in raw_writes(contract, events, quarantine, ledger, totals, rejected):
            self._load(table, data, columns[table])

    def refused_rows(self, contract: StreamContract, events: pa.Table) -> dict[int, str]:
        """None known: raw tables here have no constraints and validation keeps values
        within BigQuery's types; a load job that still fails fails its chunk, with the
        job's message, and writes nothing (the events load goes first)."""
        return {}

    def query(self, statement: Statement | str) -> list[tuple[object, ...]]:
        return self._run(statement)

    def execute_steps(self, statements: list[Statement]) -> None:
        """One query job per statement, in order (no transaction: the callers' steps are
        safe to rerun from any point)."""
        for statement in statements:
            self._run(statement)

    def close(self) -> None:
        self.client.close()


def dialect(settings: Settings) -> Dialect:
    return BigQueryDialect(_project(settings), settings.schema_prefix)


def open_warehouse(settings: Settings, create: bool = True) -> BigQueryTarget:
    return BigQueryTarget(settings)


def scratch(settings: Settings, name: str, copy_of: Settings | None = None) -> Settings:
    """Empty datasets in the configured project under the prefix ``<prefix><name>_``."""
    if copy_of is not None:
        raise ConfigError("BigQuery: a copy of a warehouse is not supported here")
    prefixed = settings.with_(schema_prefix=f"{settings.schema_prefix}{name}_")
    target = BigQueryTarget(prefixed)
    try:
        for dataset in DATASETS:
            target.client.delete_dataset(
                f"{target.settings.project}.{target.dialect.schema(dataset)}",
                delete_contents=True,
                not_found_ok=True,
            )
    finally:
        target.close()
    return prefixed


def gx_datasource(context: Any, settings: Settings) -> Any:
    """GX's BigQuery engine gets a client built from onceonly's settings, so it
    authenticates (and reaches an API endpoint) exactly as landing and dbt do."""
    target = BigQueryTarget(settings)
    return context.data_sources.add_bigquery(
        name="warehouse",
        connection_string=f"bigquery://{target.settings.project}?user_supplied_client=True",
        kwargs={"connect_args": {"client": target.client}},
    )
