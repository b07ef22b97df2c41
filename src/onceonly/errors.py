"""One root error for the project; subclasses carry where and what went wrong."""

from __future__ import annotations


class OnceOnlyError(Exception):
    """Root of every error onceonly raises on purpose.

    ``transient`` tells a scheduler whether a retry may succeed.
    """

    transient = False


class ConfigError(OnceOnlyError):
    """A setting, identifier or command-line value is not usable."""


class WarehouseError(OnceOnlyError):
    """The warehouse cannot be used as configured (missing, locked, not a database)."""

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class LandingPathError(OnceOnlyError):
    """A landing folder or file cannot be read."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class AccountingError(OnceOnlyError):
    """Lines read differ from rows landed plus rows quarantined (a bug, never data)."""

    def __init__(self, source_file: str, lines: int, landed: int, quarantined: int) -> None:
        self.source_file = source_file
        super().__init__(
            f"{source_file}: accounting broken: {lines} lines read, "
            f"{landed} landed + {quarantined} quarantined"
        )


class RowsRefused(OnceOnlyError):
    """The target refused rows of a batch that validation accepted (a constraint added to
    a raw table, a value the engine cannot store): the rows' fault, not the connection's.
    Landing then asks the target which rows, quarantines them alone and writes the rest."""
