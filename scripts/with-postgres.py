"""Run a command with a throwaway PostgreSQL cluster on a free loopback port, pointed at
by the ONCEONLY_PG_* variables; the cluster is stopped and removed afterwards.

    python scripts/with-postgres.py onceonly demo --outbox
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from postgres_server import PostgresServer  # noqa: E402


def main(command: list[str]) -> int:
    if not command:
        print("usage: with-postgres.py COMMAND [ARG...]", file=sys.stderr)
        return 2
    server = PostgresServer().start()
    try:
        env = {**os.environ, **server.env()}
        print(f"PostgreSQL {server.port} on 127.0.0.1 for: {' '.join(command)}", file=sys.stderr)
        return subprocess.run(command, env=env).returncode
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
