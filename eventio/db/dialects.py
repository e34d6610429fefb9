"""What differs from one database to another: SQL constructs compiled per dialect, and
the functions each SQLite connection gets.

`install(engine)` is called by the app factory for each of its engines (never for every
Engine in the process); the constructs compile wherever they are used. No Flask here:
the query builder imports this module.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal


class Instant(FunctionElement[Any]):
    """A timestamp expression, normalised where the database stores text: on SQLite it
    goes through `eventio_instant()` (see `normalise`), elsewhere it is the column as it
    is, so its indexes serve."""

    inherit_cache = True
    name = "instant"

    def __init__(self, expression: ColumnElement[Any]) -> None:
        super().__init__(expression)
        self.type = expression.type


@compiles(Instant)
def _instant_as_is(element: Instant, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(next(iter(element.clauses)), **kw)


@compiles(Instant, "sqlite")
def _instant_on_sqlite(element: Instant, compiler: SQLCompiler, **kw: Any) -> str:
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


class NullsPlaced(ColumnElement[Any]):
    """`column ASC NULLS LAST` or `column DESC NULLS FIRST`: NULL is the largest value.

    PostgreSQL and SQLite get exactly that SQL (PostgreSQL's indexes serve it); MySQL
    and MariaDB have no `NULLS FIRST/LAST`, so they sort on `column IS NULL` first.
    """

    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("descending", InternalTraversal.dp_boolean),
    ]

    def __init__(self, column: ColumnElement[Any], descending: bool) -> None:
        self.column = column
        self.descending = descending
        self.type = column.type


@compiles(NullsPlaced)
def _nulls_clause(element: NullsPlaced, compiler: SQLCompiler, **kw: Any) -> str:
    column = element.column
    clause = column.desc().nulls_first() if element.descending else column.asc().nulls_last()
    return compiler.process(clause, **kw)


@compiles(NullsPlaced, "mysql")
def _nulls_by_is_null(element: NullsPlaced, compiler: SQLCompiler, **kw: Any) -> str:
    column = element.column
    if element.descending:
        return (
            compiler.process(column.is_(None).desc(), **kw)
            + ", "
            + compiler.process(column.desc(), **kw)
        )
    return (
        compiler.process(column.is_(None).asc(), **kw) + ", " + compiler.process(column.asc(), **kw)
    )


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _sqlite_functions(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite's lower() folds only ASCII (partial filters must ignore case in any script),
    and timestamps stored as text compare as instants through `eventio_instant`."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
        dbapi_connection.create_function("eventio_instant", 1, normalise, deterministic=True)


def install(*engines: Engine) -> None:
    """Give each new connection of the `engines` what its dialect needs (once per engine)."""
    for engine in engines:
        if engine.dialect.name == "sqlite" and not event.contains(
            engine, "connect", _sqlite_functions
        ):
            event.listen(engine, "connect", _sqlite_functions)
