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
    InvalidSortQuery,
)

FILTER_KEY = re.compile(r"filter\[([^\[\]]+)\]")
GRAMMAR = frozenset({"filter", "fields", "sort", "include", "page", "per_page", "cursor"})
FIELDS_KEY = re.compile(r"fields\[([^\[\]]+)\]")
WHOLE_NUMBER = re.compile(r"[0-9]{1,19}")
# Pages past this are refused: the offset must stay a 64-bit integer at any page size.
MAX_PAGE = 2**31 - 1
MAX_PER_PAGE_REQUESTED = 2**31 - 1
# One query parameter value; anything longer is not a filter a person or tool writes.
MAX_VALUE_LENGTH = 1000


def whole_number(value: str, key: str, minimum: int, maximum: int) -> int:
    if not WHOLE_NUMBER.fullmatch(value) or not minimum <= int(value) <= maximum:
        raise InvalidPaginationQuery.not_a_whole_number(key, minimum, maximum)
    return int(value)


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
    def parse(cls, pairs: Iterable[tuple[str, str]]) -> QueryParams:
        """Read `filter[x]`, `sort`, `include`, `page` and `per_page`; ignore other keys.

        A repeated key keeps its last value, as PHP does.
        """
        filters: dict[str, str] = {}
        fields: dict[str, tuple[str, ...]] = {}
        sort = include = page = per_page = cursor = None
        for key, value in pairs:
            name = key.split("[", 1)[0]
            if name not in GRAMMAR:
                continue
            if len(value) > MAX_VALUE_LENGTH:
                raise InvalidParameterQuery(
                    f"The query parameter `{name}` is longer than {MAX_VALUE_LENGTH} characters.",
                    key=name,
                )
            if name == "filter":
                match = FILTER_KEY.fullmatch(key)
                if match is None:
                    raise InvalidFilterQuery.malformed(key)
                filters[match.group(1)] = value
            elif name == "fields":
                match = FIELDS_KEY.fullmatch(key)
                if key != "fields" and match is None:
                    raise InvalidParameterQuery.malformed(key, "`fields[type]=a,b`")
                # Bare `fields=a,b` is the endpoint's own resource, as in Spatie.
                fields[match.group(1) if match else ""] = cls._fields(key, value)
            elif key != name:
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
            sorts=cls._sorts(sort),
            includes=cls._includes(include),
            page=1 if page is None else whole_number(page, "page", 1, MAX_PAGE),
            per_page=(
                None
                if per_page is None
                else whole_number(per_page, "per_page", 1, MAX_PER_PAGE_REQUESTED)
            ),
        )

    @staticmethod
    def _sorts(value: str | None) -> tuple[str, ...]:
        if not value:
            return ()
        parts = _split(value)
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
    def _includes(value: str | None) -> tuple[str, ...]:
        if not value:
            return ()
        parts = _split(value)
        malformed = [p for p in parts if not p or any(not seg for seg in p.split("."))]
        if malformed:
            raise InvalidIncludeQuery(
                f"Requested include(s) `{', '.join(malformed) or value}` are not allowed: "
                "an include is a relation name, nested with dots (`a.b`)."
            )
        return tuple(dict.fromkeys(parts))
