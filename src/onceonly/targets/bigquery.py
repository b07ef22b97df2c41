"""BigQuery, the scale-out target: landing by load jobs, settings from environment variables.

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
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from onceonly.contract import StreamContract
from onceonly.errors import ConfigError, OnceOnlyError
from onceonly.raw_tables import (
    LEDGER_TABLE,
    QUARANTINE_TABLE,
    RAW_SCHEMA,
    Columns,
    create_table_sql,
    physical_type,
    raw_tables,
    raw_writes,
)
from onceonly.settings import Settings
from onceonly.sql import ident
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
_PARTITION_COLUMNS = {LEDGER_TABLE: "attempted_at", QUARANTINE_TABLE: "quarantined_at"}
METHODS = ("oauth", "oauth-secrets", "service-account", "service-account-json")


class BigQueryError(OnceOnlyError):
    transient = True


@dataclass(frozen=True)
class BigQuerySettings:
    project: str
    location: str
    method: str
    dataset_prefix: str
    api_endpoint: str | None
    keyfile: str | None
    keyfile_json: str | None  # secret: never printed, see __repr__
    token: str | None  # secret: never printed, see __repr__

    def __repr__(self) -> str:
        return (
            f"BigQuerySettings(project={self.project!r}, location={self.location!r}, "
            f"method={self.method!r}, dataset_prefix={self.dataset_prefix!r}, "
            f"api_endpoint={self.api_endpoint!r}, keyfile={self.keyfile!r}, "
            "keyfile_json=***, token=***)"
        )

    @classmethod
    def from_env(cls) -> BigQuerySettings:
        env = os.environ
        project = env.get("ONCEONLY_BQ_PROJECT", "")
        if not project:
            raise ConfigError("ONCEONLY_BQ_PROJECT is not set: the BigQuery target needs a project")
        method = env.get("ONCEONLY_BQ_METHOD", "oauth")
        if method not in METHODS:
            raise ConfigError(
                f"ONCEONLY_BQ_METHOD={method!r}: expected one of {', '.join(METHODS)}"
            )
        prefix = env.get("ONCEONLY_SCHEMA_PREFIX", "")
        if prefix and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", prefix):
            raise ConfigError(f"ONCEONLY_SCHEMA_PREFIX={prefix!r}: letters, digits and _ only")
        return cls(
            project=project,
            location=env.get("ONCEONLY_BQ_LOCATION", "US"),
            method=method,
            dataset_prefix=prefix,
            api_endpoint=env.get("ONCEONLY_BQ_API_ENDPOINT") or None,
            keyfile=env.get("ONCEONLY_BQ_KEYFILE") or None,
            keyfile_json=env.get("ONCEONLY_BQ_KEYFILE_JSON") or None,
            token=env.get("ONCEONLY_BQ_TOKEN") or None,
        )

    def credentials(self) -> Any:
        """Google credentials built by dbt-bigquery from these settings."""
        from dbt.adapters.bigquery.credentials import (
            BigQueryCredentials,
            create_google_credentials,
        )

        profile: dict[str, Any] = {
            "method": self.method,
            "database": self.project,
            "schema": self.dataset("analytics"),
            "location": self.location,
        }
        for key, value in (
            ("keyfile", self.keyfile),
            ("keyfile_json", self.keyfile_json),
            ("token", self.token),
        ):
            if value is not None:
                profile[key] = value
        return create_google_credentials(BigQueryCredentials.from_dict(profile))

    def dataset(self, name: str) -> str:
        return self.dataset_prefix + name


def _schema(columns: Columns) -> list[Any]:
    from google.cloud import bigquery

    return [bigquery.SchemaField(name, physical_type(t, TYPES).upper()) for name, t in columns]


def literal(value: object) -> str:
    """A typed BigQuery literal for one value, every string escaped."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Decimal):
        return f"numeric '{value}'"
    if isinstance(value, datetime):
        return f"timestamp '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"date '{value.isoformat()}'"
    escaped = "".join(
        "\\" + ch if ch in "\\'" else f"\\u{ord(ch):04x}" if ord(ch) < 0x20 else ch
        for ch in str(value)
    )
    return f"'{escaped}'"


def inline(sql: str, params: list[object] | None) -> str:
    """The other targets' ``?`` parameters as literals. Query parameters are not used: the
    emulator the tests run against rejects them, and one path for both keeps the tested
    SQL the SQL BigQuery runs."""
    if not params:
        return sql
    parts = sql.split("?")
    if len(parts) != len(params) + 1:
        raise ValueError(f"{len(parts) - 1} placeholders for {len(params)} parameters")
    return parts[0] + "".join(literal(p) + part for p, part in zip(params, parts[1:], strict=True))


def _first_line(exc: Exception) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


class BigQueryTarget:
    def __init__(self, settings: BigQuerySettings) -> None:
        from google.api_core.client_options import ClientOptions
        from google.cloud import bigquery

        self.settings = settings
        self.client = bigquery.Client(
            project=settings.project,
            credentials=settings.credentials(),
            location=settings.location,
            client_options=ClientOptions(api_endpoint=settings.api_endpoint),
        )
        self._dataset_names = re.compile(
            r"(?<![\w.`])(" + "|".join(DATASETS) + r")\.(?=[A-Za-z_`])"
        )

    @classmethod
    def from_env(cls) -> BigQueryTarget:
        return cls(BigQuerySettings.from_env())

    def _table(self, table: str) -> str:
        return f"`{self.settings.project}.{self.settings.dataset(RAW_SCHEMA)}.{table}`"

    def with_dataset_prefix(self, sql: str) -> str:
        """onceonly's own SQL names datasets bare (``analytics.fct_orders``): put the
        configured prefix before each."""
        if not self.settings.dataset_prefix:
            return sql
        return self._dataset_names.sub(lambda m: self.settings.dataset_prefix + m.group(0), sql)

    def _run(self, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
        from google.api_core import exceptions

        try:
            result = self.client.query(self.with_dataset_prefix(inline(sql, params))).result()
        except exceptions.GoogleAPICallError as exc:
            raise BigQueryError(f"BigQuery query failed: {_first_line(exc)}") from None
        return [tuple(row.values()) for row in result]

    def ensure_raw_tables(self, contract: StreamContract | None) -> None:
        from google.cloud import bigquery

        dataset = bigquery.Dataset(f"{self.settings.project}.{self.settings.dataset(RAW_SCHEMA)}")
        dataset.location = self.settings.location
        self.client.create_dataset(dataset, exists_ok=True)
        for table, columns in raw_tables(contract):
            partition = _PARTITION_COLUMNS.get(table, "_loaded_at")
            options = f" partition by timestamp_trunc({ident(partition, '`')}, day)"
            if contract is not None and table == contract.raw_table:
                options += f" cluster by {ident(contract.key, '`')}"
            ddl = create_table_sql(
                self.settings.dataset(RAW_SCHEMA), table, columns, TYPES, "`", options
            )
            self._run(ddl)
        if contract is not None:
            self.discard_unrecorded_loads(contract)

    def discard_unrecorded_loads(self, contract: StreamContract) -> None:
        """Delete event and quarantine rows of files without a ledger row: what a landing
        run that died between its load jobs left. They were written by the newest run, at
        or after the newest ledger attempt, so only those partitions are read (all of
        them while the ledger is empty)."""
        ledger = self._table(LEDGER_TABLE)
        [(newest,)] = self._run(
            f"select max(attempted_at) from {ledger} where stream = ?", [contract.stream]
        )
        for table, batch, file, loaded in (
            (contract.raw_table, "_batch_id", "_source_file", "_loaded_at"),
            (QUARANTINE_TABLE, "batch_id", "source_file", "quarantined_at"),
        ):

            def since(alias: str, loaded: str = loaded) -> str:
                return "" if newest is None else f"{alias}.{loaded} >= {literal(newest)} and "

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

    def acquire_landing_lock(self, stream: str) -> None:
        """BigQuery has no lock to take: the landing DAG runs one at a time
        (max_active_runs=1); do not start two landing runs of a stream by hand."""

    def landed_hashes(self, stream: str) -> dict[str, str]:
        rows = self._run(
            f"select sha256, min(source_file) from {self._table(LEDGER_TABLE)} "
            "where stream = ? and status = 'landed' group by sha256",
            [stream],
        )
        return {str(h): str(f) for h, f in rows}

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
                f"BigQuery load into raw.{table} failed: {_first_line(exc)}"
            ) from None

    def write_batch(
        self,
        contract: StreamContract | None,
        events: pa.Table | None,
        quarantine: pa.Table | None,
        ledger: pa.Table,
    ) -> None:
        """Up to three load jobs, the ledger's last: a file counts as landed only once its
        ledger row is in (see discard_unrecorded_loads)."""
        columns = dict(raw_tables(contract))
        for table, data in raw_writes(contract, events, quarantine, ledger):
            self._load(table, data, columns[table])

    def query(self, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
        return self._run(sql, params)

    def execute_in_transaction(self, statements: list[tuple[str, list[object]]]) -> None:
        """One multi-statement transaction (a BigQuery script)."""
        script = "begin transaction;\n" + "".join(f"{sql};\n" for sql, _ in statements)
        self._run(script + "commit transaction;", [p for _, ps in statements for p in ps])

    def close(self) -> None:
        self.client.close()


def open_warehouse(settings: Settings) -> BigQueryTarget:
    return BigQueryTarget.from_env()


def dbt_env(settings: Settings) -> dict[str, str]:
    return {}  # profiles.yml reads the ONCEONLY_BQ_* variables itself


def gx_datasource(context: Any, settings: Settings) -> tuple[Any, Callable[[str], str]]:
    """GX's BigQuery engine gets a client built from onceonly's settings, so it
    authenticates (and reaches an API endpoint) exactly as landing and dbt do."""
    target = BigQueryTarget.from_env()
    source = context.data_sources.add_bigquery(
        name="warehouse",
        connection_string=f"bigquery://{target.settings.project}?user_supplied_client=True",
        kwargs={"connect_args": {"client": target.client}},
    )
    return source, target.with_dataset_prefix
