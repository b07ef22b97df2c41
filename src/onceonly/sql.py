"""The SQL that onceonly writes itself, and how each target's dialect renders it.

Callers write a Statement with slots for relations and parameters; the target's Dialect
names the relations (quoting, schema prefix, project) and binds the parameters in its
driver's style. Data is always a Param. Only identifiers and constants that come from code
(declarations checked by their schema, settings) are placed in SQL text.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

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


@dataclass(frozen=True)
class Relation:
    """A table or view by its schema (raw, staging, analytics, dq) and name, as the dbt
    project names it. Only a target's dialect turns it into SQL (quoting, the schema
    prefix, a BigQuery project)."""

    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Param:
    """A value bound as a parameter (or written as a typed literal where a target's SQL
    must be text, as GX's queries)."""

    value: object


@dataclass(frozen=True)
class Statement:
    """SQL with ``{name}`` slots, filled by a dialect from ``values``: a Relation becomes
    the target's name for it, a Param a bound parameter, a Statement its own SQL, a
    callable of the dialect what it returns, and a str is SQL text from code (identifiers
    checked by the declaration schema, expressions): never data. ``{{`` and ``}}`` are
    braces."""

    template: str
    values: Mapping[str, object] = field(default_factory=dict)


def sql(template: str, **values: object) -> Statement:
    return Statement(template, values)


class Dialect:
    """How one target writes onceonly's SQL: names, parameters, literals, types and the
    few functions that differ. DuckDB's and PostgreSQL's SQL is the default here."""

    quote = '"'
    #: logical column types (raw_tables) -> this target's
    types: Mapping[str, str] = {}

    def __init__(self, schema_prefix: str = "") -> None:
        self.schema_prefix = schema_prefix

    def schema(self, name: str) -> str:
        return self.schema_prefix + name

    def relation(self, r: Relation) -> str:
        return qualified(self.schema(r.schema), r.name, self.quote)

    def placeholder(self) -> str:
        """The driver's parameter marker."""
        return "?"

    def text(self, text: str) -> str:
        """Fixed SQL text as the driver must receive it beside parameters."""
        return text

    def literal(self, value: object) -> str:
        """A typed literal for one value, every string escaped."""
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        if isinstance(value, Decimal):
            return f"cast({literal(str(value))} as decimal(38, 9))"
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                value = value.astimezone(UTC).replace(tzinfo=None)
            return f"timestamp {literal(value.isoformat(sep=' '))}"
        if isinstance(value, date):
            return f"date {literal(value.isoformat())}"
        return literal(str(value))

    def type(self, logical: str) -> str:
        from onceonly.raw_tables import physical_type

        return physical_type(logical, dict(self.types))

    def hour_of(self, expr: str) -> str:
        """A timestamp truncated to its hour."""
        return f"date_trunc('hour', {expr})"

    def seconds_between(self, lo: str, hi: str) -> str:
        """The seconds from timestamp ``lo`` to timestamp ``hi``."""
        return f"extract(epoch from ({hi} - {lo}))"

    def hours_between(self, lo: str, hi: str, source: str) -> str:
        """A query of one column ``hour``: every hour from ``lo`` to ``hi`` of ``source``."""
        return (
            f"select unnest(generate_series({lo}, {hi}, interval '1 hour')) as hour from {source}"
        )

    def exists(self, r: Relation) -> Statement:
        """One row, one count: 1 when the relation (table or view) exists."""
        return sql(
            "select count(*) from information_schema.tables "
            "where table_schema = {schema} and table_name = {name}",
            schema=Param(self.schema(r.schema)),
            name=Param(r.name),
        )

    def render(self, statement: Statement | str) -> tuple[str, list[object]]:
        """The SQL text and the parameters to bind, in order."""
        params: list[object] = []
        text = self._render(_statement(statement), params, bind=True)
        return text, params

    def inline(self, statement: Statement | str) -> str:
        """The SQL text with every parameter written as a literal."""
        return self._render(_statement(statement), [], bind=False)

    def _render(self, statement: Statement, params: list[object], bind: bool) -> str:
        out = []
        for text, name, spec, conversion in string.Formatter().parse(statement.template):
            out.append(self.text(text) if bind else text)
            if name is None:
                continue
            if name not in statement.values or spec or conversion:
                raise KeyError(f"SQL slot {{{name}}} has no value")
            out.append(self._value(statement.values[name], params, bind))
        return "".join(out)

    def _value(self, value: object, params: list[object], bind: bool) -> str:
        if callable(value):  # a piece that depends on the dialect
            value = value(self)
        if isinstance(value, Relation):
            return self.relation(value)
        if isinstance(value, Statement):
            return self._render(value, params, bind)
        if isinstance(value, Param):
            if not bind:
                return self.literal(value.value)
            params.append(value.value)
            return self.placeholder()
        if isinstance(value, str):
            return value
        raise TypeError(f"SQL slot value of type {type(value).__name__}: wrap data in Param")


def _statement(statement: Statement | str) -> Statement:
    return statement if isinstance(statement, Statement) else Statement(statement)
