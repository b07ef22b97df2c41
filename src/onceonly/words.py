"""How numbers read in what users see: the CLI's lines and the report's sentences."""

from __future__ import annotations


def counted(n: int, one: str, many: str | None = None) -> str:
    """``1 line``, ``2 lines``, ``1,000 files or entries``."""
    return f"{n:,} {one if n == 1 else many or one + 's'}"
