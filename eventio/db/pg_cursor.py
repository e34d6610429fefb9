"""psycopg's cursor, describing its columns only when someone reads the description.

psycopg builds a `Column` object per result column each time `cursor.description` is
read, and SQLAlchemy reads it after every statement. For a statement it has compiled
before (every statement the API runs, after the first request), SQLAlchemy keeps the
result's metadata with the compiled form and only asks whether there is a description.
Building the columns nobody reads (about 45 for one booking with its includes) cost
some 4% of that request's CPU. This cursor answers with a sequence that builds them on
first use instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

from psycopg import Column, Cursor, pq


class _ResultView:
    """What `Column` reads of a cursor, fixed at one result: the cursor may run another
    statement before the description is read."""

    __slots__ = ("_encoding", "adapters", "pgresult")

    def __init__(self, cursor: Cursor[Any], result: pq.abc.PGresult) -> None:
        self.pgresult = result
        self._encoding = cursor._encoding
        self.adapters = cursor.adapters


class LazyDescription(Sequence[Column]):
    """The columns of one result, built the first time one of them is read."""

    __slots__ = ("_columns", "_view")

    def __init__(self, cursor: Cursor[Any], result: pq.abc.PGresult) -> None:
        self._view: _ResultView | None = _ResultView(cursor, result)
        self._columns: list[Column] = []

    def _built(self) -> list[Column]:
        if self._view is not None:
            view, self._view = self._view, None
            nfields = view.pgresult.nfields
            self._columns = [Column(view, i) for i in range(nfields)]  # type: ignore[arg-type]
        return self._columns

    def __len__(self) -> int:
        if self._view is not None:
            return int(self._view.pgresult.nfields)
        return len(self._columns)

    @overload
    def __getitem__(self, index: int) -> Column: ...

    @overload
    def __getitem__(self, index: slice) -> list[Column]: ...

    def __getitem__(self, index: int | slice) -> Column | list[Column]:
        return self._built()[index]

    def __iter__(self) -> Iterator[Column]:
        return iter(self._built())

    def __repr__(self) -> str:
        return repr(self._built())


class LazilyDescribedCursor(Cursor[Any]):
    """`psycopg.Cursor` whose `description` is a `LazyDescription` when there are columns."""

    @property
    def description(self) -> list[Column] | None:
        result = self.pgresult
        if result is None or not result.nfields:
            return super().description  # no columns: psycopg's own rules
        return LazyDescription(self, result)  # type: ignore[return-value]
