"""One exception per kind of invalid query, each naming what was asked and what is allowed."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence


def _list(names: Iterable[str]) -> str:
    return ", ".join(names)


def _shown(value: str, limit: int = 50) -> str:
    return value if len(value) <= limit else value[:limit] + "…"


def closest(value: str, choices: Sequence[str]) -> str | None:
    """The choice `value` most likely meant: the same but for case, else a close spelling."""
    for choice in choices:
        if choice.lower() == value.lower():
            return choice
    found = difflib.get_close_matches(value.lower(), choices, n=1, cutoff=0.6)
    return found[0] if found else None


class InvalidQuery(Exception):
    """A query string the endpoint cannot serve; `key` is the `errors` key of the 422."""

    key = "query"

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if key is not None:
            self.key = key

    @classmethod
    def too_many_items(cls, field: str, maximum: int, key: str | None = None) -> InvalidQuery:
        """Laravel's `max` rule on an array: a list, or a set of keys, past its cap."""
        return cls(f"The {field} field must not have more than {maximum} items.", key=key)


class InvalidFilterQuery(InvalidQuery):
    key = "filter"

    @classmethod
    def filters_not_allowed(
        cls, unknown: Iterable[str], allowed: Iterable[str]
    ) -> InvalidFilterQuery:
        return cls(
            f"Requested filter(s) `{_list(unknown)}` are not allowed. "
            f"Allowed filter(s) are `{_list(allowed)}`."
        )

    @classmethod
    def invalid_value(cls, name: str, value: str, expected: str) -> InvalidFilterQuery:
        return cls(f"The filter `{name}` must be {expected}; `{_shown(value)}` is not.")

    @classmethod
    def not_a_choice(
        cls, name: str, outside: Sequence[str], choices: Sequence[str]
    ) -> InvalidFilterQuery:
        """A value outside a closed set, with the allowed values and the likeliest meant."""
        first = outside[0]
        meant = closest(first, choices)
        hint = f" Did you mean `{meant}`?" if meant is not None else ""
        return cls(
            f"The filter `{name}` must be one of `{_list(choices)}`; "
            f"`{_shown(first)}` is not.{hint}"
        )

    @classmethod
    def malformed(cls, key: str) -> InvalidFilterQuery:
        return cls(
            f"The query parameter `{key}` is not a filter; "
            "filters are written `filter[name]=value`."
        )


class InvalidSortQuery(InvalidQuery):
    key = "sort"

    @classmethod
    def sorts_not_allowed(cls, unknown: Iterable[str], allowed: Iterable[str]) -> InvalidSortQuery:
        return cls(
            f"Requested sort(s) `{_list(unknown)}` is not allowed. "
            f"Allowed sort(s) are `{_list(allowed)}`."
        )

    @classmethod
    def empty_field(cls, value: str) -> InvalidSortQuery:
        return cls(f"The sort `{value}` holds an empty field; write `sort=a,-b`.")


class InvalidIncludeQuery(InvalidQuery):
    key = "include"

    @classmethod
    def too_many_rows(cls, path: str, cap: int, endpoint: str) -> InvalidIncludeQuery:
        """An include past MAX_INCLUDED_ROWS: never cut short, the client pages instead."""
        return cls(
            f"`include={path}` would carry more than {cap} rows; page through {endpoint} instead."
        )

    @classmethod
    def includes_not_allowed(
        cls, unknown: Iterable[str], allowed: Iterable[str]
    ) -> InvalidIncludeQuery:
        return cls(
            f"Requested include(s) `{_list(unknown)}` are not allowed. "
            f"Allowed include(s) are `{_list(allowed)}`."
        )

    @classmethod
    def too_deep(cls, includes: Iterable[str], max_depth: int) -> InvalidIncludeQuery:
        return cls(
            f"Requested include(s) `{_list(includes)}` are nested too deep: "
            f"an include may be at most {max_depth} relations deep (`a.b.c`)."
        )


class InvalidPaginationQuery(InvalidQuery):
    @classmethod
    def not_a_whole_number(cls, key: str, minimum: int, maximum: int) -> InvalidPaginationQuery:
        return cls(
            f"The {key} field must be a whole number between {minimum} and {maximum}.", key=key
        )


class InvalidParameterQuery(InvalidQuery):
    """A query parameter of the grammar written in a shape it does not take."""

    @classmethod
    def malformed(cls, key: str, expected: str) -> InvalidParameterQuery:
        name = key.split("[", 1)[0]
        return cls(f"The query parameter `{key}` must be written {expected}.", key=name)

    @classmethod
    def near_miss(cls, key: str, meant: str) -> InvalidParameterQuery:
        """A misspelling of the grammar's own parameters, named with what was meant; the
        `errors` key is the name as sent, before any `[`, as for a malformed key."""
        name = _shown(key.split("[", 1)[0])
        return cls(f"Unknown parameter `{_shown(key)}`: did you mean `{meant}`?", key=name)

    @classmethod
    def too_long(cls, name: str, maximum: int) -> InvalidParameterQuery:
        return cls(f"The query parameter `{name}` is longer than {maximum} characters.", key=name)


class InvalidFieldQuery(InvalidQuery):
    key = "fields"

    @classmethod
    def fields_not_allowed(
        cls, unknown: Iterable[str], allowed: Iterable[str]
    ) -> InvalidFieldQuery:
        return cls(
            f"Requested field(s) `{_list(unknown)}` are not allowed. "
            f"Allowed field(s) are `{_list(allowed)}`."
        )


class InvalidCursorQuery(InvalidQuery):
    key = "cursor"

    @classmethod
    def malformed(cls) -> InvalidCursorQuery:
        return cls("The cursor is not one this API issued; start again without `cursor`.")

    @classmethod
    def stale(cls) -> InvalidCursorQuery:
        return cls(
            "The cursor was issued for another sort; start again without `cursor` "
            "or keep the sort it was issued for."
        )
