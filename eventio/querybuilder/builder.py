"""An endpoint's query declaration, and its application to a statement.

Like spatie/laravel-query-builder's `allowedFilters` / `allowedSorts` / `allowedIncludes`,
but a frozen declaration made once per endpoint: `QuerySpec.build(params)` checks a
request's parameters against it and `BuiltQuery.apply(statement)` narrows a `Select`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression

from eventio.querybuilder import includes as include_paths
from eventio.querybuilder.exceptions import (
    InvalidFilterQuery,
    InvalidIncludeQuery,
    InvalidSortQuery,
)
from eventio.querybuilder.filters import AllowedFilter
from eventio.querybuilder.includes import IncludeTree
from eventio.querybuilder.params import QueryParams
from eventio.querybuilder.resource import Resource
from eventio.querybuilder.sorts import AllowedSort, RequestedSort, split_direction
from eventio.querybuilder.values import ValueParseError


@dataclass(frozen=True)
class BuiltQuery:
    criteria: list[ColumnElement[bool]]
    ordering: list[UnaryExpression[Any]]
    sorts: list[RequestedSort]
    include_tree: IncludeTree

    def apply(self, statement: Select[Any]) -> Select[Any]:
        return statement.where(*self.criteria).order_by(*self.ordering)


@dataclass(frozen=True)
class QuerySpec:
    """The filters, sorts and includes one endpoint allows over one resource."""

    resource: Resource
    filters: Sequence[AllowedFilter] = ()
    sorts: Sequence[AllowedSort | str] = ()
    includes: Sequence[str] = ()
    allowed_sorts: tuple[AllowedSort, ...] = field(init=False)
    allowed_includes: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        sorts = tuple(s if isinstance(s, AllowedSort) else AllowedSort.field(s) for s in self.sorts)
        object.__setattr__(self, "allowed_sorts", sorts)
        object.__setattr__(
            self, "allowed_includes", tuple(include_paths.with_parents(self.includes))
        )
        # Declarations are checked when the module loads, not when a client first asks.
        include_paths.check_paths(self.resource, self.allowed_includes)
        for declared in (*self.filters, *sorts):
            self.resource.column(declared.internal_name)

    @property
    def filter_names(self) -> list[str]:
        return [f.name for f in self.filters]

    @property
    def sort_names(self) -> list[str]:
        return [s.name for s in self.allowed_sorts]

    def build(self, params: QueryParams) -> BuiltQuery:
        """Check `params` against the declaration; raise an `InvalidQuery` naming the problem."""
        sorts = self._sorts(params)
        return BuiltQuery(
            criteria=self._criteria(params),
            ordering=self._ordering(sorts),
            sorts=sorts,
            include_tree=self._include_tree(params),
        )

    def _criteria(self, params: QueryParams) -> list[ColumnElement[bool]]:
        allowed = {f.name: f for f in self.filters}
        unknown = [name for name in params.filters if name not in allowed]
        if unknown:
            raise InvalidFilterQuery.filters_not_allowed(unknown, self.filter_names)
        criteria = []
        for name, value in params.filters.items():
            if value.strip() == "":
                continue  # An empty filter value is no filter, as in Spatie.
            declared = allowed[name]
            try:
                criteria.append(
                    declared.strategy(self.resource.column(declared.internal_name), value)
                )
            except ValueParseError as error:
                raise InvalidFilterQuery.invalid_value(name, value, error.expected) from None
        return criteria

    def _sorts(self, params: QueryParams) -> list[RequestedSort]:
        allowed = {s.name: s for s in self.allowed_sorts}
        requested = [split_direction(s) for s in params.sorts]
        unknown = [name for name, _ in requested if name not in allowed]
        if unknown:
            if not allowed:
                raise InvalidSortQuery(
                    f"Requested sort(s) `{', '.join(unknown)}` is not allowed. "
                    "This endpoint allows no sorts."
                )
            raise InvalidSortQuery.sorts_not_allowed(unknown, self.sort_names)
        return [RequestedSort(allowed[name], descending) for name, descending in requested]

    def _ordering(self, sorts: list[RequestedSort]) -> list[UnaryExpression[Any]]:
        ordering = []
        for requested in sorts:
            column = self.resource.column(requested.sort.internal_name)
            ordering.append(column.desc() if requested.descending else column.asc())
        # `id` last keeps page boundaries stable whatever the sort.
        if not any(r.sort.internal_name == "id" for r in sorts):
            ordering.append(self.resource.table.c.id.asc())
        return ordering

    def _include_tree(self, params: QueryParams) -> IncludeTree:
        unknown = [name for name in params.includes if name not in self.allowed_includes]
        if unknown:
            if not self.allowed_includes:
                raise InvalidIncludeQuery(
                    f"Requested include(s) `{', '.join(unknown)}` are not allowed. "
                    "This endpoint allows no includes."
                )
            raise InvalidIncludeQuery.includes_not_allowed(unknown, self.allowed_includes)
        return include_paths.tree(params.includes)
