"""Warehouse targets: where landed rows are written. One module per engine."""

from __future__ import annotations

from typing import Protocol

import pyarrow as pa

from onceonly.contract import StreamContract


class RawWriter(Protocol):
    """What the landing step needs from a warehouse."""

    def ensure_raw_tables(self, contract: StreamContract) -> None: ...

    def landed_hashes(self, stream: str) -> dict[str, str]:
        """sha256 -> source_file of every file content already landed for the stream."""
        ...

    def write_batch(
        self,
        contract: StreamContract,
        events: pa.Table,
        quarantine: pa.Table,
        ledger: pa.Table,
    ) -> None:
        """Append all three in one transaction: all of it lands or none of it."""
        ...

    def close(self) -> None: ...
