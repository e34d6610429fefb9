"""The `/api/v2` blueprint: every request on it is authenticated first, and every route is
served through its declaration (eventio/api/declaration.py).

A route's permission areas are those it declares, else its query declaration's resource
area; they and its abilities are read once, when the blueprint is registered (every
module has declared by then, even after its `@bp.get`). At the event in the path, the
caller's access (fetched with the token by `authenticate`) is checked once and handed
to the view as its first argument, in place of `event_id`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from typing import Any

from flask import Blueprint
from flask.sansio.blueprints import BlueprintSetupState
from werkzeug.routing import IntegerConverter

from eventio.api.declaration import ATTRIBUTE, declaration_of
from eventio.auth.guard import authorize_event, require_abilities
from eventio.auth.permissions import ability

# `<id:event_id>` (or any converter): the route is about one event.
EVENT_IN_PATH = re.compile(r"<(?:[^<>:]+:)?event_id>")


class Route:
    """One view as Flask calls it, and what it needs of the caller (read at registration)."""

    def __init__(self, view: Callable[..., Any], at_event: bool) -> None:
        self.view = view
        self.at_event = at_event
        self.areas: tuple[str, ...] = ()
        self.abilities: tuple[str, ...] = ()
        self.served = self.serve_at_event() if at_event else self.serve()

    def resolve(self, _state: BlueprintSetupState | None = None) -> None:
        """Read the view's declaration; the served view carries it with its areas filled."""
        declaration = declaration_of(self.view)
        areas = declaration.areas
        if self.at_event and not areas and declaration.query is not None:
            areas = (declaration.query.resource.area,)
        self.areas = areas
        self.abilities = tuple(dict.fromkeys([*map(ability, areas), *declaration.abilities]))
        # Set whole: the copy `wraps` made may predate a declaration made after the route.
        setattr(self.served, ATTRIBUTE, replace(declaration, areas=areas))

    def serve_at_event(self) -> Callable[..., Any]:
        view = self.view

        @wraps(view)
        def served(event_id: int, **path_ids: Any) -> Any:
            return view(authorize_event(event_id, self.areas, self.abilities), **path_ids)

        return served

    def serve(self) -> Callable[..., Any]:
        view = self.view

        @wraps(view)
        def served(**path_ids: Any) -> Any:
            require_abilities(self.abilities)
            return view(**path_ids)

        return served


class ApiBlueprint(Blueprint):
    """A blueprint whose views are served as `Route`s."""

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Callable[..., Any] | None = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        if view_func is not None:
            route = Route(view_func, at_event=EVENT_IN_PATH.search(rule) is not None)
            self.record_once(route.resolve)
            view_func = route.served
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)


bp = ApiBlueprint("api", __name__, url_prefix="/api/v2")


class IdConverter(IntegerConverter):
    """A positive id that fits a BIGINT; anything else matches no route (404)."""

    # ASCII digits only: Werkzeug's `\d` (and `int`) also take Arabic-Indic, full-width
    # and every other script's digits, so `/event/%D9%A1` would be event 1.
    regex = "[0-9]+"

    def __init__(self, map: Any) -> None:
        super().__init__(map, min=1, max=2**63 - 1)
