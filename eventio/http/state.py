"""What one request has learnt on its way through the pipeline, in one typed object.

Kept in the request's WSGI environ under one key (not in `g`, which belongs to the app
context: a test or a CLI command may hold one open across requests). The observability
middleware creates it before Flask sees the request; anything else finds it with `state()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import request

if TYPE_CHECKING:
    from eventio.auth.permissions import EventAccess
    from eventio.auth.tokens import Authenticated
    from eventio.cache.batch import RoundTrip
    from eventio.cache.responses import Lookup

ENVIRON_KEY = "eventio.state"


@dataclass(slots=True)
class RequestState:
    """One request's findings; every field starts empty and is set by one step."""

    # The request id (observability middleware): the client's X-Request-Id or a new one.
    request_id: str | None = None
    # The middleware's timing and counters for the access line (observability).
    observation: Any = None
    # Who is calling (auth.guard.authenticate).
    caller: Authenticated | None = None
    # The caller's permissions at the event in the path, fetched with the token.
    event_access: EventAccess | None = None
    event_access_fetched: bool = False
    # What the rate limiter counted this request as (http.ratelimit).
    rate_count: Any = None
    # The keys to read in the rate limiter's Redis round trip (cache.batch), and the
    # values it read, by key.
    round_trip: RoundTrip | None = None
    prefetched: dict[str, Any] = field(default_factory=dict)
    # The route's cached response: its key, representation and parsed arguments.
    cached_response: Lookup | None = None
    # The response cache's verdict ("hit" / "miss") and the page count cache's, logged.
    cache_status: str | None = None
    count_cache: str | None = None


def state() -> RequestState:
    """This request's state (made on first use outside the middleware, as in tests)."""
    environ = request.environ
    found: RequestState | None = environ.get(ENVIRON_KEY)
    if found is None:
        found = environ[ENVIRON_KEY] = RequestState()
    return found
