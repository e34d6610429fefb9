"""One key of a list's ordering, with the same NULL placement on every database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.sql.elements import ColumnElement

from eventio.db.dialects import NullsPlaced
from eventio.querybuilder.comparison import orderable


def nulls_largest(column: ColumnElement[Any], descending: bool = False) -> NullsPlaced:
    """`column` ordered with NULLs as the largest value, on every database (compiled per
    dialect in `eventio.db.dialects`)."""
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
