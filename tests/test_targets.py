"""The warehouse boundary: a target names relations and binds parameters itself (callers
write Statements), and every ONCEONLY_* setting is read in one typed Settings."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from pipeline import build, differences, land_zone

from onceonly import reconcile
from onceonly.errors import ConfigError
from onceonly.generate.writer import generate
from onceonly.quality.checkpoint import run_checkpoint
from onceonly.raw_tables import LEDGER_RELATION
from onceonly.settings import ENV, PROJECT_ROOT, Settings
from onceonly.sql import Param, sql
from onceonly.streams import example
from onceonly.targets import open_target

#: text that a driver could read as markers (? %s %) or a template as slots ({ })
TRICKY = "it's 100% ?, %s {x}"
STATEMENT = sql(
    "select {value}, '50% ? {{kept}}', count(*) from {ledger} where stream = {stream}",
    value=Param(TRICKY),
    ledger=LEDGER_RELATION,
    stream=Param("no such stream"),
)


def _round_trip(settings: Settings) -> list[tuple[object, ...]]:
    warehouse = open_target(settings)
    try:
        warehouse.ensure_raw_tables(None)
        return warehouse.query(STATEMENT)
    finally:
        warehouse.close()


def test_duckdb_binds_parameters_and_keeps_literal_text(tmp_path: Path) -> None:
    settings = Settings(target="duckdb", duckdb_path=tmp_path / "w.duckdb")
    assert _round_trip(settings) == [(TRICKY, "50% ? {kept}", 0)]


def test_postgres_binds_parameters_and_keeps_literal_text(postgres_env) -> None:
    settings = Settings.from_env(target="postgres")
    assert _round_trip(settings) == [(TRICKY, "50% ? {kept}", 0)]


def test_a_schema_prefix_reaches_landing_dbt_checks_and_audit(tmp_path: Path) -> None:
    """With ONCEONLY_SCHEMA_PREFIX every relation is the prefixed one: landing writes
    dev_raw, dbt builds dev_staging/dev_analytics/dev_dq from it, and the truth
    comparison, the audit and the GX checks read those."""
    zone = tmp_path / "zone"
    generate(zone, n_events=400, days=1, seed=5, profile="messy")
    settings = Settings(target="duckdb", duckdb_path=tmp_path / "w.duckdb", schema_prefix="dev_")
    land_zone(settings, zone)
    build(settings)
    warehouse = open_target(settings)
    try:
        rows = warehouse.query("select schema_name from information_schema.schemata")
        schemas = {str(r[0]) for r in rows}
        assert reconcile.audit(warehouse, example("orders")).exact
    finally:
        warehouse.close()
    assert {"dev_raw", "dev_staging", "dev_analytics", "dev_dq"} <= schemas
    assert not {"raw", "staging", "analytics", "dq"} & schemas
    assert differences(settings, zone / "_truth" / "orders") == {}
    outcome = run_checkpoint(settings, tmp_path / "reports", [example("orders")])
    assert outcome.outcomes and not [o for o in outcome.outcomes if o.error], [
        o.error for o in outcome.outcomes if o.error
    ]
    assert outcome.success


def _mentions() -> dict[str, set[str]]:
    """ONCEONLY_* names by the file that mentions them (code, DAGs, the dbt project)."""
    out: dict[str, set[str]] = {}
    for name in _committed("src", "dags", "dbt_project"):
        text = (PROJECT_ROOT / name).read_text(errors="replace")
        for variable in re.findall(r"(?<![A-Z_])ONCEONLY_[A-Z_]+[A-Z]", text):
            out.setdefault(variable, set()).add(name)
    return out


def _committed(*folders: str) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", *folders], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    return [n for n in listed.stdout.splitlines() if n.endswith((".py", ".sql", ".yml"))]


def test_every_variable_is_a_typed_setting_read_in_one_place() -> None:
    mentions = _mentions()
    assert set(mentions) - set(ENV.values()) == set()
    settings_py = "src/onceonly/settings.py"
    reading = re.compile(r"environ(\.get)?\(?\[?[\"']ONCEONLY_")
    readers = {
        n for n in _committed("src", "dags") if reading.search((PROJECT_ROOT / n).read_text())
    }
    assert readers <= {settings_py}


def test_dbts_duckdb_profile_falls_back_to_the_settings_memory_limit() -> None:
    """dbt run by hand, without the settings' environment, keeps to the same memory limit."""
    from onceonly.settings import DEFAULT_DUCKDB_MEMORY_LIMIT

    profiles = (PROJECT_ROOT / "dbt_project" / "profiles.yml").read_text()
    fallbacks = re.findall(r"env_var\('ONCEONLY_DUCKDB_MEMORY_LIMIT', '([^']*)'\)", profiles)
    assert fallbacks and set(fallbacks) == {DEFAULT_DUCKDB_MEMORY_LIMIT}


def test_no_caller_branches_on_the_target_name() -> None:
    branching = re.compile(r"\btarget\s*(==|!=|\bin\b)\s*[\"'(]")
    found = [
        f"{name}:{n}"
        for name in _committed("src", "dags")
        if "/targets/" not in name
        for n, line in enumerate((PROJECT_ROOT / name).read_text().splitlines(), 1)
        if branching.search(line)
    ]
    assert found == []


def test_settings_round_trip_through_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONCEONLY_PG_PORT", "6543")
    monkeypatch.setenv("ONCEONLY_RETRY_DELAY_SECONDS", "2.5")
    monkeypatch.setenv("ONCEONLY_LANDING", "relative/zone")
    settings = Settings.from_env(duckdb_path=tmp_path / "w.duckdb")
    assert settings.postgres.port == 6543 and settings.retry_delay_seconds == 2.5
    assert settings.landing == Path("relative/zone").resolve()
    for name, value in settings.environment().items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env() == settings


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ONCEONLY_PG_PORT", "five", "ONCEONLY_PG_PORT='five': expected a port number"),
        ("ONCEONLY_RETRY_DELAY_SECONDS", "soon", "expected a number of seconds"),
        ("ONCEONLY_SCHEMA_PREFIX", "dev-", "ONCEONLY_SCHEMA_PREFIX='dev-': letters, digits"),
        ("ONCEONLY_TARGET", "oracle", "target 'oracle' is not one of"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(
    variable: str, value: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=re.escape(message)):
        Settings.from_env()
    done = subprocess.run(
        [sys.executable, "-m", "onceonly", "streams", "check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and message in lines[0]
