"""Cache reads that travel in the rate limiter's Redis round trip.

Every API request already talks to Redis once, to count itself against its budget. A
route whose answer usually comes from the cache (warm stats) names, with `@prefetch`, the
cache key it is about to read; the counter's script then reads that key too, in the same
call, and the cache answers the view from what came back. A key the view never asks
for costs nothing more, and a key it asks that was not fetched goes to Redis as before.

The value is only handed to the view, which runs after its authorisation: fetching a key
early shows nothing to a caller who may not read it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, has_request_context, request

View = TypeVar("View", bound=Callable[..., Any])
KeyFunction = Callable[[], str | None]
MISSING = object()


def prefetch(key: KeyFunction) -> Callable[[View], View]:
    """Declare the cache key a view will read, from the raw request (None: none)."""

    def decorator(view: View) -> View:
        view.prefetch_key = key  # type: ignore[attr-defined]
        return view

    return decorator


def wanted() -> list[str]:
    """The key the matched view declared for this request, if any."""
    if request.endpoint is None or g.get("caller") is None:
        return []
    view = current_app.view_functions.get(request.endpoint)
    key_function: KeyFunction | None = getattr(view, "prefetch_key", None)
    key = key_function() if key_function is not None else None
    return [key] if key else []


def remember(values: dict[str, Any]) -> None:
    g.prefetched = values


def take(key: str) -> Any:
    """The raw value fetched for `key` in this request (None: not there), or MISSING."""
    if not has_request_context():
        return MISSING
    return g.get("prefetched", {}).pop(key, MISSING)
