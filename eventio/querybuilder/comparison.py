"""Column values compared and ordered the same way on every database.

Booleans compare as integers (SQL refuses `active > true` from SQLAlchemy), so a
keyset cursor can step over a boolean sort.

Timestamps compare as instants.

SQLite keeps timestamps as text, and rows written by hand may say `2026-01-10 14:30:00`,
`2026-01-10T14:30:00Z` or `…00.000000`: compared as strings, equal instants differ and
`T` sorts after a space. On SQLite both sides go through `eventio_instant()`, a function
each SQLite connection gets (`eventio.db.dialects.install`) that rewrites any ISO 8601
text as UTC with microseconds; elsewhere the column is left as it is, so its indexes serve.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import cast, literal, types
from sqlalchemy.sql.elements import ColumnElement

from eventio.db.dialects import Instant


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
