"""The commands' exit codes (README, "Exit codes"): a scheduler alerts on them.

``land`` and ``run`` finish their work whatever the input holds; what they could not land
is recorded (ledger, quarantine) and, besides, told by the exit code: 5 when an
exactly_once stream is left with keys unpublished (``run``), else 3 when this run rejected
a delivered file or entry, 4 when every file landed but lines were quarantined.
"""

from __future__ import annotations

OK = 0
#: a DAG task or an error-severity check failed, a table differs from ``--truth``, the
#: audit found duplicates it was not asked to repair
FAILED = 1
#: a usage error or a condition the user can fix, printed as one line
USAGE = 2
#: done; this run rejected a delivered file or entry (nothing of it landed)
REJECTED = 3
#: done; every file landed, but some of its lines were quarantined
QUARANTINED = 4
#: done; an exactly_once stream holds keys out of its facts: a publish check held their
#: batch, or they wait for `onceonly resolve` to choose between conflicting copies
UNPUBLISHED = 5
#: the codes of a landing or run that did its work
COMPLETED = (OK, REJECTED, QUARANTINED, UNPUBLISHED)


def for_input(rejected: int, quarantined: int, unpublished: int = 0) -> int:
    """The code of a completed run that rejected ``rejected`` files or entries,
    quarantined ``quarantined`` lines and left ``unpublished`` keys out of the facts."""
    if unpublished:
        return UNPUBLISHED
    if rejected:
        return REJECTED
    if quarantined:
        return QUARANTINED
    return OK
