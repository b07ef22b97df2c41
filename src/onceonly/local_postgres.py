"""A PostgreSQL cluster of this machine's Debian package, started with initdb and pg_ctl:
the tests' throwaway servers and the metadata database of `onceonly airflow`.

initdb and postgres refuse to run as root; as root, they run as the ``postgres`` user on a
folder it owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from onceonly.errors import OnceOnlyError


def postgres_binary(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path:
        return path
    raise OnceOnlyError(
        f"PostgreSQL's {name} not found: install the Debian package postgresql "
        "(scripts/test-services.sh does so for `make test` and `make airflow`)"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_listening(process: subprocess.Popen[bytes], port: int, name: str, log: Path) -> None:
    """Return once ``process`` listens on the loopback ``port``; raise naming its log if
    it exits first or does not listen within 30 s."""
    for _ in range(300):
        if process.poll() is not None:
            raise OnceOnlyError(f"{name} exited; see {log}")
        if listening(port):
            return
        time.sleep(0.1)
    raise OnceOnlyError(f"{name} did not start; see {log}")


class Cluster:
    """One cluster: its data in ``root/data``, its log in ``root/log``."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.data = root / "data"
        self.log = root / "log"
        self.port = port
        self.as_postgres = os.geteuid() == 0

    def run(self, *cmd: str) -> subprocess.CompletedProcess[str]:
        program = Path(cmd[0]).name
        if self.as_postgres:
            cmd = ("runuser", "-u", "postgres", "--", *cmd)
        # PostgreSQL's children must not carry the caller's environment (an Airflow home,
        # credentials): only what the server needs
        env = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "TZ") if k in os.environ}
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise OnceOnlyError(f"{program} failed: {tail[0]} (see {self.log})")
        return done

    def _own(self, path: Path) -> None:
        if self.as_postgres:
            shutil.chown(path, "postgres")

    @property
    def initialized(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def init(self, user: str, password: str | None = None) -> None:
        """initdb: ``user`` the superuser, by password (scram-sha-256) when one is given,
        else trusted (for a cluster reached only through its own socket folder)."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700 if password is None else 0o755)
        self._own(self.root)
        auth = ["-A", "trust"]
        pwfile = self.root / "pw"
        if password is not None:
            pwfile.write_text(password + "\n")
            self._own(pwfile)
            auth = ["-A", "scram-sha-256", "--pwfile", str(pwfile)]
        try:
            self.run(
                postgres_binary("initdb"), "-D", str(self.data), "-U", user, *auth,
                "-E", "UTF8", "--locale=C",
            )  # fmt: skip
        finally:
            pwfile.unlink(missing_ok=True)

    def start(self, listen: str, *settings: str) -> None:
        """pg_ctl start: listening on ``listen`` ('' for the socket in ``root`` only), with
        further ``-c name=value`` server settings."""
        options = " ".join(
            [f"-p {self.port}", f"-k {self.root}", f"-c listen_addresses='{listen}'"]
            + [f"-c {s}" for s in settings]
        )
        self.run(
            postgres_binary("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
            "-o", options, "start",
        )  # fmt: skip

    @property
    def running(self) -> bool:
        if not self.initialized:
            return False
        cmd = [postgres_binary("pg_ctl"), "-D", str(self.data), "status"]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True).returncode == 0

    def stop(self, mode: str = "fast") -> None:
        self.run(postgres_binary("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")
