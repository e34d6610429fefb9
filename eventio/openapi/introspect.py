"""Read what each `/api/v2` view declares: its path, query spec, listing, areas, arguments."""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import Flask
from marshmallow import Schema
from werkzeug.routing import BaseConverter, Rule

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


def unwrapped(view: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """The view and every function it wraps, outermost first (`functools.wraps` chain)."""
    current: Any = view
    while current is not None:
        yield current
        current = getattr(current, "__wrapped__", None)


def closure(function: Callable[..., Any]) -> dict[str, Any]:
    try:
        return dict(inspect.getclosurevars(function).nonlocals)
    except (TypeError, ValueError):
        return {}


@dataclass(frozen=True)
class ApiView:
    """One GET route of the `api` blueprint and what its decorators declared."""

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
    def query_spec(self) -> QuerySpec | None:
        return getattr(self.view, "query_spec", None)

    @property
    def listing(self) -> str | None:
        """`paginated`, `single`, or None for a view that builds its own body."""
        return getattr(self.view, "listing", None)

    @property
    def areas(self) -> tuple[str, ...]:
        """The permission areas `for_event` checks at the event in the path."""
        return tuple(getattr(self.view, "areas", ()))

    @property
    def abilities(self) -> tuple[str, ...]:
        """Token abilities the view needs: its areas' and those `requires_ability` checks."""
        found = [ability(area) for area in self.areas]
        declared = getattr(self.view, "abilities", None)
        if declared is not None:  # Should `requires_ability` ever record them on the view.
            return tuple(dict.fromkeys([*found, *declared]))
        for function in unwrapped(self.view):
            # `requires_ability(name)` records nothing on the view; its closure holds `name`.
            code = getattr(function, "__code__", None)
            if code is not None and code.co_qualname.startswith("requires_ability."):
                name = closure(function).get("name")
                if isinstance(name, str):
                    found.append(name)
        return tuple(dict.fromkeys(found))

    @property
    def argument_maps(self) -> list[tuple[Schema, str]]:
        """The (schema, location) of each webargs `use_args`, which keeps them in its closure."""
        maps = []
        for function in unwrapped(self.view):
            variables = closure(function)
            argmap, location = variables.get("argmap"), variables.get("location")
            if isinstance(argmap, Schema) and isinstance(location, str):
                maps.append((argmap, location))
        cached = getattr(self.view, "cached_response", None)  # eventio.cache.responses
        if cached is not None:
            maps.append((cached.schema, "query"))
        return maps


def api_views(app: Flask) -> list[ApiView]:
    """Every GET route of the `api` blueprint, in path order."""
    found = [
        ApiView(rule, app.view_functions[rule.endpoint])
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(API_BLUEPRINT + ".") and "GET" in (rule.methods or ())
    ]
    return sorted(found, key=lambda view: view.rule.rule)
