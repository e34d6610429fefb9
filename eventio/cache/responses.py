"""Cached responses: a body kept as the bytes sent, per event, arguments and format.

A view declares one with `@cached_response(...)` and says only how to compute its body.
The mechanism owns the rest, in this order:

1. `join_round_trip` (a before-request step, after `authenticate` and before the rate
   count): the route's cache key, when the query is written the one way whose parse is
   certain (below), joins the request's Redis round trip (`eventio.cache.batch`), so a
   warm body comes back with the rate count, in one call.
2. After the caller's access is resolved (the view gets `access` first), never before:
   a body read in the round trip answers as it is. A body is stored only once its query
   was parsed and validated, so a key that holds one was read from a valid query; the
   hit needs no parsing.
3. Otherwise webargs parses the arguments, once per request (the result, or its error,
   kept on the request state): an invalid query is a 422, then a format the route cannot
   serve a 406; the body is read from the cache, else computed once across every worker
   and host (`computed_once`) and stored. The refresh flag recomputes; a TTL <= 0 turns
   the cache off. The verdict ("hit" / "miss") goes to `state().cache_status`, for the
   access log.

Reading the query before webargs does (step 1) is not a second parse: each argument is
taken only when it is written the way webargs would read it to the same value (a string
as it is, an integer as plain ASCII digits). Any other spelling (`+5`, `5.0`) leaves the
key to step 3, which then reads the cache on its own. A value webargs would refuse
(out of range, too long) gives a key no valid query ever stored, so it is a miss, and
the parse in step 3 refuses it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any

from flask import Response, current_app, request
from marshmallow import ValidationError, fields
from webargs import flaskparser
from werkzeug.exceptions import HTTPException

from eventio.api.declaration import declare
from eventio.cache.batch import round_trip
from eventio.cache.store import Cache, RedisCache, computed_once
from eventio.http.errors import ApiError
from eventio.http.state import state

if TYPE_CHECKING:
    from marshmallow import Schema

    from eventio.auth.permissions import EventAccess

# The view's own part: its body from the caller's access, the parsed arguments and the
# negotiated representation.
Compute = Callable[["EventAccess", dict[str, Any], str], bytes]
# The cache key of a body: from the arguments, the event and the representation.
KeyFunction = Callable[[Mapping[str, Any], int, str], str]
# The response for a body (cached or computed): media type and headers.
Respond = Callable[[bytes, str, int], Response]
View = Callable[["EventAccess"], Response]

ATTRIBUTE = "cached_response"


@dataclass(slots=True)
class Lookup:
    """What one request has learnt about its cached response (on the request state)."""

    # The representation negotiated, or the 406 to answer (after access and arguments).
    representation: str | ApiError
    # False when this request recomputes (the refresh flag) or the cache is off.
    uses_cache: bool = False
    # The key read in the round trip (None: none was).
    early_key: str | None = None
    # The webargs result, or its error, once parsed (None: not yet).
    arguments: dict[str, Any] | HTTPException | ValidationError | None = None


class CachedResponse:
    """One route's cached response: how to key, compute and answer its body."""

    def __init__(
        self,
        compute: Compute,
        *,
        arguments: Mapping[str, fields.Field[Any]],
        representation: Callable[[], str],
        key: KeyFunction,
        respond: Respond,
        ttl_setting: str,
        refresh: Callable[[], bool],
    ) -> None:
        self.compute = compute
        self.arguments = arguments
        # Built once, as `use_args` does with a dict: never per request.
        self.schema: Schema = flaskparser.parser.schema_class.from_dict(dict(arguments))()
        self.representation = representation
        self.key = key
        self.respond = respond
        self.ttl_setting = ttl_setting
        self.refresh = refresh

    def ttl(self) -> int:
        return int(current_app.config[self.ttl_setting])

    def lookup(self) -> Lookup:
        """This request's lookup: the representation negotiated and the key read early."""
        current = state()
        found = current.cached_response
        if found is None:
            found = current.cached_response = self._look()
        return found

    def _look(self) -> Lookup:
        try:
            representation = self.representation()
        except ApiError as refusal:  # answered once the caller's access is resolved
            return Lookup(refusal)
        found = Lookup(representation, uses_cache=self.ttl() > 0 and not self.refresh())
        if found.uses_cache:
            plain = read_plainly(self.arguments)
            if plain is not None:
                event_id = int((request.view_args or {})["event_id"])
                found.early_key = self.key(plain, event_id, representation)
        return found

    def join(self) -> None:
        """Read this route's key in the request's Redis round trip (when there is one)."""
        if not isinstance(cache(), RedisCache):
            return  # no round trip to share: the in-process cache reads itself
        key = self.lookup().early_key
        if key is not None:
            round_trip().read(key)

    def parsed(self, lookup: Lookup) -> dict[str, Any]:
        """The webargs arguments, parsed once per request; their error raised each time."""
        if lookup.arguments is None:
            try:
                lookup.arguments = flaskparser.parser.parse(self.schema, location="query")
            except (HTTPException, ValidationError) as error:
                lookup.arguments = error
        if isinstance(lookup.arguments, Exception):
            raise lookup.arguments
        return lookup.arguments

    def answer(self, access: EventAccess) -> Response:
        """The response, once the caller's access is resolved."""
        current = state()
        lookup = self.lookup()
        representation = lookup.representation
        if lookup.early_key is not None and isinstance(representation, str):
            fetched = current.prefetched.get(lookup.early_key)
            if isinstance(fetched, bytes):  # a warm body, read with the rate count
                del current.prefetched[lookup.early_key]
                current.cache_status = "hit"
                return self.respond(fetched, representation, access.event_id)
        arguments = self.parsed(lookup)  # a 422 first, as webargs' `use_args` said it
        if isinstance(representation, ApiError):
            raise representation
        store = cache()
        key = self.key(arguments, access.event_id, representation)
        ttl = self.ttl()

        def body() -> bytes:
            current.cache_status = "miss"  # logged as a miss even when the computation fails
            return self.compute(access, arguments, representation)

        # The body is cached as the bytes sent: a hit is answered without decoding it.
        if not lookup.uses_cache:
            computed, hit = body(), False
            if ttl > 0:
                store.set_raw(key, computed, ttl)
        else:
            # As long as the statement timeout allows: a waiter never waits for nothing.
            wait = current_app.config["STATEMENT_TIMEOUT_MS"] / 1000 + 1
            computed, hit = computed_once(store, key, ttl, body, wait)
        current.cache_status = "hit" if hit else "miss"
        return self.respond(computed, representation, access.event_id)


def cached_response(
    *,
    arguments: Mapping[str, fields.Field[Any]],
    representation: Callable[[], str],
    key: KeyFunction,
    respond: Respond,
    ttl_setting: str,
    refresh: Callable[[], bool],
) -> Callable[[Compute], View]:
    """Serve the decorated body computation as a cached response (see the module).

    The view it makes takes the caller's `EventAccess` (the access resolver goes outside).
    """

    def decorator(compute: Compute) -> View:
        declared = CachedResponse(
            compute,
            arguments=arguments,
            representation=representation,
            key=key,
            respond=respond,
            ttl_setting=ttl_setting,
            refresh=refresh,
        )

        @wraps(compute)
        def view(access: EventAccess) -> Response:
            return declared.answer(access)

        setattr(view, ATTRIBUTE, declared)
        # The arguments it parses are the route's, for the docs as for the request.
        declare(view, arguments=arguments)
        return view

    return decorator


def join_round_trip() -> None:
    """Before-request step, after `authenticate` and before the rate count: the matched
    route's cached response, if it has one, adds its key to the request's round trip."""
    if request.endpoint is None:
        return
    view = current_app.view_functions.get(request.endpoint)
    declared: CachedResponse | None = getattr(view, ATTRIBUTE, None)
    if declared is not None:
        declared.join()


def cache() -> Cache:
    found: Cache = current_app.extensions["eventio.cache"]
    return found


def read_plainly(arguments: Mapping[str, fields.Field[Any]]) -> dict[str, Any] | None:
    """The arguments as webargs would parse them, from the raw query, when each is written
    the one way that parses to a certain value; None when one is not (webargs says).

    The first value of each, as webargs reads a parameter (`getlist`, because `get`
    raises and catches an exception for every parameter that is absent)."""
    plain: dict[str, Any] = {}
    for name, declared in arguments.items():
        values = request.args.getlist(name)
        if not values:
            continue
        raw = values[0]
        if type(declared) is fields.Integer and not declared.strict:
            if not (raw.isascii() and raw.isdigit()):
                return None
            plain[name] = int(raw)
        elif type(declared) is fields.String:
            plain[name] = raw
        else:
            return None
    return plain
