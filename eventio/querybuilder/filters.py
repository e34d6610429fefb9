"""Filter strategies: exact, partial, boolean, since; and the declaration that names them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import or_
from sqlalchemy.sql.elements import ColumnElement

from eventio.querybuilder.comparison import comparable, comparable_value, is_timestamp
from eventio.querybuilder.values import parse_bool, parse_datetime, parser_for

Criterion = ColumnElement[bool]


class FilterStrategy(Protocol):
    def __call__(self, column: ColumnElement[Any], value: str) -> Criterion: ...


def _values(value: str) -> list[str]:
    """A comma list matches any of its items, as Spatie splits filter values on commas."""
    return [item for item in (part.strip() for part in value.split(",")) if item != ""]


def is_empty(value: str) -> bool:
    return not _values(value)


def escape_like(text: str, escape: str = "\\") -> str:
    """Make `%` and `_` (and the escape itself) literal in a LIKE pattern."""
    return text.replace(escape, escape * 2).replace("%", escape + "%").replace("_", escape + "_")


class FiltersExact:
    """`column = value`, or `column IN (…)` for a comma list; values typed by the column."""

    def __call__(self, column: ColumnElement[Any], value: str) -> Criterion:
        parse = parser_for(column)
        values = [parse(item) for item in _values(value)]
        if is_timestamp(column):
            compared = comparable(column)
            matches: list[Criterion] = [compared == comparable_value(column, v) for v in values]
            return or_(*matches)
        if len(values) == 1:
            equal: Criterion = column == values[0]
            return equal
        return column.in_(values)


class FiltersPartial:
    """Case-insensitive substring; `%` and `_` are literal characters (on SQLite, whose
    lower() folds only ASCII, `eventio.db.dialects` makes it fold any script)."""

    def __call__(self, column: ColumnElement[Any], value: str) -> Criterion:
        patterns = [f"%{escape_like(item)}%" for item in _values(value)]
        clauses = [column.ilike(pattern, escape="\\") for pattern in patterns]
        return clauses[0] if len(clauses) == 1 else or_(*clauses)


class FiltersBoolean:
    """`true` / `false` / `1` / `0`."""

    def __call__(self, column: ColumnElement[Any], value: str) -> Criterion:
        return column == parse_bool(value.strip())


class FiltersSince:
    """`column >= value` for an ISO 8601 date or date-time (inclusive)."""

    def __call__(self, column: ColumnElement[Any], value: str) -> Criterion:
        instant = parse_datetime(value.strip())
        since: Criterion = comparable(column) >= comparable_value(column, instant)
        return since


@dataclass(frozen=True)
class AllowedFilter:
    """A filter a client may use: its public name, the column it reads, its strategy.

    `choices` closes the set of values (a booking's `status`): any other value, or any
    item of a comma list outside it, is refused rather than matching nothing. Compared
    exactly, case included, as the stored values are.
    """

    name: str
    internal_name: str
    strategy: FilterStrategy
    description: str = ""
    choices: tuple[str, ...] | None = None

    @classmethod
    def exact(
        cls,
        name: str,
        internal_name: str | None = None,
        *,
        choices: tuple[str, ...] | None = None,
    ) -> AllowedFilter:
        description = "exact match; a comma list matches any"
        return cls(name, internal_name or name, FiltersExact(), description, choices)

    @classmethod
    def partial(cls, name: str, internal_name: str | None = None) -> AllowedFilter:
        return cls(name, internal_name or name, FiltersPartial(), "case-insensitive substring")

    @classmethod
    def boolean(cls, name: str, internal_name: str | None = None) -> AllowedFilter:
        return cls(name, internal_name or name, FiltersBoolean(), "true, false, 1 or 0")

    @classmethod
    def since(cls, name: str, internal_name: str) -> AllowedFilter:
        return cls(name, internal_name, FiltersSince(), "on or after an ISO 8601 date-time")

    def outside_choices(self, value: str) -> list[str]:
        """The items of `value` that are not among `choices` (none when the set is open)."""
        if self.choices is None:
            return []
        return [item for item in _values(value) if item not in self.choices]
