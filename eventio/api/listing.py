"""The two decorators every resource view uses: a paginated list, or one row.

A view returns a `Select` not yet run; the decorator applies the endpoint's query
declaration, checks what the includes reach, runs the statements and serialises by the
include plan of the request's shape (made once, kept in the app's `eventio.plans`).
A route under `/event/<id>` calls it with the caller's `EventAccess` first; the
includes' scope is built from that access, as data.
A list is paged by `page` (with a total) or by `cursor` (keyset, no total), or
streamed whole as CSV or NDJSON.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from flask import current_app, request
from sqlalchemy import Connection, Select
from sqlalchemy.engine import Row

from eventio.api import export, formats
from eventio.api.declaration import declare
from eventio.api.one_row import OneRowPlans
from eventio.auth.guard import caller, require_areas
from eventio.auth.permissions import EventAccess
from eventio.db.extensions import db
from eventio.db.reads import reads
from eventio.http import public_url
from eventio.http.errors import ApiError
from eventio.http.responses import json_response
from eventio.http.state import state
from eventio.querybuilder import PageRequest, QueryParams, QuerySpec, envelope, fetch_page
from eventio.querybuilder.builder import BuiltQuery
from eventio.querybuilder.cursor import CursorCodec, fetch_cursor_page
from eventio.querybuilder.exceptions import InvalidIncludeQuery
from eventio.querybuilder.includes import (
    IncludePlan,
    TooManyIncludedRows,
    plan_includes,
    relations,
)
from eventio.querybuilder.pagination import cursor_envelope
from eventio.querybuilder.params import GRAMMAR, refuse_near_misses
from eventio.querybuilder.plan_cache import PlanCache
from eventio.querybuilder.scope import WITHIN_EVENT, IncludeScope, ScopeRule

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
# The include plans of every endpoint, in the app's extensions (see `plans`).
PLANS = "eventio.plans"


class Plans(PlanCache[Any]):
    """The app's include plans (lists and single rows), and its database's dialect."""

    def __init__(self, dialect: str) -> None:
        super().__init__()
        self.dialect = dialect


def plans() -> Plans:
    """The app's plan cache, made on first use."""
    found: Plans | None = current_app.extensions.get(PLANS)
    if found is None:
        found = current_app.extensions.setdefault(PLANS, Plans(db.engine.dialect.name))
    return found


def path_access(args: tuple[Any, ...]) -> EventAccess | None:
    """The `EventAccess` a route under `/event/<id>` passes first; None elsewhere."""
    return args[0] if args and isinstance(args[0], EventAccess) else None


def include_scope(rule: ScopeRule, access: EventAccess | None) -> IncludeScope:
    """The scope of this request's includes, as data: the path's event, and the caller
    with the abilities the rule asks about when it narrows by the caller."""
    event_id = access.event_id if access is not None else None
    if not rule.abilities:
        return IncludeScope(event_id=event_id)
    token = caller()
    held = frozenset(a for a in rule.abilities if token.can(a))
    return IncludeScope(event_id=event_id, user_id=token.user_id, abilities=held)


def authorize_includes(spec: QuerySpec, built: BuiltQuery, access: EventAccess | None) -> None:
    """An include (or an include's count) that reaches another area needs that area too."""
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


def shape_pairs(pairs: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The parameters that shape the includes and the fields (not the rows)."""
    return tuple((k, v) for k, v in pairs if k == "include" or k.startswith("fields"))


def list_plan(
    view: StatementView,
    spec: QuerySpec,
    built: BuiltQuery,
    rule: ScopeRule,
    scope: IncludeScope,
    pairs: list[tuple[str, str]],
) -> IncludePlan:
    """The include plan of a list of this shape: made once, then a dict lookup."""
    kept = plans()

    def build() -> IncludePlan:
        return plan_includes(
            spec.resource,
            built.include_tree,
            rule.bind(scope),
            kept.dialect,
            fields=built.fields,
            counts=built.counts,
        )

    return kept.get(("paginated", view, shape_pairs(pairs), scope), build)


def present(
    plan: IncludePlan,
    rows: Sequence[Row[Any]],
    scope: IncludeScope,
    on: Connection | None = None,
) -> list[dict[str, Any]]:
    """Serialise rows by the plan (includes fetched `on` the given connection, else the
    request's). A to-many include past MAX_INCLUDED_ROWS is refused with a 422 naming
    the list to page through."""
    try:
        if not (rows and plan.loads):
            return plan.serialize(rows)
        return plan.serialize(rows, on or connection(), included_rows_cap())
    except TooManyIncludedRows as error:
        raise InvalidIncludeQuery.too_many_rows(
            error.path, error.cap, list_endpoint(error.relation.target.type, scope.event_id)
        ) from None


def included_rows_cap() -> int | None:
    cap = current_app.config["MAX_INCLUDED_ROWS"]
    return int(cap) if cap and cap > 0 else None


def list_endpoint(included_type: str, event_id: int | None) -> str:
    """Where the rows of a too large include can be paged through."""
    template = LIST_ENDPOINTS.get(included_type)
    if template is None:
        return f"the list of `{included_type}`"
    shown = str(event_id) if event_id is not None else "{event_id}"
    return request.script_root + "/api/v2" + template.format(event_id=shown)


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
        state().count_cache = "hit"
        return total
    total = int(connection().execute(statement).scalar_one())
    if total >= config["COUNT_CACHE_MIN_ROWS"] and config["COUNT_CACHE_TTL"] > 0:
        cache.set(key, total, config["COUNT_CACHE_TTL"])
    return total


def paginated(
    spec: QuerySpec, scope: ScopeRule = WITHIN_EVENT
) -> Callable[[StatementView], Callable[..., Any]]:
    """Serve the view's statement as a filtered, sorted, paginated list with includes
    (narrowed by the `scope` rule: by default, within the path's event)."""

    def decorator(view: StatementView) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            pairs = query_pairs()
            params = QueryParams.parse(pairs)
            built = spec.build(params)
            export_format = export.requested_format()
            access = path_access(args)
            authorize_includes(spec, built, access)
            scoped = include_scope(scope, access)
            plan = list_plan(view, spec, built, scope, scoped, pairs)
            statement = built.apply(view(*args, **kwargs), spec.resource, plan.conditions)
            if export_format is not None:
                return export.stream(export_format, spec, built, statement, plan, scoped)
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
                items = present(plan, keyset.rows, scoped)
                return json_response(
                    cursor_envelope(
                        items, keyset.next_cursor, keyset.prev_cursor, page.per_page, path, pairs
                    )
                )
            rows, total = fetch_page(connection(), statement, page, count=cached_count(params))
            items = present(plan, rows, scoped)
            return json_response(envelope(items, total, page, path, pairs))

        declare(wrapper, query=spec, listing="paginated")
        return wrapper

    return decorator


def single(
    spec: QuerySpec, label: str, scope: ScopeRule = WITHIN_EVENT
) -> Callable[[StatementView], Callable[..., Any]]:
    """Serve the one row of the view's statement, with the list endpoint's includes."""

    def decorator(view: StatementView) -> Callable[..., Any]:
        one_row_plans = OneRowPlans(spec, view, scope)

        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            formats.negotiate(formats.JSON_ONLY)  # one row has no CSV: a 406, not JSON
            pairs = query_pairs()
            refuse_near_misses(pairs, ONE_ROW_GRAMMAR)
            access = path_access(args)
            scoped = include_scope(scope, access)
            kept = plans()
            plan, values = one_row_plans.plan(
                args, kwargs, shape_pairs(pairs), scoped, kept, kept.dialect
            )
            authorize_includes(spec, plan.built, access)
            # One row by its key: the same plan for any event, so it is prepared.
            row = connection().execute(plan.statement, values).first()
            if row is None:
                raise ApiError.not_found(f"{label} not found.")
            return json_response({"data": present(plan.includes, [row], scoped)[0]})

        declare(wrapper, query=spec, listing="single")
        return wrapper

    return decorator
