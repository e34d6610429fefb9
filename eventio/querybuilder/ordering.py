"""One key of a list's ordering, with the same NULL placement on every database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from eventio.querybuilder.comparison import orderable


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


def nulls_largest(column: ColumnElement[Any], descending: bool = False) -> NullsPlaced:
    """`column` ordered with NULLs as the largest value, on every database."""
    return NullsPlaced(column, descending)


@dataclass(frozen=True)
class OrderKey:
    """NULLs sort last ascending and first descending, as PostgreSQL does by default,
    written out so SQLite and MySQL agree and a cursor can step over them."""

    name: str
    column: ColumnElement[Any]
    descending: bool

    @property
    def nullable(self) -> bool:
        return bool(getattr(self.column, "nullable", True)) and self.name != "id"

    @property
    def signature(self) -> str:
        return ("-" if self.descending else "") + self.name

    def clause(self, reverse: bool = False) -> Any:
        descending = self.descending != reverse
        column = orderable(self.column)
        if not self.nullable:
            return column.desc() if descending else column.asc()
        return nulls_largest(column, descending)
