"""The BigQuery API emulator for the tests: `crucible serve --dialect bigquery` on a free
loopback port, from its own locked environment (tools/bigquery-emulator, `make emulator`).

It is BigQuery's REST API over DuckDB: it proves that the SQL dbt-bigquery and onceonly
emit parses and gives the right rows under BigQuery's rules as the emulator models them,
and that load jobs and the client calls work. It does not prove cost (bytes scanned are
always 0), partition pruning, quotas, concurrency or IAM.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import tempfile
from pathlib import Path

from postgres_server import _free_port, wait_listening

EMULATOR = Path(__file__).resolve().parents[1] / "tools/bigquery-emulator/.venv/bin/crucible"


def _project_id(name: str) -> str:
    """A valid, distinct project id for any test name."""
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return re.sub(r"[^a-z0-9]+", "-", name.lower())[:20].strip("-") + "-" + digest


class BigQueryEmulator:
    def __init__(self) -> None:
        if not EMULATOR.exists():
            raise RuntimeError(f"{EMULATOR} not found: run `make emulator` (`make test` does)")
        self.port = _free_port()
        self.log = Path(tempfile.mkstemp(prefix="onceonly-bq-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> BigQueryEmulator:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(EMULATOR), "serve", "--dialect", "bigquery", "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_listening(self.process, self.port, "the BigQuery emulator", self.log)
        return self

    def env(self, project: str) -> dict[str, str]:
        """Point onceonly and dbt at a project of the emulator (a fresh project is an empty
        warehouse). The token is a dummy: the emulator checks none."""
        return {
            "ONCEONLY_BQ_PROJECT": _project_id(project),
            "ONCEONLY_BQ_METHOD": "oauth-secrets",
            "ONCEONLY_BQ_TOKEN": "emulator-dummy-token",
            "ONCEONLY_BQ_API_ENDPOINT": self.endpoint,
            "ONCEONLY_BQ_LOCATION": "US",
        }

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.unlink(missing_ok=True)
