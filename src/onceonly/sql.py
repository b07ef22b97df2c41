"""Small helpers for the SQL that onceonly writes itself.

Data is always bound as parameters. Only identifiers and constants that come from code
(contracts, settings validated here) are ever placed in SQL text, through these helpers.
"""

from __future__ import annotations

import re

from onceonly.errors import ConfigError

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def ident(name: str, quote: str = '"') -> str:
    """Validate an identifier against a strict pattern and quote it (BigQuery quotes
    with backticks)."""
    if not _IDENT.match(name):
        raise ConfigError(f"{name!r} is not a valid identifier (letters, digits, _; max 63)")
    return f"{quote}{name}{quote}"


def qualified(schema: str, table: str, quote: str = '"') -> str:
    return f"{ident(schema, quote)}.{ident(table, quote)}"


def literal(text: str) -> str:
    """A SQL string literal for a constant that comes from code, never from data."""
    return "'" + text.replace("'", "''") + "'"
