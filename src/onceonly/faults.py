"""Named fault points for fault-injection runs (tests, `onceonly chaos`).

The setting ``ONCEONLY_FAULTS`` holds comma-separated point names; a task that reaches a
listed point on its first attempt fails there, as if the process had died or the ack had
been lost. Nothing happens when it is unset.
"""

from __future__ import annotations

from onceonly.errors import OnceOnlyError


class InjectedFault(OnceOnlyError):
    transient = True


def maybe_fail(points: frozenset[str], point: str, attempt: int) -> None:
    """Fail at ``point`` on a first attempt when ``points`` (Settings.fault_points) lists it."""
    if point in points and attempt <= 1:
        raise InjectedFault(f"injected fault at {point!r} (attempt {attempt})")


def maybe_kill(points: frozenset[str], point: str) -> None:
    """Die at ``point`` with SIGKILL, as kill -9 would (no cleanup, no exception), when
    ``points`` lists ``kill:<point>``: for crash tests of steps that must survive one."""
    import os
    import signal

    if f"kill:{point}" in points:
        os.kill(os.getpid(), signal.SIGKILL)
