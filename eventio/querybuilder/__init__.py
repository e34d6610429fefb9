"""Spatie-style query building for SQLAlchemy: filters, sorts, includes, pagination.

Pure: it knows SQLAlchemy, never Flask. It takes parsed query parameters and a `Select`
and returns a `Select`; the loaders take a session or connection passed in.
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
from eventio.querybuilder.pagination import PageRequest, envelope, fetch_page
from eventio.querybuilder.params import QueryParams
from eventio.querybuilder.resource import Relation, Resource
from eventio.querybuilder.sorts import AllowedSort

__all__ = [
    "AllowedFilter",
    "AllowedSort",
    "BuiltQuery",
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
    "envelope",
    "fetch_page",
]
