"""Cache reads that travel in the rate limiter's Redis round trip.

Every API request already talks to Redis once, to count itself against its budget. A
route whose answer usually comes from the cache (warm stats) names, with `@prefetch`, the
cache key it is about to read; the counter's script then reads that key too, in the same
call, and the cache answers the view from what came back. A key the view never asks
for costs nothing more, and a key it asks that was not fetched goes to Redis as before.

The value is only handed to the view, which runs after its authorisation: fetching a key
early shows nothing to a caller who may not read it.

`@answered_if_prefetched`, placed after the authorisation and before the arguments are
parsed, sends a value that came back as the answer itself. A view caches an answer only
after its arguments were parsed and validated, so a key that holds one was read from a
valid query: the hit needs no parsing again. Anything else (no key, nothing cached)
goes on to the view.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, current_app, g, has_request_context, request

from eventio.http.state import state

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


# In the request's own environ: `g` belongs to the app context, which a test (or a CLI
# command) may hold open across requests.
FETCHED = "eventio.prefetched"


def remember(values: dict[str, Any]) -> None:
    request.environ[FETCHED] = values


def fetched() -> dict[str, Any]:
    values: dict[str, Any] = request.environ.get(FETCHED, {})
    return values


def take(key: str) -> Any:
    """The raw value fetched for `key` in this request (None: not there), or MISSING."""
    if not has_request_context():
        return MISSING
    return fetched().pop(key, MISSING)


def answered_if_prefetched(respond: Callable[[bytes], Response]) -> Callable[[View], View]:
    """Answer with `respond(value)` for the value fetched for the view's key, when there
    was one (`respond` sets the media type and headers the view would)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            found = [key for key, value in fetched().items() if value is not None]
            if not found:
                return view(*args, **kwargs)
            g.cache_status = state().cache_status = "hit"
            return respond(take(found[0]))

        return wrapper  # type: ignore[return-value]

    return decorator
