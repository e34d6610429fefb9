"""What the fuzzer aims at, read from the app: every GET route of `/api/v2` and its declarations.

Nothing here is written by hand per endpoint: a new route, filter, sort, include, flag or
webargs argument is fuzzed as soon as its view declares it.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from flask import Flask
from marshmallow import fields as ma

from eventio.openapi.introspect import PLACEHOLDER, api_views
from eventio.querybuilder import QuerySpec, Resource
from eventio.querybuilder import includes as include_paths

# `flag("no-cache")` in a view's source: the flags that endpoint reads.
FLAG_CALL = re.compile(r"""\bflag\(\s*["']([^"']+)["']\s*\)""")


@dataclass(frozen=True, eq=False)
class Target:
    """One GET route: its rule, how it answers (a page, one row, its own body), what it reads."""

    rule: str
    arguments: tuple[str, ...]
    listing: str | None
    spec: QuerySpec | None
    query_arguments: tuple[tuple[str, ma.Field], ...]
    flags: tuple[str, ...]

    def __repr__(self) -> str:
        return f"Target({self.name})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    @property
    def name(self) -> str:
        return PLACEHOLDER.sub(lambda m: "{" + m.group(1) + "}", self.rule)

    def path(self, ids: Mapping[str, int]) -> str:
        return PLACEHOLDER.sub(lambda m: str(ids[m.group(1)]), self.rule)

    @cached_property
    def field_types(self) -> dict[str, Resource]:
        """The types a sparse fieldset may name: the resource's and those its includes reach."""
        if self.spec is None:
            return {}
        found = {self.spec.resource.type: self.spec.resource}
        reachable = include_paths.tree(self.spec.allowed_includes)
        for relation in include_paths.relations(self.spec.resource, reachable):
            found.setdefault(relation.target.type, relation.target)
        return found

    @cached_property
    def unreachable_includes(self) -> tuple[str, ...]:
        """Relation paths the resources could follow (up to 4 deep) that the spec does not allow."""
        if self.spec is None:
            return ()
        allowed = set(self.spec.allowed_includes)
        return tuple(p for p in relation_paths(self.spec.resource, 4) if p not in allowed)


def relation_paths(resource: Resource, depth: int, prefix: str = "") -> list[str]:
    """Every dotted path of relations from `resource`, at most `depth` relations long."""
    if depth == 0:
        return []
    paths = []
    for name, relation in resource.relations.items():
        path = prefix + name
        paths.append(path)
        paths.extend(relation_paths(relation.target, depth - 1, path + "."))
    return paths


def unwrapped(view: Any) -> Iterator[Any]:
    """The view and every function it wraps, outermost first (`functools.wraps` chain)."""
    current = view
    while current is not None:
        yield current
        current = getattr(current, "__wrapped__", None)


def flags_read_by(view: object) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for function in unwrapped(view):
        try:
            source = inspect.getsource(function)
        except (OSError, TypeError):
            continue
        found.update(dict.fromkeys(FLAG_CALL.findall(source)))
    return tuple(found)


def targets(app: Flask) -> tuple[Target, ...]:
    """Every GET route of the API, in path order."""
    found = []
    for view in api_views(app):
        # Declared webargs arguments are query parameters.
        query_arguments = tuple(view.declaration.arguments.items())
        found.append(
            Target(
                rule=view.rule.rule,
                arguments=tuple(PLACEHOLDER.findall(view.rule.rule)),
                listing=view.listing,
                spec=view.query_spec,
                query_arguments=query_arguments,
                flags=flags_read_by(view.view),
            )
        )
    return tuple(found)


def all_resources(found: tuple[Target, ...]) -> dict[str, Resource]:
    """Every resource type any target serves or includes."""
    resources: dict[str, Resource] = {}
    for target in found:
        resources.update(target.field_types)
    return resources
