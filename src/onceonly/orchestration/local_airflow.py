"""`onceonly airflow start|stop|status`: a real Airflow 3 for this project on this machine.

The scheduler, the dag-processor and the API server, each a process of its own, with the
LocalExecutor and a PostgreSQL metadata database (a cluster of the machine's Debian
package, reached only through its own socket folder, trusted there and nowhere else). The
DAGs are the project's ``dags/``; no examples; Cosmos' and dbt's usage statistics off.

Everything lives in one Airflow home (default ``.airflow/local``): ``airflow.cfg``, the
logs, the components' pid files and, unless running as root, the metadata cluster (as
root, PostgreSQL runs as the ``postgres`` user, in a folder of the temporary directory it
can reach). The ONCEONLY_* settings of the starting shell are handed to the components in
their environment, never written. ``stop`` ends every process it started and their
children (task processes included), then the cluster.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from onceonly.errors import OnceOnlyError
from onceonly.local_postgres import Cluster, listening
from onceonly.settings import PROJECT_ROOT, Settings, environment

DEFAULT_HOME = PROJECT_ROOT / ".airflow" / "local"
DEFAULT_PORT = 8080
METADATA_PORT = 5432  # names the cluster's socket file; the cluster listens on no TCP port
COMPONENTS = ("scheduler", "dag-processor", "api-server")


@dataclass(frozen=True)
class LocalAirflow:
    home: Path
    port: int = DEFAULT_PORT

    @classmethod
    def at(cls, home: Path, port: int | None = None) -> LocalAirflow:
        """The Airflow of ``home``: on ``port``, else the port it was last started on."""
        if port is None:
            parser = configparser.ConfigParser(interpolation=None)
            parser.read(home / "airflow.cfg")
            port = parser.getint("api", "port", fallback=DEFAULT_PORT)
        return cls(home, port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_file(self) -> Path:
        return self.home / "airflow.cfg"

    @property
    def cluster(self) -> Cluster:
        if os.geteuid() == 0:  # the postgres user must reach it: not under /root
            tag = hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
            root = Path(tempfile.gettempdir()) / f"onceonly-airflow-{tag}"
        else:
            root = self.home / "postgres"
        return Cluster(root, METADATA_PORT)

    def log(self, component: str) -> Path:
        return self.home / "logs" / f"{component}.log"

    def _pid_file(self, component: str) -> Path:
        return self.home / "run" / f"{component}.pid"

    @property
    def _sessions_file(self) -> Path:
        return self.home / "run" / "sessions"

    def _sessions(self) -> set[int]:
        """The sessions of every component started since the last stop (a component is
        its session's leader; its children stay in it, task processes included)."""
        try:
            text = self._sessions_file.read_text()
        except FileNotFoundError:
            return set()
        return {int(word) for word in text.split()}

    def pid(self, component: str) -> int | None:
        """The component's process, when it runs."""
        try:
            pid = int(self._pid_file(component).read_text())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _alive(pid) and _session(pid) == pid else None

    def processes(self) -> list[int]:
        """Every live process of this Airflow: the components and their children."""
        sessions = self._sessions()
        return [
            int(e.name)
            for e in Path("/proc").iterdir()
            if e.name.isdigit() and _session(int(e.name)) in sessions and _alive(int(e.name))
        ]

    # -- start ----------------------------------------------------------------------------

    def start(self, settings: Settings) -> list[str]:
        """Start what is not running; return the components started."""
        from onceonly.orchestration.runner import ensure_manifest

        running_elsewhere = self.pid("api-server") is None and listening(self.port)
        if running_elsewhere:
            raise OnceOnlyError(
                f"port {self.port} on 127.0.0.1 is taken by another program: pass --port"
            )
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        (self.home / "run").mkdir(parents=True, exist_ok=True)
        self._start_metadata_database()
        self._write_config()
        env = self._environment(settings)
        with environment(settings.environment()):
            ensure_manifest(settings)  # the transform DAGs are read from dbt's manifest
        self._airflow(env, "migrate", "db", "migrate")
        from onceonly.targets.scheduling import warehouse_pool

        pool = warehouse_pool(settings)
        if pool is not None:
            self._airflow(env, "pools", "pools", "set", pool, "1", "one writer at a time")
        started = []
        for component in COMPONENTS:
            if self.pid(component) is None:
                self._spawn(component, env)
                started.append(component)
        self._wait_healthy()
        return started

    def _start_metadata_database(self) -> None:
        cluster = self.cluster
        if not cluster.initialized:
            cluster.init("airflow")
        if not cluster.running:
            cluster.start("")
        import psycopg

        with psycopg.connect(
            host=str(cluster.root), port=cluster.port, user="airflow", dbname="postgres",
            autocommit=True,
        ) as con:  # fmt: skip
            if not con.execute("select 1 from pg_database where datname = 'airflow'").fetchone():
                con.execute("create database airflow")

    def _options(self) -> dict[str, dict[str, str]]:
        socket = f"host={self.cluster.root}&port={METADATA_PORT}"
        return {
            "core": {
                "dags_folder": str(PROJECT_ROOT / "dags"),
                "load_examples": "False",
                "executor": "LocalExecutor",
                "parallelism": "8",
                "dags_are_paused_at_creation": "True",
                "execution_api_server_url": f"{self.url}/execution/",
                # loopback only; no logins to keep
                "simple_auth_manager_all_admins": "True",
            },
            "database": {
                "sql_alchemy_conn": f"postgresql+psycopg2://airflow@/airflow?{socket}",
                "sql_alchemy_conn_async": f"postgresql+psycopg://airflow@/airflow?{socket}",
            },
            "api": {
                "host": "127.0.0.1",
                "port": str(self.port),
                "base_url": self.url,
                "workers": "1",
            },
            "logging": {"base_log_folder": str(self.home / "logs")},
            # a task whose process was lost (its scheduler killed) is failed, and retried,
            # after this long without a heartbeat (Airflow's default: 5 min)
            "scheduler": {"task_instance_heartbeat_timeout": "60"},
            "dag_processor": {"refresh_interval": "30"},
            "cosmos": {"enable_telemetry": "False"},
        }

    def _write_config(self) -> None:
        """airflow.cfg: the options above; Airflow's signing key for its API tokens kept
        from the file already there (the components share it), else a new random one."""
        parser = configparser.ConfigParser(interpolation=None)
        jwt_secret = ""
        if self.config_file.exists():
            parser.read(self.config_file)
            jwt_secret = parser.get("api_auth", "jwt_secret", fallback="")
        out = configparser.ConfigParser(interpolation=None)
        out.read_dict(self._options())
        out["api_auth"] = {"jwt_secret": jwt_secret or secrets.token_urlsafe(32)}
        self.config_file.touch(mode=0o600)
        with self.config_file.open("w") as f:
            f.write("# written by `onceonly airflow start`; rewritten at each start\n")
            out.write(f)

    def _environment(self, settings: Settings) -> dict[str, str]:
        written = {
            f"AIRFLOW__{section.upper()}__{key.upper()}"
            for section, options in self._options().items()
            for key in options
        }
        env = {k: v for k, v in os.environ.items() if k not in written}
        env.update(settings.environment())
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW_CONFIG": str(self.config_file),
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
                "DO_NOT_TRACK": "1",
            }
        )
        return env

    def _airflow(self, env: dict[str, str], log: str, *args: str) -> None:
        with self.log(log).open("w") as out:
            done = subprocess.run(
                [_airflow_executable(), *args], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        if done.returncode != 0:
            raise OnceOnlyError(f"`airflow {' '.join(args)}` failed: see {self.log(log)}")

    def _spawn(self, component: str, env: dict[str, str]) -> None:
        with self.log(component).open("a") as out:
            process = subprocess.Popen(
                [_airflow_executable(), component],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stop ends its children too
            )
        self._pid_file(component).write_text(str(process.pid))
        with self._sessions_file.open("a") as f:
            f.write(f"{process.pid}\n")

    def health(self) -> dict[str, str]:
        """Each part's status as the API server reports it ({} when it does not answer)."""
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5) as r:
                body = json.load(r)
        except (OSError, ValueError):
            return {}
        return {part: str(value.get("status")) for part, value in body.items()}

    def _wait_healthy(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for component in COMPONENTS:
                if self.pid(component) is None:
                    raise OnceOnlyError(f"airflow {component} exited: see {self.log(component)}")
            parts = self.health()
            if parts and all(parts.get(p) == "healthy" for p in ("metadatabase", "scheduler")):
                return
            time.sleep(1)
        raise OnceOnlyError(
            f"Airflow at {self.url} was not healthy within {timeout:.0f} s: see the logs in "
            f"{self.home / 'logs'}"
        )

    # -- stop -----------------------------------------------------------------------------

    def stop(self, grace: float = 30) -> int:
        """End every process of this home (TERM, then KILL after ``grace`` seconds), then
        the metadata cluster; return how many processes there were."""
        processes = set(self.processes())
        for pid in processes:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(_alive(p) for p in processes):
            time.sleep(0.2)
            processes |= set(self.processes())
        for pid in processes:
            _signal(pid, signal.SIGKILL)
        for component in COMPONENTS:
            self._pid_file(component).unlink(missing_ok=True)
        self._sessions_file.unlink(missing_ok=True)
        cluster = self.cluster
        if cluster.running:
            cluster.stop("fast")
        return len(processes)

    def forget(self) -> None:
        """Delete the metadata database (run history, connections and variables kept in
        it); the home's config and logs stay. Only once stopped."""
        import shutil

        shutil.rmtree(self.cluster.root, ignore_errors=True)


def _airflow_executable() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat's fields after the command name: state, ppid, pgrp, session, ..."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _alive(pid: int) -> bool:
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z"  # a zombie has ended, awaiting its parent


def _session(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[3]) if len(fields) > 3 else None


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
