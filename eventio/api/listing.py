"""The two decorators every resource view uses: a paginated list, or one row.

A view returns a `Select` not yet run; the decorator applies the endpoint's query
declaration, checks what the includes reach, runs the statements and serialises.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from flask import current_app, request
from sqlalchemy import Select
from sqlalchemy.sql.elements import ColumnElement

from eventio.auth.guard import event_access, require_areas
from eventio.errors import ApiError
from eventio.extensions import db
from eventio.querybuilder import PageRequest, QueryParams, QuerySpec, envelope, fetch_page
from eventio.querybuilder.includes import IncludeTree, Scope, load, relations
from eventio.querybuilder.resource import Relation
from eventio.responses import json_response

StatementView = Callable[..., Select[Any]]


def within_path_event(relation: Relation) -> Sequence[ColumnElement[bool]]:
    """Included rows never reach beyond the event in the path."""
    access = event_access()
    table = relation.target.table
    if access is None or "event_id" not in table.c:
        return ()
    return (table.c.event_id == access.event_id,)


def authorize_includes(spec: QuerySpec, include_tree: IncludeTree) -> None:
    """An include that reaches another permission area needs that area too."""
    access = event_access()
    if access is None:
        return
    areas = dict.fromkeys(r.target.area for r in relations(spec.resource, include_tree))
    require_areas(access, [a for a in areas if a != spec.resource.area])


def query_pairs() -> list[tuple[str, str]]:
    return list(request.args.items(multi=True))


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
            authorize_includes(spec, built.include_tree)
            statement = built.apply(view(*args, **kwargs))
            config = current_app.config
            page = PageRequest.of(
                params.page, params.per_page, config["DEFAULT_PER_PAGE"], config["MAX_PER_PAGE"]
            )
            rows, total = fetch_page(db.session, statement, page)
            serialize = spec.resource.serialize
            items = [serialize(row) for row in rows]
            if built.include_tree and rows:
                load(db.session, spec.resource, rows, items, built.include_tree, scope)
            return json_response(envelope(items, total, page, request.base_url, pairs))

        wrapper.query_spec = spec  # type: ignore[attr-defined]
        wrapper.listing = "paginated"  # type: ignore[attr-defined]
        return wrapper

    return decorator


def single(spec: QuerySpec, label: str) -> Callable[[StatementView], Callable[..., Any]]:
    """Serve the one row of the view's statement, with the list endpoint's includes."""

    def decorator(view: StatementView) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            includes = [(k, v) for k, v in query_pairs() if k == "include"]
            built = spec.build(QueryParams.parse(includes))
            authorize_includes(spec, built.include_tree)
            row = db.session.execute(view(*args, **kwargs).limit(1)).first()
            if row is None:
                raise ApiError.not_found(f"{label} not found.")
            item = spec.resource.serialize(row)
            if built.include_tree:
                load(
                    db.session, spec.resource, [row], [item], built.include_tree, within_path_event
                )
            return json_response({"data": item})

        wrapper.query_spec = spec  # type: ignore[attr-defined]
        wrapper.listing = "single"  # type: ignore[attr-defined]
        return wrapper

    return decorator
