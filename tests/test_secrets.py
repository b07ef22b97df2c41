"""A PostgreSQL password given through the environment never appears in output or files."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import ORDERS
from pipeline import build, land_zone

from onceonly.errors import OnceOnlyError
from onceonly.generate.writer import generate
from onceonly.report.build import build_report
from onceonly.settings import Settings
from onceonly.targets import open_target


def pg(**overrides: object) -> Settings:
    """The postgres target's settings, read when called (after the fixture set the env)."""
    return Settings.from_env(target="postgres", **overrides)


def _files_containing(root: Path, secret: str) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and secret.encode() in path.read_bytes():
            found.append(str(path))
    return found


def test_a_wrong_password_is_not_echoed(
    postgres_env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = "wrong-" + os.urandom(6).hex()
    monkeypatch.setenv("ONCEONLY_PG_PASSWORD", secret)
    with pytest.raises(OnceOnlyError) as caught:
        open_target(pg())
    assert secret not in str(caught.value)
    assert postgres_env["ONCEONLY_PG_PORT"] in str(caught.value)  # says where, not how
    (tmp_path / "orders").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "onceonly", "land", "--landing", ".", "--target", "postgres"],
        capture_output=True,
        text=True,
        env={**os.environ},
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "password authentication failed" in result.stderr  # it did try to connect
    assert secret not in result.stdout + result.stderr


def test_the_password_stays_out_of_logs_reports_and_artifacts(
    postgres_env, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    secret = postgres_env["ONCEONLY_PG_PASSWORD"]
    zone = tmp_path / "zone"
    generate(zone, n_events=400, days=1, seed=2, profile="messy")
    land_zone(pg(), zone)
    build(pg())
    report = build_report(pg(), [ORDERS], tmp_path / "reports")
    assert report.summary.exists()
    out, err = capfd.readouterr()
    assert secret not in out + err
    assert _files_containing(tmp_path / "reports", secret) == []
    for folder in ("target", "logs"):
        path = pg().dbt_project_dir / folder
        if path.exists():
            assert _files_containing(path, secret) == [], folder
    assert "PostgresSettings" in repr(open_settings := _settings_repr())
    assert secret not in open_settings


def _settings_repr() -> str:
    return repr(pg())


def test_identifiers_from_config_are_validated() -> None:
    from onceonly.errors import ConfigError
    from onceonly.sql import ident

    assert ident("orders_events") == '"orders_events"'
    for bad in ('x"; drop table t; --', "a b", "", "1abc", "x" * 64):
        with pytest.raises(ConfigError):
            ident(bad)


def test_a_password_with_url_characters_reaches_gx_whole(postgres_env) -> None:
    """The GX connection is built structurally: a password with @ : / % # connects, and
    the URL GX keeps never holds it."""
    import great_expectations as gx
    import psycopg

    from onceonly.targets import gx_datasource

    tricky = "p@ss:w/rd%#?"
    admin = pg()
    with psycopg.connect(
        host=admin.postgres.host,
        port=admin.postgres.port,
        user=admin.postgres.user,
        password=admin.postgres.password,
        dbname=admin.postgres.database,
        autocommit=True,
    ) as con:
        con.execute("drop role if exists gx_tricky")
        con.execute(psycopg.sql.SQL("create role gx_tricky login password {}").format(tricky))
    settings = pg().with_(postgres=replace(admin.postgres, user="gx_tricky", password=tricky))
    context = gx.get_context(mode="ephemeral")
    source = gx_datasource(context, settings)
    source.test_connection()
    assert tricky not in str(source.connection_string)
    assert "gx_tricky@" in str(source.connection_string)
