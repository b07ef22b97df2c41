"""`onceonly bench --peer NAME`: the loader a user would pick instead, run on the same
landing zone from its own locked environment under tools/ (its pins conflict with ours),
each of its strategies in a process of its own: seconds, peak RSS, rows and duplicates
kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onceonly.errors import ConfigError

#: the repository's tools/ folder (bench runs from a checkout, as `make bench` does)
TOOLS = Path(__file__).resolve().parents[3] / "tools"


@dataclass(frozen=True)
class Peer:
    name: str
    folder: str  # under tools/: pyproject.toml, uv.lock, the loader script
    script: str
    strategies: tuple[str, ...]

    @property
    def python(self) -> Path:
        return TOOLS / self.folder / ".venv" / "bin" / "python"


PEERS = {
    # dlt's merge: its default strategy (delete-insert) and insert-only
    "dlt": Peer("dlt", "dlt-peer", "load.py", ("delete-insert", "insert-only")),
}


def peer(name: str) -> Peer:
    """The named peer, its environment checked before anything is measured."""
    if name not in PEERS:
        raise ConfigError(f"--peer {name}: unknown peer (known: {', '.join(sorted(PEERS))})")
    found = PEERS[name]
    if not found.python.exists():
        raise ConfigError(
            f"--peer {name} runs from its own environment, {found.python.parent.parent}, "
            f"which is missing: run `make peer-{name}` first"
        )
    return found


def run_peer(found: Peer, stream_dir: Path, key: str, work: Path) -> dict[str, Any]:
    """Each strategy of ``found`` on the delivered files of one stream, into DuckDB."""
    from onceonly.bench.steps import run_process

    work.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {}
    for strategy in found.strategies:
        figures = work / f"{strategy}.json"
        out[strategy] = run_process(
            [
                str(found.python),
                str(TOOLS / found.folder / found.script),
                "--files",
                str(stream_dir),
                "--key",
                key,
                "--strategy",
                strategy,
                "--duckdb",
                str(work / f"{strategy}.duckdb"),
                "--work",
                str(work / "pipelines"),
                "--out",
                str(figures),
            ],
            result_file=figures,
        )
    return out
