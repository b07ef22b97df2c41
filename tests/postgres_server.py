"""A throwaway PostgreSQL cluster for the tests: initdb + pg_ctl on a free loopback port
(onceonly.local_postgres), removed when stopped."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from onceonly.local_postgres import Cluster, free_port, wait_listening

_free_port = free_port
__all__ = ["PostgresServer", "_free_port", "wait_listening"]


class PostgresServer:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="onceonly-pg-"))
        self.user = "onceonly"
        self.password = "s3cret-" + os.urandom(4).hex()
        self.cluster = Cluster(self.root, free_port())
        self.port = self.cluster.port

    def start(self) -> PostgresServer:
        self.cluster.init(self.user, self.password)
        self.cluster.start("127.0.0.1", "fsync=off")
        self._createdb("onceonly")
        return self

    def _createdb(self, name: str) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            password=self.password,
            dbname="postgres",
            autocommit=True,
        ) as con:
            con.execute(f'create database "{name}"')

    def fresh_database(self, name: str) -> dict[str, str]:
        """A new empty database; returns the environment that points onceonly at it."""
        self._createdb(name)
        return self.env(name)

    def env(self, database: str = "onceonly") -> dict[str, str]:
        return {
            "ONCEONLY_PG_HOST": "127.0.0.1",
            "ONCEONLY_PG_PORT": str(self.port),
            "ONCEONLY_PG_USER": self.user,
            "ONCEONLY_PG_PASSWORD": self.password,
            "ONCEONLY_PG_DATABASE": database,
        }

    def stop(self) -> None:
        try:
            self.cluster.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
