from __future__ import annotations

import os
import tempfile

# Airflow gets a throwaway home and metadata DB before anything imports it, and dag.test()
# waits out retry delays, so tests use none.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="onceonly-airflow-")
os.environ["ONCEONLY_RETRY_DELAY_SECONDS"] = "0"

import gzip
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from onceonly.settings import ENV
from onceonly.streams import example
from onceonly.targets.duckdb import DuckDBTarget

ORDERS = example("orders")
INVENTORY = example("inventory")

HOUR_DIR = "orders/dt=2026-01-05/hour=10"


def order_placed(event_id: str = "e-1", seq: int = 0, **overrides: object) -> dict[str, object]:
    event: dict[str, object] = {
        "event_id": event_id,
        "event_type": "order_placed",
        "occurred_at": "2026-01-05T11:30:00+02:00",
        "producer_id": "shop-eu",
        "producer_epoch": 0,
        "sequence_number": seq,
        "order_id": f"ord-{event_id}",
        "customer_id": "cust-1",
        "product_id": "sku-001",
        "quantity": 2,
        "amount": "19.90",
        "currency": "EUR",
    }
    event.update(overrides)
    return event


def jsonl(*events: dict[str, object]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


WriteFile = Callable[..., Path]


@pytest.fixture(autouse=True)
def _settings_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """run_dags exports the settings to the environment (as a scheduler's workers get
    them): restored after each test, so no test sees another's paths."""
    for name in ENV.values():
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
        else:
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    (root / "orders").mkdir(parents=True)
    return root


@pytest.fixture
def write_file(landing: Path) -> WriteFile:
    def write(
        name: str,
        data: bytes,
        hour_dir: str = HOUR_DIR,
        manifest: dict[str, object] | bool = False,
        compress: bool = False,
    ) -> Path:
        path = landing / hour_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = gzip.compress(data, mtime=0) if compress else data
        path.write_bytes(raw)
        if manifest:
            body = (
                manifest
                if isinstance(manifest, dict)
                else {
                    "record_count": data.count(b"\n"),
                    "sha256": hashlib.sha256(raw).hexdigest(),
                }
            )
            path.with_name(path.name + ".manifest.json").write_text(json.dumps(body))
        return path

    return write


@pytest.fixture
def target(tmp_path: Path):
    t = DuckDBTarget(tmp_path / "warehouse" / "test.duckdb")
    yield t
    t.close()


@pytest.fixture
def contract():
    return ORDERS


@pytest.fixture(scope="session")
def postgres_server():
    from postgres_server import PostgresServer

    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def postgres_env(postgres_server, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    """A fresh database per test, with ONCEONLY_PG_* pointing at it."""
    import re

    name = "t_" + re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:50]
    env = postgres_server.fresh_database(name)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture(scope="session")
def bigquery_emulator():
    from bigquery_emulator import BigQueryEmulator

    emulator = BigQueryEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def bigquery_env(
    bigquery_emulator, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
):
    """A fresh emulator project per test, with ONCEONLY_BQ_* pointing at it."""
    env = bigquery_emulator.env("t-" + request.node.name)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture(scope="session")
def object_servers():
    """moto's S3 server and the GCS emulator, one each for the session."""
    from object_stores import GCSServer, S3Server

    servers = {"s3": S3Server().start(), "gs": GCSServer().start()}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def new_bucket(object_servers, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """make(scheme, prefix, versioned) -> (server, bucket name, zone at the prefix): a
    bucket of this test's own on the S3 or GCS server, the clients pointed at it."""
    from object_stores import bucket_name

    from onceonly.object_store import ObjectZone

    def make(scheme: str, prefix: str = "", versioned: bool = False):  # type: ignore[no-untyped-def]
        server = object_servers[scheme]
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        name = bucket_name(f"{request.node.name}/{scheme}/{prefix}")
        server.create_bucket(name, versioned)
        return server, name, ObjectZone.parse(f"{scheme}://{name}/{prefix}")

    return make
