"""A throwaway PostgreSQL cluster for the tests: initdb + pg_ctl on a free loopback port.

initdb and postgres refuse to run as root; as root (CI), they run as the `postgres` user
on a folder it owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path:
        return path
    raise RuntimeError(
        f"PostgreSQL's {name} not found: install the Debian package postgresql "
        "(scripts/test-services.sh does so for `make test`)"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(process: subprocess.Popen[bytes], port: int, name: str, log: Path) -> None:
    """Return once ``process`` listens on the loopback ``port``; raise naming its log if
    it exits first or does not listen within 30 s."""
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited; see {log}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not start; see {log}")


class PostgresServer:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="onceonly-pg-"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = "onceonly"
        self.password = "s3cret-" + os.urandom(4).hex()
        self._as_postgres = os.geteuid() == 0

    def _run(self, *cmd: str) -> None:
        if self._as_postgres:
            cmd = ("runuser", "-u", "postgres", "--", *cmd)
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> PostgresServer:
        if self._as_postgres:
            shutil.chown(self.root, "postgres")
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self._as_postgres:
            shutil.chown(pwfile, "postgres")
        self._run(
            _bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            self.user,
            "-A",
            "scram-sha-256",
            "--pwfile",
            str(pwfile),
            "-E",
            "UTF8",
            "--locale=C",
        )
        pwfile.unlink()
        self._run(
            _bin("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-w",
            "-o",
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )
        self._wait()
        self._createdb("onceonly")
        return self

    def _wait(self) -> None:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not start; see {self.root / 'log'}")

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
            self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
