"""What a route declares about itself, in one object the server and the docs both read.

Each decorator that shapes a view (`paginated`, `single`, a report) records what it
knows with `declare`; the route layer reads the result to resolve the caller's access,
and the OpenAPI builder reads the same object, so the docs cannot drift from the code
(flask-smorest keeps its `_apidoc` the same way).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from marshmallow import Schema

    from eventio.querybuilder import QuerySpec

ATTRIBUTE = "declaration"
View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class Declaration:
    """A route's declared shape; every field is optional until a decorator fills it."""

    # The permission areas the caller needs at the event in the path (the resource's
    # area first); and token abilities needed beyond those areas' own.
    areas: tuple[str, ...] = ()
    abilities: tuple[str, ...] = ()
    # The query declaration of a resource route, and how it answers.
    query: QuerySpec | None = None
    listing: str | None = None  # "paginated", "single", or None for a view of its own
    # Query arguments parsed by webargs (name -> field), and flags (name -> description).
    arguments: Mapping[str, Any] = field(default_factory=dict)
    flags: Mapping[str, str] = field(default_factory=dict)
    # The output schema of a view that builds its own body, and the formats it serves.
    response_schema: type[Schema] | None = None
    formats: tuple[str, ...] = ("json",)
    # More description of an argument, by name.
    notes: Mapping[str, str] = field(default_factory=dict)


def declaration_of(view: Callable[..., Any]) -> Declaration:
    """What the view (or a view it wraps) declared; an empty declaration when nothing."""
    found: Declaration | None = getattr(view, ATTRIBUTE, None)
    return found if found is not None else Declaration()


def declare(view: Callable[..., Any], **fields: Any) -> Declaration:
    """Add `fields` to the view's declaration (kept on the view) and return it."""
    declared = replace(declaration_of(view), **fields)
    setattr(view, ATTRIBUTE, declared)
    return declared


def declared(**fields: Any) -> Callable[[View], View]:
    """Decorate a view with more of its declaration: `@declared(flags={...})`."""

    def decorator(view: View) -> View:
        declare(view, **fields)
        return view

    return decorator
