"""Parse a query string's pairs into the builder's grammar: filters, sorts, includes, pages."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from eventio.querybuilder.exceptions import (
    InvalidFilterQuery,
    InvalidIncludeQuery,
    InvalidPaginationQuery,
    InvalidParameterQuery,
    InvalidQuery,
    InvalidSortQuery,
)

FILTER_KEY = re.compile(r"filter\[([^\[\]]+)\]")
GRAMMAR = frozenset({"filter", "fields", "sort", "include", "page", "per_page", "cursor"})
# The parameters whose value is a comma list of any length.
LISTED = frozenset({"filter", "fields"})
FIELDS_KEY = re.compile(r"fields\[([^\[\]]+)\]")
WHOLE_NUMBER = re.compile(r"[0-9]{1,19}")
# Pages past this are refused: the offset must stay a 64-bit integer at any page size.
MAX_PAGE = 2**31 - 1
MAX_PER_PAGE_REQUESTED = 2**31 - 1
# One query parameter value; anything longer is not a filter a person or tool writes.
MAX_VALUE_LENGTH = 1000
# Misspellings of the grammar's names, by their normal form (see `normal_form`), with the
# name meant: refused with a 422 saying so, where other unknown names are ignored. None
# is a name a route accepts (`include_cancelled`, `no-cache`, `format`…; tests check it).
NEAR_MISSES = {
    "filter": "filter",  # `Filter[status]`
    "filters": "filter",
    "sort": "sort",
    "sorts": "sort",
    "sortby": "sort",
    "orderby": "sort",
    "order": "sort",
    "include": "include",
    "includes": "include",
    "field": "fields",
    "fields": "fields",
    "page": "page",
    "pagenumber": "page",
    "perpage": "per_page",
    "pagesize": "per_page",
    "limit": "per_page",
    "cursor": "cursor",
}
# JSON:API's page parameters, written `page[…]`.
BRACKETED_NEAR_MISSES = {
    "page[size]": "per_page",
    "page[limit]": "per_page",
    "page[number]": "page",
    "page[cursor]": "cursor",
}


@dataclass(frozen=True)
class QueryLimits:
    """How much one query may ask for, checked before any endpoint looks at names.

    Each is far above what an endpoint allows (no endpoint has 20 filters or a
    relation 3 deep), so only a hostile or broken client meets them; they bound
    the work of parsing and planning whatever the endpoint. docs/reliability.md
    (section hardening) lists them.
    """

    max_filters: int = 20
    max_sorts: int = 5
    max_includes: int = 10
    max_include_depth: int = 3
    max_value_length: int = MAX_VALUE_LENGTH
    max_list_items: int = 100


LIMITS = QueryLimits()


def whole_number(value: str, key: str, minimum: int, maximum: int) -> int:
    if not WHOLE_NUMBER.fullmatch(value) or not minimum <= int(value) <= maximum:
        raise InvalidPaginationQuery.not_a_whole_number(key, minimum, maximum)
    return int(value)


def normal_form(name: str) -> str:
    """`perPage`, `per-page` and `PER_PAGE` alike: lower case, without `-` and `_`."""
    return name.lower().replace("-", "").replace("_", "")


def meant_parameter(key: str) -> str | None:
    """The grammar's parameter `key` misspells (`filter[status]` for `filters[status]`),
    or None when `key` is the grammar's own or nothing like it."""
    name = key.split("[", 1)[0]
    if name in GRAMMAR:
        return BRACKETED_NEAR_MISSES.get(key)
    meant = NEAR_MISSES.get(normal_form(name))
    if meant is None:
        return None
    # `filters[status]` meant `filter[status]`; `Sort[x]` meant `sort`, which takes no key.
    return meant + key[len(name) :] if meant in LISTED else meant


def refuse_near_misses(pairs: Iterable[tuple[str, str]], meant_among: frozenset[str]) -> None:
    """Refuse a misspelling of the parameters in `meant_among` (one row takes only
    `include` and `fields`, so `includes=` there is a 422 too); ignore other keys."""
    for key, _ in pairs:
        meant = meant_parameter(key)
        if meant is not None and meant.split("[", 1)[0] in meant_among:
            raise InvalidParameterQuery.near_miss(key, meant)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",")]


@dataclass(frozen=True)
class QueryParams:
    """What a client asked for, before any endpoint says what it allows."""

    filters: Mapping[str, str] = field(default_factory=dict)
    sorts: tuple[str, ...] = ()
    includes: tuple[str, ...] = ()
    page: int = 1
    per_page: int | None = None
    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    cursor: str | None = None

    @classmethod
    def parse(cls, pairs: Iterable[tuple[str, str]], limits: QueryLimits = LIMITS) -> QueryParams:
        """Read `filter[x]`, `sort`, `include`, `page` and `per_page`; ignore other keys,
        but refuse a misspelling of those (`perPage`, `filters[x]`) naming what was meant.

        A repeated key keeps its last value, as PHP does. A query past `limits` is refused.
        """
        filters: dict[str, str] = {}
        fields: dict[str, tuple[str, ...]] = {}
        sort = include = page = per_page = cursor = None
        for key, value in pairs:
            name = key.split("[", 1)[0]
            if name not in GRAMMAR:
                meant = meant_parameter(key)
                if meant is not None:
                    raise InvalidParameterQuery.near_miss(key, meant)
                continue
            if len(value) > limits.max_value_length:
                raise InvalidParameterQuery.too_long(name, limits.max_value_length)
            # A filter value is a comma list too; `sort` and `include` have lower caps below.
            if name in LISTED and value.count(",") >= limits.max_list_items:
                raise InvalidQuery.too_many_items(key, limits.max_list_items, name)
            if name == "filter":
                match = FILTER_KEY.fullmatch(key)
                if match is None:
                    raise InvalidFilterQuery.malformed(key)
                filters[match.group(1)] = value
                if len(filters) > limits.max_filters:
                    raise InvalidFilterQuery.too_many_items("filter", limits.max_filters)
            elif name == "fields":
                match = FIELDS_KEY.fullmatch(key)
                if key != "fields" and match is None:
                    raise InvalidParameterQuery.malformed(key, "`fields[type]=a,b`")
                # Bare `fields=a,b` is the endpoint's own resource, as in Spatie.
                fields[match.group(1) if match else ""] = cls._fields(key, value)
            elif key != name:
                meant = BRACKETED_NEAR_MISSES.get(key)
                if meant is not None:
                    raise InvalidParameterQuery.near_miss(key, meant)
                raise InvalidParameterQuery.malformed(key, "once, as `name=value`")
            elif key == "sort":
                sort = value
            elif key == "include":
                include = value
            elif key == "page":
                page = value
            elif key == "per_page":
                per_page = value
            elif key == "cursor":
                cursor = value
        return cls(
            filters=filters,
            fields=fields,
            cursor=cursor,
            sorts=cls._sorts(sort, limits),
            includes=cls._includes(include, limits),
            page=1 if page is None else whole_number(page, "page", 1, MAX_PAGE),
            per_page=(
                None
                if per_page is None
                else whole_number(per_page, "per_page", 1, MAX_PER_PAGE_REQUESTED)
            ),
        )

    @staticmethod
    def _sorts(value: str | None, limits: QueryLimits) -> tuple[str, ...]:
        if not value:
            return ()
        parts = _split(value)
        if len(parts) > limits.max_sorts:
            raise InvalidSortQuery.too_many_items("sort", limits.max_sorts)
        if any(part in ("", "-") for part in parts):
            raise InvalidSortQuery.empty_field(value)
        return tuple(parts)

    @staticmethod
    def _fields(key: str, value: str) -> tuple[str, ...]:
        parts = _split(value)
        if any(part == "" for part in parts):
            raise InvalidParameterQuery(
                f"The query parameter `{key}` holds an empty field; write `{key}=a,b`.", "fields"
            )
        return tuple(dict.fromkeys(parts))

    @staticmethod
    def _includes(value: str | None, limits: QueryLimits) -> tuple[str, ...]:
        if not value:
            return ()
        parts = _split(value)
        if len(parts) > limits.max_includes:
            raise InvalidIncludeQuery.too_many_items("include", limits.max_includes)
        too_deep = [p for p in parts if p.count(".") >= limits.max_include_depth]
        if too_deep:
            raise InvalidIncludeQuery.too_deep(too_deep, limits.max_include_depth)
        malformed = [p for p in parts if not p or any(not seg for seg in p.split("."))]
        if malformed:
            raise InvalidIncludeQuery(
                f"Requested include(s) `{', '.join(malformed) or value}` are not allowed: "
                "an include is a relation name, nested with dots (`a.b`)."
            )
        return tuple(dict.fromkeys(parts))
