"""The two decorators every resource view uses: a paginated list, or one row.

A view returns a `Select` not yet run; the decorator applies the endpoint's query
declaration, checks what the includes reach, runs the statements and serialises.
A list is paged by `page` (with a total) or by `cursor` (keyset, no total), or
streamed whole as CSV or NDJSON.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import lru_cache, wraps
from typing import Any

from flask import current_app, g, request
from sqlalchemy import Connection, Select, Table
from sqlalchemy.engine import Row
from sqlalchemy.sql.elements import ColumnElement

from eventio.api import export, formats
from eventio.api.declaration import declare
from eventio.api.one_row import OneRowPlans
from eventio.auth.guard import caller, event_access, require_areas
from eventio.db.reads import reads
from eventio.http import public_url
from eventio.http.errors import ApiError
from eventio.http.responses import json_response
from eventio.querybuilder import PageRequest, QueryParams, QuerySpec, envelope, fetch_page
from eventio.querybuilder.builder import BuiltQuery
from eventio.querybuilder.cursor import CursorCodec, fetch_cursor_page
from eventio.querybuilder.exceptions import InvalidIncludeQuery
from eventio.querybuilder.includes import (
    IncludeTree,
    Scope,
    TooManyIncludedRows,
    attach_joined,
    count_key,
    load,
    relations,
)
from eventio.querybuilder.pagination import cursor_envelope
from eventio.querybuilder.params import GRAMMAR, refuse_near_misses
from eventio.querybuilder.resource import Relation

StatementView = Callable[..., Select[Any]]
# Query parameters that do not change which rows match (so not the count).
NOT_COUNTED = frozenset({"page", "per_page", "sort", "include", "cursor", "format", "bom"})
# What of the query grammar one row takes.
ONE_ROW_GRAMMAR = frozenset({"include", "fields"})
# The list endpoint a client pages through instead of a too large include, by the
# included rows' type (`{event_id}` filled in when the path names the event).
LIST_ENDPOINTS = {
    "bookings": "/event/{event_id}/bookings",
    "tickets": "/event/{event_id}/tickets",
    "groups": "/event/{event_id}/groups",
    "booking_tickets": "/event/{event_id}/bookings/{{booking_id}}/tickets",
    "event_users": "/event/{event_id}/users",
    "event_role_permissions": "/event/{event_id}/roles/{{role_id}}",
}


def within_path_event(relation: Relation) -> Sequence[ColumnElement[bool]]:
    """Included rows never reach beyond the event in the path."""
    access = event_access()
    table = relation.target.table
    if access is None or "event_id" not in table.c:
        return ()
    return event_condition(table, access.event_id)


@lru_cache(maxsize=4096)
def event_condition(table: Table, event_id: int) -> tuple[ColumnElement[bool], ...]:
    """`table.event_id = :event_id`, one object per table and event: a statement that
    reuses it (an include's, a joined include's) finds its cache key already derived."""
    return (table.c.event_id == event_id,)


def authorize_includes(spec: QuerySpec, built: BuiltQuery) -> None:
    """An include (or an include's count) that reaches another area needs that area too."""
    access = event_access()
    if access is None:
        return
    reached = [*relations(spec.resource, built.include_tree), *built.counts]
    areas = dict.fromkeys(r.target.area for r in reached)
    require_areas(access, [a for a in areas if a != spec.resource.area])


def connection() -> Connection:
    """The request's Core connection: rows need no ORM, so skip its execution path."""
    return reads()


def query_pairs() -> list[tuple[str, str]]:
    return list(request.args.items(multi=True))


def present(
    spec: QuerySpec,
    built: BuiltQuery,
    rows: Sequence[Row[Any]],
    scope: Scope,
    on: Connection | None = None,
    joined: IncludeTree | None = None,
    capped: bool = False,
) -> list[dict[str, Any]]:
    """Serialise rows with the sparse fieldset, count includes and includes (fetched `on`
    the given connection, else the request's; the `joined` part of the tree is read from
    the rows themselves, see `join_to_one`). A `capped` answer refuses a to-many include
    past MAX_INCLUDED_ROWS with a 422 naming the list to page through."""
    cap = included_rows_cap() if capped else None
    try:
        return _present(spec, built, rows, scope, on, joined, cap)
    except TooManyIncludedRows as error:
        raise InvalidIncludeQuery.too_many_rows(
            error.path, error.cap, list_endpoint(error.relation.target.type)
        ) from None


def included_rows_cap() -> int | None:
    cap = current_app.config["MAX_INCLUDED_ROWS"]
    return int(cap) if cap and cap > 0 else None


def list_endpoint(included_type: str) -> str:
    """Where the rows of a too large include can be paged through."""
    access = event_access()
    template = LIST_ENDPOINTS.get(included_type)
    if template is None:
        return f"the list of `{included_type}`"
    event_id = str(access.event_id) if access is not None else "{event_id}"
    return request.script_root + "/api/v2" + template.format(event_id=event_id)


def _present(
    spec: QuerySpec,
    built: BuiltQuery,
    rows: Sequence[Row[Any]],
    scope: Scope,
    on: Connection | None,
    joined: IncludeTree | None,
    cap: int | None,
) -> list[dict[str, Any]]:
    resource = spec.resource
    serialize = resource.serializer(built.fields.get(resource.type))
    items = [serialize(row) for row in rows]
    if built.counts:
        first = len(resource.keys)
        keys = [count_key(relation.name) for relation in built.counts]
        for row, item in zip(rows, items, strict=True):
            for offset, key in enumerate(keys):
                item[key] = row[first + offset]
    if built.include_tree and rows:
        session = on or connection()
        rest = built.include_tree
        if joined:
            for item in items:  # the keys in the order the client named the includes
                item.update(dict.fromkeys(rest))
            offset = len(resource.keys) + len(built.counts)
            attach_joined(
                session, resource, rows, items, joined, rest, offset, scope, built.fields, cap=cap
            )
            rest = {name: tree_ for name, tree_ in rest.items() if name not in joined}
        if rest:
            load(session, resource, rows, items, rest, scope, built.fields, cap=cap)
    return items


def cursor_codec() -> CursorCodec:
    """Cursors of this endpoint (its route, whatever the ids in the path)."""
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    return CursorCodec(current_app.config["SECRET_KEY"].encode(), context=rule)


def counted_query(params: QueryParams) -> tuple[Any, ...]:
    """What decides which rows match, as the query was read: the parsed filters (a
    repeated `filter[x]` is its last value) and every other parameter's last value, as
    `flag` reads `include_cancelled`. Never the raw pairs: sorting those would make
    `a&b` and `b&a` one key though they match different rows."""
    others = {k: v for k, v in query_pairs() if k.split("[", 1)[0] not in GRAMMAR}
    return (
        tuple(sorted(params.filters.items())),
        tuple(sorted((k, v) for k, v in others.items() if k not in NOT_COUNTED)),
    )


def cached_count(params: QueryParams) -> Callable[[Select[Any]], int]:
    """Large totals are reused for COUNT_CACHE_TTL seconds, so deep paging of a big
    event does not recount on every page; small ones are always exact."""

    def count(statement: Select[Any]) -> int:
        identity = repr((caller().user_id, request.path, counted_query(params))).encode()
        return count_once(statement, "eventio:count:v2:" + hashlib.sha256(identity).hexdigest())

    return count


def count_once(statement: Select[Any], key: str) -> int:
    config = current_app.config
    cache = current_app.extensions["eventio.cache"]
    total = cache.get(key)
    if isinstance(total, int):
        g.count_cache = "hit"
        return total
    total = int(connection().execute(statement).scalar_one())
    if total >= config["COUNT_CACHE_MIN_ROWS"] and config["COUNT_CACHE_TTL"] > 0:
        cache.set(key, total, config["COUNT_CACHE_TTL"])
    return total


def paginated(
    spec: QuerySpec, scope: Scope = within_path_event
) -> Callable[[StatementView], Callable[..., Any]]:
    """Serve the view's statement as a filtered, sorted, paginated list with includes."""

    def decorator(view: StatementView) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            pairs = query_pairs()
            params = QueryParams.parse(pairs)
            built = spec.build(params)
            export_format = export.requested_format()
            authorize_includes(spec, built)
            statement = built.apply(view(*args, **kwargs), spec.resource, scope)
            if export_format is not None:
                return export.stream(export_format, spec, built, statement, scope)
            config = current_app.config
            page = PageRequest.of(
                params.page, params.per_page, config["DEFAULT_PER_PAGE"], config["MAX_PER_PAGE"]
            )
            path = public_url.base_url()
            if params.cursor is not None:
                keyset = fetch_cursor_page(
                    connection(),
                    statement,
                    built,
                    cursor_codec(),
                    params.cursor,
                    page.per_page,
                )
                items = present(spec, built, keyset.rows, scope, capped=True)
                return json_response(
                    cursor_envelope(
                        items, keyset.next_cursor, keyset.prev_cursor, page.per_page, path, pairs
                    )
                )
            rows, total = fetch_page(connection(), statement, page, count=cached_count(params))
            items = present(spec, built, rows, scope, capped=True)
            return json_response(envelope(items, total, page, path, pairs))

        declare(wrapper, query=spec, listing="paginated")
        return wrapper

    return decorator


def single(spec: QuerySpec, label: str) -> Callable[[StatementView], Callable[..., Any]]:
    """Serve the one row of the view's statement, with the list endpoint's includes."""

    def decorator(view: StatementView) -> Callable[..., Any]:
        plans = OneRowPlans(spec, view, within_path_event)

        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            formats.negotiate(formats.JSON_ONLY)  # one row has no CSV: a 406, not JSON
            pairs = query_pairs()
            refuse_near_misses(pairs, ONE_ROW_GRAMMAR)
            kept = [(k, v) for k, v in pairs if k == "include" or k.startswith("fields")]
            plan, values = plans.plan(args, kwargs, kept, event_access())
            authorize_includes(spec, plan.built)
            # One row by its key: the same plan for any event, so it is prepared.
            row = connection().execute(plan.statement, values).first()
            if row is None:
                raise ApiError.not_found(f"{label} not found.")
            items = present(
                spec, plan.built, [row], within_path_event, joined=plan.joined, capped=True
            )
            return json_response({"data": items[0]})

        declare(wrapper, query=spec, listing="single")
        return wrapper

    return decorator
