"""Column values compared and ordered the same way on every database.

Booleans compare as integers (SQL refuses `active > true` from SQLAlchemy), so a
keyset cursor can step over a boolean sort.

Timestamps compare as instants.

SQLite keeps timestamps as text, and rows written by hand may say `2026-01-10 14:30:00`,
`2026-01-10T14:30:00Z` or `…00.000000`: compared as strings, equal instants differ and
`T` sorts after a space. On SQLite both sides go through `eventio_instant()`, a function
registered on every SQLite connection that rewrites any ISO 8601 text as UTC with
microseconds; elsewhere the column is left as it is, so its indexes serve.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, cast, event, literal, types
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class Instant(FunctionElement[Any]):
    """A timestamp expression, normalised where the database stores text."""

    inherit_cache = True
    name = "instant"

    def __init__(self, expression: ColumnElement[Any]) -> None:
        super().__init__(expression)
        self.type = expression.type


@compiles(Instant)
def _as_is(element: Instant, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(next(iter(element.clauses)), **kw)


@compiles(Instant, "sqlite")
def _on_sqlite(element: Instant, compiler: SQLCompiler, **kw: Any) -> str:
    return f"eventio_instant({compiler.process(next(iter(element.clauses)), **kw)})"


def normalise(text: Any) -> Any:
    """`eventio_instant`: ISO 8601 text as `YYYY-MM-DD HH:MM:SS.ffffff` in UTC."""
    if not isinstance(text, str):
        return text
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return text
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(sep=" ", timespec="microseconds")


@event.listens_for(Engine, "connect")
def _register_on_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("eventio_instant", 1, normalise, deterministic=True)


def is_timestamp(column: ColumnElement[Any]) -> bool:
    return isinstance(column.type, types.DateTime)


def orderable(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The column as it sorts (ORDER BY): instants; booleans sort as they are."""
    return Instant(column) if is_timestamp(column) else column


def comparable(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The column as it compares (for WHERE and ORDER BY): instants, booleans as 0/1."""
    if is_timestamp(column):
        return Instant(column)
    if isinstance(column.type, types.Boolean):
        return cast(column, types.Integer)
    return column


def comparable_value(column: ColumnElement[Any], value: Any) -> Any:
    """A value to compare with `comparable(column)`."""
    if value is None:
        return value
    if is_timestamp(column):
        return Instant(literal(value, column.type))
    if isinstance(column.type, types.Boolean):
        return int(bool(value))
    return value
