"""Named fault points for fault-injection runs (tests, `onceonly chaos`).

``ONCEONLY_FAULTS`` holds comma-separated point names; a task that reaches a listed point
on its first attempt fails there, as if the process had died or the ack had been lost.
Nothing happens when the variable is unset.
"""

from __future__ import annotations

import os

from onceonly.errors import OnceOnlyError


class InjectedFault(OnceOnlyError):
    transient = True


def maybe_fail(point: str, attempt: int) -> None:
    points = {p.strip() for p in os.environ.get("ONCEONLY_FAULTS", "").split(",") if p.strip()}
    if point in points and attempt <= 1:
        raise InjectedFault(f"injected fault at {point!r} (attempt {attempt})")
