"""Find bytes in large buffers without allocating arrays the size of the buffer.

A comparison over a whole buffer allocates a result as large as the buffer, and fresh
pages cost more than the comparison (1.3 s for 320 MB here, against 0.12 s when one small
buffer is reused block by block).
"""

from __future__ import annotations

import numpy as np

#: Bytes compared per step.
BLOCK = 1 << 20


def positions(data: np.ndarray, *values: int) -> np.ndarray:
    """Sorted positions in ``data`` (uint8) of the bytes equal to any of ``values``."""
    hit, other = np.empty(BLOCK, bool), np.empty(BLOCK, bool)
    found = [np.empty(0, np.int64)]
    for at in range(0, len(data), BLOCK):
        block = data[at : at + BLOCK]
        h, o = hit[: len(block)], other[: len(block)]
        np.equal(block, values[0], out=h)
        for value in values[1:]:
            np.logical_or(h, np.equal(block, value, out=o), out=h)
        found.append(np.flatnonzero(h) + at)
    return np.concatenate(found)
