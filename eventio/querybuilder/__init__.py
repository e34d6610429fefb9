"""Spatie-style query building for SQLAlchemy: filters, sorts, includes, pagination.

Pure: it knows SQLAlchemy, never Flask. It takes parsed query parameters and a `Select`
and returns a `Select`; an include plan (made from the caller's `IncludeScope`, plain
data) serialises rows, its statements run on a session or connection passed in.
"""

from eventio.querybuilder.builder import BuiltQuery, QuerySpec
from eventio.querybuilder.exceptions import (
    InvalidFilterQuery,
    InvalidIncludeQuery,
    InvalidPaginationQuery,
    InvalidParameterQuery,
    InvalidQuery,
    InvalidSortQuery,
)
from eventio.querybuilder.filters import AllowedFilter
from eventio.querybuilder.includes import IncludePlan, plan_includes
from eventio.querybuilder.pagination import PageRequest, envelope, fetch_page
from eventio.querybuilder.params import QueryParams
from eventio.querybuilder.resource import Relation, Resource
from eventio.querybuilder.scope import IncludeScope, ScopeRule
from eventio.querybuilder.sorts import AllowedSort

__all__ = [
    "AllowedFilter",
    "AllowedSort",
    "BuiltQuery",
    "IncludePlan",
    "IncludeScope",
    "InvalidFilterQuery",
    "InvalidIncludeQuery",
    "InvalidPaginationQuery",
    "InvalidParameterQuery",
    "InvalidQuery",
    "InvalidSortQuery",
    "PageRequest",
    "QueryParams",
    "QuerySpec",
    "Relation",
    "Resource",
    "ScopeRule",
    "envelope",
    "fetch_page",
    "plan_includes",
]
