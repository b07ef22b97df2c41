"""Typed settings with defaults, filled from environment variables (never logged).

Every ``ONCEONLY_*`` variable is read here and nowhere else: each setting names its
variable, and ``Settings.from_env()`` parses and checks them all at once (a bad value is a
ConfigError naming the variable). Every path is made absolute here, once, so the CLI, dbt
(which runs from its project folder), Airflow and subprocesses all mean the same files.
``Settings.environment()`` gives them back as variables for what runs in another process
or reads the environment itself (DAG tasks, Cosmos' dbt and profiles.yml, subprocesses).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import Field, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from onceonly.errors import ConfigError
from onceonly.object_store import ObjectZone, is_uri

if TYPE_CHECKING:
    from onceonly.contract import StreamContract

TARGETS = ("duckdb", "postgres", "bigquery")
#: The repository (or installed project) root: where the shipped dbt project, streams and
#: DAGs live.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: DuckDB's own default is 80% of RAM: every DuckDB connection onceonly opens (and dbt's,
#: dbt_project/profiles.yml) is held to this instead, spilling to disk beyond it.
DEFAULT_DUCKDB_MEMORY_LIMIT = "2.5GB"
BIGQUERY_METHODS = ("oauth", "oauth-secrets", "service-account", "service-account-json")


def _setting(
    var: str,
    default: object = None,
    *,
    parse: Callable[[str], object] = str,
    expected: str = "",
    secret: bool = False,
    factory: Callable[[], object] | None = None,
) -> Any:
    """A setting read from ``var``: ``parse`` turns the text into the value (a ValueError
    means "expected ``expected``"); a secret is kept out of repr and error messages."""
    metadata = {"env": var, "parse": parse, "expected": expected, "secret": secret}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata, repr=not secret)
    return field(default=default, metadata=metadata, repr=not secret)


def _section(cls: type) -> Any:
    return field(default_factory=cls, metadata={"section": cls})


def _port(text: str) -> int:
    port = int(text)
    if not 0 < port < 65536:
        raise ValueError(text)
    return port


def _read(cls: type, environ: Mapping[str, str], overrides: Mapping[str, object]) -> Any:
    """An instance of a settings class: overrides, else the environment, else defaults."""
    values: dict[str, object] = {}
    for f in fields(cls):
        if f.name in overrides and overrides[f.name] is not None:
            values[f.name] = overrides[f.name]
        elif "section" in f.metadata:
            values[f.name] = _read(f.metadata["section"], environ, {})
        elif environ.get(f.metadata["env"]):
            values[f.name] = _parse(f, environ[f.metadata["env"]])
    return cls(**values)


def _parse(f: Field[Any], text: str) -> object:
    try:
        return f.metadata["parse"](text)
    except ValueError:
        shown = "(hidden)" if f.metadata["secret"] else repr(text)
        raise ConfigError(
            f"{f.metadata['env']}={shown}: expected {f.metadata['expected'] or 'a valid value'}"
        ) from None


def _variables(settings: object) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in fields(settings):  # type: ignore[arg-type]
        value = getattr(settings, f.name)
        if "section" in f.metadata:
            out.update(_variables(value))
        else:
            out[f.metadata["env"]] = str(value)
    return out


def _names(cls: type, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for f in fields(cls):
        if "section" in f.metadata:
            out.update(_names(f.metadata["section"], f"{prefix}{f.name}."))
        else:
            out[prefix + f.name] = f.metadata["env"]
    return out


@dataclass(frozen=True)
class PostgresSettings:
    """The PostgreSQL target's server (or an Airflow connection naming it)."""

    host: str = _setting("ONCEONLY_PG_HOST", "127.0.0.1")
    port: int = _setting("ONCEONLY_PG_PORT", 5432, parse=_port, expected="a port number")
    user: str = _setting("ONCEONLY_PG_USER", "onceonly")
    password: str = _setting("ONCEONLY_PG_PASSWORD", "", secret=True)
    database: str = _setting("ONCEONLY_PG_DATABASE", "onceonly")
    #: an Airflow connection that overrides the values above inside DAG tasks
    conn_id: str = _setting("ONCEONLY_PG_CONN_ID", "")


def airflow_connection(conn_id: str, named_by: str) -> Any:
    """The Airflow connection ``conn_id`` (inside a task: Airflow's connections; elsewhere:
    ``AIRFLOW_CONN_<ID>`` and the configured secrets backends). A connection Airflow does
    not know: one line naming ``named_by`` (the setting or declaration that names it).
    Airflow is imported only here."""
    os.environ.setdefault("AIRFLOW_HOME", str(PROJECT_ROOT / ".airflow"))
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise ConfigError(
            f"Airflow connection {conn_id!r} ({named_by}) is not defined: set "
            f"AIRFLOW_CONN_{conn_id.upper()} or add it with `airflow connections add`"
        ) from None


def postgres_from_airflow(conn_id: str, base: PostgresSettings, named_by: str) -> PostgresSettings:
    """``base`` with the server, login and database of the Airflow connection ``conn_id``."""
    conn = airflow_connection(conn_id, named_by)
    return replace(
        base,
        host=conn.host or base.host,
        port=conn.port or base.port,
        user=conn.login or base.user,
        password=conn.password or "",
        database=conn.schema or base.database,
    )


def bigquery_from_airflow(base: BigQuerySettings, named_by: str) -> BigQuerySettings:
    """``base`` with the project and credentials of its Google Cloud connection (the
    extras of the Google provider's connection type: ``project``, and ``key_path``,
    ``keyfile_dict`` or ``token``; none of them: application default credentials)."""
    extra = airflow_connection(base.conn_id, named_by).extra_dejson
    project = extra.get("project") or base.project
    if extra.get("key_path"):
        return replace(base, project=project, method="service-account", keyfile=extra["key_path"])
    if extra.get("keyfile_dict"):
        keyfile = extra["keyfile_dict"]
        text = keyfile if isinstance(keyfile, str) else json.dumps(keyfile)
        return replace(base, project=project, method="service-account-json", keyfile_json=text)
    if extra.get("token"):
        return replace(base, project=project, method="oauth-secrets", token=extra["token"])
    return replace(base, project=project, method="oauth")


@dataclass(frozen=True)
class BigQuerySettings:
    """The BigQuery target: the project and how to authenticate (dbt-bigquery's methods)."""

    project: str = _setting("ONCEONLY_BQ_PROJECT", "")
    location: str = _setting("ONCEONLY_BQ_LOCATION", "US")
    method: str = _setting("ONCEONLY_BQ_METHOD", "oauth")
    keyfile: str = _setting("ONCEONLY_BQ_KEYFILE", "")
    keyfile_json: str = _setting("ONCEONLY_BQ_KEYFILE_JSON", "", secret=True)
    token: str = _setting("ONCEONLY_BQ_TOKEN", "", secret=True)
    #: another API endpoint (a local emulator); empty for BigQuery itself
    api_endpoint: str = _setting("ONCEONLY_BQ_API_ENDPOINT", "")
    maximum_bytes_billed: int = _setting(
        "ONCEONLY_BQ_MAXIMUM_BYTES_BILLED", 0, parse=int, expected="a number of bytes"
    )
    #: an Airflow Google Cloud connection whose project and credentials override the
    #: values above inside DAG tasks (and give dbt its profile under Cosmos)
    conn_id: str = _setting("ONCEONLY_BQ_CONN_ID", "")

    def __post_init__(self) -> None:
        if self.method not in BIGQUERY_METHODS:
            raise ConfigError(
                f"ONCEONLY_BQ_METHOD={self.method!r}: expected one of {', '.join(BIGQUERY_METHODS)}"
            )


MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What landing reads at most, so a hostile delivery cannot exhaust memory: a file
    (as delivered), a file decompressed, one line. Beyond them a file is rejected, or a
    line quarantined, with the reason."""

    file_bytes: int = 256 * MIB
    decompressed_bytes: int = 256 * MIB
    line_bytes: int = 1 * MIB
    json_depth: int = 64


DEFAULT_LIMITS = Limits()


def _utc_hour(text: str) -> datetime:
    """An ISO 8601 time, in UTC when it names no zone."""
    t = datetime.fromisoformat(text)
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _yes(text: str) -> bool:
    word = text.strip().lower()
    if word not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError(text)
    return word in ("true", "1", "yes")


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError(text)
    return value


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Environment variables set for the duration of a block, then restored."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _absolute(text: str) -> Path:
    return Path(text).expanduser().resolve()


def _landing(text: str) -> Path | ObjectZone:
    """A local folder (made absolute) or a bucket URI: s3://bucket/prefix, gs://..."""
    return ObjectZone.parse(text) if is_uri(text) else _absolute(text)


@dataclass(frozen=True)
class Settings:
    target: str = _setting("ONCEONLY_TARGET", "duckdb")
    duckdb_path: Path = _setting(
        "ONCEONLY_DUCKDB_PATH", Path("warehouse/onceonly.duckdb"), parse=_absolute
    )
    #: a local folder or a bucket (s3://bucket/prefix, gs://bucket/prefix)
    landing: Path | ObjectZone = _setting("ONCEONLY_LANDING", Path("landing"), parse=_landing)
    streams_dir: Path = _setting(
        "ONCEONLY_STREAMS_DIR", parse=_absolute, factory=lambda: PROJECT_ROOT / "streams"
    )
    reports_dir: Path = _setting("ONCEONLY_REPORTS_DIR", Path("reports"), parse=_absolute)
    #: rows of each evidence list shown on a report page (all of them in its CSV)
    report_rows: int = _setting(
        "ONCEONLY_REPORT_ROWS", 100, parse=_positive, expected="a number of rows"
    )
    dbt_project_dir: Path = _setting(
        "ONCEONLY_DBT_PROJECT_DIR", parse=_absolute, factory=lambda: PROJECT_ROOT / "dbt_project"
    )
    #: put before every schema (dataset) name: ``dev_`` gives dev_raw, dev_analytics, ...
    schema_prefix: str = _setting("ONCEONLY_SCHEMA_PREFIX", "")
    duckdb_memory_limit: str = _setting("ONCEONLY_DUCKDB_MEMORY_LIMIT", DEFAULT_DUCKDB_MEMORY_LIMIT)
    #: check severities for every stream, e.g. ``gaps.sequence_holes=error,conflicts=warn``
    check_severity: str = _setting("ONCEONLY_CHECK_SEVERITY", "")
    #: the first data interval the landing DAGs own (their start_date), and whether the
    #: scheduler runs every interval from there that has not run yet (catchup)
    start_date: datetime = _setting(
        "ONCEONLY_START_DATE",
        datetime(2026, 1, 1, tzinfo=UTC),
        parse=_utc_hour,
        expected="an ISO 8601 time, e.g. 2026-03-01T00:00:00Z",
    )
    catchup: bool = _setting("ONCEONLY_CATCHUP", False, parse=_yes, expected="true or false")
    retry_delay_seconds: float = _setting(
        "ONCEONLY_RETRY_DELAY_SECONDS", 60.0, parse=float, expected="a number of seconds"
    )
    max_file_bytes: int = _setting(
        "ONCEONLY_MAX_FILE_BYTES", Limits.file_bytes, parse=_positive, expected="a number of bytes"
    )
    max_decompressed_bytes: int = _setting(
        "ONCEONLY_MAX_DECOMPRESSED_BYTES",
        Limits.decompressed_bytes,
        parse=_positive,
        expected="a number of bytes",
    )
    max_line_bytes: int = _setting(
        "ONCEONLY_MAX_LINE_BYTES", Limits.line_bytes, parse=_positive, expected="a number of bytes"
    )
    max_json_depth: int = _setting(
        "ONCEONLY_MAX_JSON_DEPTH", Limits.json_depth, parse=_positive, expected="a number of levels"
    )
    #: a mail when a transform run's verdict fails: the Airflow SMTP connection to send it
    #: through, and to whom (comma-separated); no alert unless both are set
    alert_smtp_conn_id: str = _setting("ONCEONLY_ALERT_SMTP_CONN_ID", "")
    alert_to: str = _setting("ONCEONLY_ALERT_TO", "")
    #: the sender; empty: the connection's from_email
    alert_from: str = _setting("ONCEONLY_ALERT_FROM", "")
    #: a Slack message when a transform run's verdict fails: the Airflow Slack incoming
    #: webhook connection to post through (its token or URL stays in the connection)
    alert_slack_conn_id: str = _setting("ONCEONLY_ALERT_SLACK_CONN_ID", "")
    #: fault injection points (tests and chaos runs only): see faults.py
    faults: str = _setting("ONCEONLY_FAULTS", "")
    #: the outbox's database for `onceonly relay` (a libpq connection string); empty: the
    #: PostgreSQL target's server
    outbox_dsn: str = _setting("ONCEONLY_OUTBOX_DSN", "", secret=True)
    postgres: PostgresSettings = _section(PostgresSettings)
    bigquery: BigQuerySettings = _section(BigQuerySettings)

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.metadata.get("parse") is _absolute:
                object.__setattr__(self, f.name, _absolute(str(getattr(self, f.name))))
        if not isinstance(self.landing, ObjectZone):
            object.__setattr__(self, "landing", _landing(str(self.landing)))
        if self.target not in TARGETS:
            raise ConfigError(
                f"target {self.target!r} is not one of {', '.join(TARGETS)} "
                "(--target or ONCEONLY_TARGET)"
            )
        if self.schema_prefix and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.schema_prefix):
            raise ConfigError(
                f"ONCEONLY_SCHEMA_PREFIX={self.schema_prefix!r}: letters, digits and _ only"
            )

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from the environment; overrides that are not None win."""
        settings: Settings = _read(cls, os.environ, overrides)
        return settings

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def landing_folder(self) -> Path:
        """The landing zone where a command writes files into it (the outbox relay, the
        demo): a local folder, not a bucket."""
        if isinstance(self.landing, ObjectZone):
            raise ConfigError(
                f"ONCEONLY_LANDING={self.landing}: this writes files into the landing zone, "
                "which must be a local folder (a bucket is read, never written)"
            )
        return self.landing

    def with_connections(self) -> Settings:
        """The PostgreSQL server from the Airflow connection ONCEONLY_PG_CONN_ID names, and
        BigQuery's project and credentials from the one ONCEONLY_BQ_CONN_ID names, where
        they name one (the other settings fill what a connection leaves out)."""
        out = self
        pg, bq = self.postgres, self.bigquery
        if pg.conn_id:
            out = out.with_(postgres=postgres_from_airflow(pg.conn_id, pg, ENV["postgres.conn_id"]))
        if bq.conn_id:
            out = out.with_(bigquery=bigquery_from_airflow(bq, ENV["bigquery.conn_id"]))
        return out

    def environment(self) -> dict[str, str]:
        """Every setting as the environment variable that DAG tasks, Cosmos' dbt,
        profiles.yml and subprocesses read (secrets included: for a child's environment
        only, never to be printed)."""
        return _variables(self)

    @property
    def limits(self) -> Limits:
        return Limits(
            self.max_file_bytes,
            self.max_decompressed_bytes,
            self.max_line_bytes,
            self.max_json_depth,
        )

    @property
    def fault_points(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.faults.split(",") if p.strip())

    def streams(self) -> dict[str, StreamContract]:
        """The declared streams, checked (a DeclarationError names file and line)."""
        from onceonly.streams import load_streams

        return load_streams(self.streams_dir)


#: Setting (``section.name`` for sections) -> its environment variable.
ENV = _names(Settings)
