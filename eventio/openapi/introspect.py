"""Read what each `/api/v2` route declares (`declaration_of`): its path, query spec, listing,
areas, abilities, arguments and flags."""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from werkzeug.routing import BaseConverter, Rule

from eventio.api.declaration import Declaration, declaration_of
from eventio.auth.permissions import ability
from eventio.querybuilder import QuerySpec

API_BLUEPRINT = "api"
PLACEHOLDER = re.compile(r"<(?:[^<>:]+:)?(\w+)>")
# The contract's names where a view's argument says it differently.
PATH_NAMES = {"line_id": "bookingTicketId"}


def camel(name: str) -> str:
    """`event_user_id` -> `eventUserId`."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def path_name(argument: str) -> str:
    return PATH_NAMES.get(argument, camel(argument))


@dataclass(frozen=True)
class ApiView:
    """One GET route of the `api` blueprint and what it declared."""

    rule: Rule
    view: Callable[..., Any]

    @property
    def endpoint(self) -> str:
        return str(self.rule.endpoint)

    @property
    def name(self) -> str:
        return self.endpoint.removeprefix(API_BLUEPRINT + ".")

    @property
    def path(self) -> str:
        """`/api/v2/event/<id:event_id>` -> `/api/v2/event/{eventId}`."""
        return PLACEHOLDER.sub(lambda m: "{" + path_name(m.group(1)) + "}", self.rule.rule)

    @property
    def path_converters(self) -> dict[str, BaseConverter]:
        """Each path argument (by its OpenAPI name) and the converter that matches it."""
        converters: dict[str, BaseConverter] = getattr(self.rule, "_converters", {})
        return {path_name(arg): converters[arg] for arg in PLACEHOLDER.findall(self.rule.rule)}

    @property
    def summary(self) -> str:
        return inspect.getdoc(self.view) or self.name.replace("_", " ").capitalize()

    @property
    def module(self) -> str:
        return self.view.__module__

    @property
    def module_doc(self) -> str:
        return inspect.getdoc(sys.modules[self.module]) or ""

    @property
    def declaration(self) -> Declaration:
        """What the route declares (its areas as the route layer resolved them)."""
        return declaration_of(self.view)

    @property
    def query_spec(self) -> QuerySpec | None:
        return self.declaration.query

    @property
    def listing(self) -> str | None:
        """`paginated`, `single`, or None for a view that builds its own body."""
        return self.declaration.listing

    @property
    def areas(self) -> tuple[str, ...]:
        """The permission areas checked at the event in the path."""
        return self.declaration.areas

    @property
    def abilities(self) -> tuple[str, ...]:
        """Token abilities the view needs: its areas' and those it declares besides."""
        declared = [*(ability(area) for area in self.areas), *self.declaration.abilities]
        return tuple(dict.fromkeys(declared))


def api_views(app: Flask) -> list[ApiView]:
    """Every GET route of the `api` blueprint, in path order."""
    found = [
        ApiView(rule, app.view_functions[rule.endpoint])
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(API_BLUEPRINT + ".") and "GET" in (rule.methods or ())
    ]
    return sorted(found, key=lambda view: view.rule.rule)
