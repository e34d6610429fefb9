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
from sqlalchemy.sql.elements import ColumnElement

from eventio.querybuilder import includes as include_paths
from eventio.querybuilder.exceptions import (
    InvalidFieldQuery,
    InvalidFilterQuery,
    InvalidIncludeQuery,
    InvalidSortQuery,
)
from eventio.querybuilder.filters import AllowedFilter, is_empty
from eventio.querybuilder.includes import IncludeTree, count_column
from eventio.querybuilder.ordering import OrderKey
from eventio.querybuilder.params import QueryParams
from eventio.querybuilder.resource import Relation, Resource
from eventio.querybuilder.scope import Scope
from eventio.querybuilder.sorts import AllowedSort, RequestedSort, split_direction
from eventio.querybuilder.values import ValueParseError

COUNT_SUFFIX = "Count"


@dataclass(frozen=True)
class BuiltQuery:
    criteria: list[ColumnElement[bool]]
    order: list[OrderKey]
    sorts: list[RequestedSort]
    include_tree: IncludeTree
    counts: list[Relation] = field(default_factory=list)
    fields: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def ordering(self) -> list[Any]:
        return [key.clause() for key in self.order]

    @property
    def sort_signature(self) -> str:
        """What a cursor must have been issued for: `-created_at,id`."""
        return ",".join(key.signature for key in self.order)

    def apply(self, statement: Select[Any], resource: Resource, scope: Scope) -> Select[Any]:
        """Filters, count includes (as extra trailing columns), then the ordering."""
        counted = [count_column(relation, resource, scope) for relation in self.counts]
        if counted:
            statement = statement.add_columns(*counted)
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
        for name in [*(f.internal_name for f in self.filters), *(s.internal_name for s in sorts)]:
            self.resource.column(name)

    @property
    def filter_names(self) -> list[str]:
        return [f.name for f in self.filters]

    @property
    def sort_names(self) -> list[str]:
        return [s.name for s in self.allowed_sorts]

    @property
    def count_includes(self) -> list[str]:
        """`ticketsCount` for each allowed top-level relation that holds many rows."""
        return [
            name + COUNT_SUFFIX
            for name in self.allowed_includes
            if "." not in name and self.resource.relations[name].many
        ]

    def build(self, params: QueryParams) -> BuiltQuery:
        """Check `params` against the declaration; raise an `InvalidQuery` naming the problem."""
        sorts = self._sorts(params)
        include_tree, counts = self._includes(params)
        return BuiltQuery(
            criteria=self._criteria(params),
            order=self._order(sorts),
            sorts=sorts,
            include_tree=include_tree,
            counts=counts,
            fields=self._fields(params),
        )

    def _criteria(self, params: QueryParams) -> list[ColumnElement[bool]]:
        allowed = {f.name: f for f in self.filters}
        unknown = [name for name in params.filters if name not in allowed]
        if unknown:
            raise InvalidFilterQuery.filters_not_allowed(unknown, self.filter_names)
        criteria = []
        for name, value in params.filters.items():
            if is_empty(value):
                continue  # An empty filter value (or only commas) is no filter, as in Spatie.
            declared = allowed[name]
            outside = declared.outside_choices(value)
            if outside:
                raise InvalidFilterQuery.not_a_choice(name, outside, declared.choices or ())
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

    def _order(self, sorts: list[RequestedSort]) -> list[OrderKey]:
        order = []
        seen = set()
        for requested in sorts:
            name = requested.sort.internal_name
            if name in seen:
                continue
            seen.add(name)
            column = self.resource.column(name)
            order.append(OrderKey(requested.sort.name, column, requested.descending))
        # `id` last keeps page boundaries stable whatever the sort.
        if "id" not in seen:
            order.append(OrderKey("id", self.resource.table.c.id, False))
        return order

    def _includes(self, params: QueryParams) -> tuple[IncludeTree, list[Relation]]:
        counts = [name for name in params.includes if name in self.count_includes]
        paths = [name for name in params.includes if name not in counts]
        unknown = [name for name in paths if name not in self.allowed_includes]
        if unknown:
            if not self.allowed_includes:
                raise InvalidIncludeQuery(
                    f"Requested include(s) `{', '.join(unknown)}` are not allowed. "
                    "This endpoint allows no includes."
                )
            raise InvalidIncludeQuery.includes_not_allowed(
                unknown, [*self.allowed_includes, *self.count_includes]
            )
        relations = [self.resource.relations[name.removesuffix(COUNT_SUFFIX)] for name in counts]
        return include_paths.tree(paths), relations

    def _fields(self, params: QueryParams) -> dict[str, frozenset[str]]:
        """Sparse fieldsets by resource type: this resource's and its includes'."""
        if not params.fields:
            return {}
        types = {self.resource.type: self.resource}
        reachable = include_paths.tree(self.allowed_includes)
        for relation in include_paths.relations(self.resource, reachable):
            types.setdefault(relation.target.type, relation.target)
        requested = {(t or self.resource.type): names for t, names in params.fields.items()}
        unknown_types = [t for t in requested if t not in types]
        if unknown_types:
            raise InvalidFieldQuery(
                f"Requested field type(s) `{', '.join(unknown_types)}` are not allowed. "
                f"Allowed type(s) are `{', '.join(types)}`."
            )
        chosen = {}
        for type_name, names in requested.items():
            allowed = types[type_name].field_names
            unknown = [n for n in names if n not in allowed]
            if unknown:
                raise InvalidFieldQuery.fields_not_allowed(
                    [f"{type_name}.{n}" for n in unknown], [f"{type_name}.{n}" for n in allowed]
                )
            chosen[type_name] = frozenset(names)
        return chosen
