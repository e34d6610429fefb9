"""Per-user rate limits on `/api/v2` (Laravel's `throttle:api`), counted by `limits`.

`limits` (the library under Flask-Limiter) parses `RATE_LIMIT`, keeps the fixed-window
counters in Redis, shared by every worker and host, or in this process's memory, and
pings a storage that went away. This module is the Flask side: which requests count
and against whose budget, the headers, the 429, and counting in memory while Redis is
down. It replaced Flask-Limiter, whose per-request resolution of decorated limits,
exemptions and scopes (none of which the API uses) cost about 0.19 ms of CPU on every
request, more than a quarter of `/user`'s.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import redis
from flask import Flask, Response, current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, RedisStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from redis.commands.core import Script

from eventio.cache.batch import RoundTrip
from eventio.http.errors import error_response
from eventio.http.state import state
from eventio.settings import Settings

# The logger keeps its name from before the package moves: log filters match on it.
log = logging.getLogger("eventio.ratelimit")

API = "api"
OAUTH = "oauth"
# `/metrics` is registered as the endpoint `observability.metrics`, which Flask files
# under this name for its hooks (as it would a blueprint's).
METRICS = "observability"
# Budgets counted per client address, each place apart: guessing tokens at `/api/v2`
# (its 401s), client secrets at `/oauth/token` or the metrics token at `/metrics` draws
# on that place's budget only, and never locks the client out of the others.
BY_ADDRESS = {API: "unauthenticated", OAUTH: "oauth", METRICS: "metrics"}
# A refusal that only holds for a moment is never kept by a cache; the token endpoint's
# answers also carry RFC 6749's `Pragma`.
NO_STORE = {"Cache-Control": "no-store"}
OAUTH_NO_STORE = {**NO_STORE, "Pragma": "no-cache"}
EXTENSION = "eventio.ratelimit"
DEFAULT_RATE_LIMIT = "600 per minute"
KEY_PREFIX = "eventio"
# A Redis outage costs a request at most this long, never a hang.
REDIS_TIMEOUT = 0.5
REDIS_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": REDIS_TIMEOUT,
    "socket_timeout": REDIS_TIMEOUT,
}
# While Redis is down, it is pinged again after 1, 2, 4 ... seconds, at most this many.
LONGEST_PING_INTERVAL = 30.0


class CountedFixedWindow(FixedWindowRateLimiter):
    """limits' fixed window, returning the count a hit reached, so that
    `X-RateLimit-Remaining` costs no second trip to Redis."""

    def count(self, item: RateLimitItem, *identifiers: str, trip: RoundTrip | None) -> int:
        """The request's count in the item's window, with the reads of the request's
        round trip in the same call (when it goes to Redis)."""
        key = item.key_for(*identifiers)
        if trip is not None and trip.reads and isinstance(self.storage, RedisStorage):
            return incr_and_read(self.storage, key, item.get_expiry(), trip)
        return int(self.storage.incr(key, item.get_expiry()))


# limits' `incr_expire.lua`, then a GET of each further key: a count and the reads of
# the request's round trip, in one command (an EVALSHA like every request's, and no
# heavier).
INCR_EXPIRE_AND_GET = """
local amount = tonumber(ARGV[2])
local current = redis.call("incrby", KEYS[1], amount)
if tonumber(current) == amount then
    redis.call("expire", KEYS[1], ARGV[1])
end
local replies = {current}
for i = 2, #KEYS do
    replies[i] = redis.call("get", KEYS[i])
end
return replies
"""
_scripts: WeakKeyDictionary[RedisStorage, Script] = WeakKeyDictionary()


def incr_and_read(storage: RedisStorage, key: str, expiry: int, trip: RoundTrip) -> int:
    """limits' counter and the round trip's reads, in one script call (reloaded by
    redis-py if Redis lost it); the values go to the round trip. Any trouble (an outage)
    takes the usual path instead, with its usual error handling, and the readers read
    on their own."""
    script = _scripts.get(storage)
    if script is None:
        connection = storage.get_connection()
        script = _scripts[storage] = connection.register_script(INCR_EXPIRE_AND_GET.encode())
    try:
        count, *values = script([storage.prefixed_key(key), *trip.reads], [expiry, 1])
    except redis.RedisError:
        return int(storage.incr(key, expiry))
    trip.deliver(values)
    return int(count)


@dataclass(frozen=True)
class Counted:
    """One request counted against one limit: the limit it is judged by and the count."""

    item: RateLimitItem
    identity: str
    count: int
    counter: CountedFixedWindow

    @property
    def exceeded(self) -> bool:
        return self.count > self.item.amount

    @property
    def remaining(self) -> int:
        return max(0, self.item.amount - self.count)

    def reset_at(self, now: float) -> float:
        """When the window ends (Redis rounds a TTL to whole seconds)."""
        try:
            return float(self.counter.get_window_stats(self.item, KEY_PREFIX, self.identity)[0])
        except Exception:  # the storage went away meanwhile: at most a whole window
            return now + self.item.get_expiry()


class RateLimits:
    """The budgets of `RATE_LIMIT`, counted in Redis (or memory), in memory while Redis
    is down: one warning when it goes, one line when it is back, requests served."""

    def __init__(self, rate_limit: str, redis_url: str | None) -> None:
        # Narrowest window first: it is the one the headers describe.
        self.items = sorted(parse_many(rate_limit), key=lambda item: item.get_expiry())
        options = REDIS_OPTIONS if redis_url else {}
        storage = storage_from_string(storage_uri(redis_url), **options)
        assert isinstance(storage, Storage)  # a synchronous URI: never limits' asyncio one
        self.storage: Storage = storage
        self._counter = CountedFixedWindow(self.storage)
        self._fallback = CountedFixedWindow(MemoryStorage())
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._next_ping = 0.0
        self._ping_interval = 1.0

    def count(self, identity: str) -> Counted:
        """Count one request against every budget; the first it exceeds, else the narrowest."""
        counter = self._counter_now()
        try:
            return self._count(counter, identity)
        except Exception as error:
            if counter is self._fallback:
                raise
            self._went_down(error)
            return self._count(self._fallback, identity)

    def reset(self) -> None:
        """Every budget full again (tests, and an operator after changing the limit)."""
        for counter in (self._counter, self._fallback):
            try:
                counter.storage.reset()
            except Exception as error:
                log.warning("rate limit counters not reset: %s", error)

    def _count(self, counter: CountedFixedWindow, identity: str) -> Counted:
        # The request's round trip travels with the first count, when it goes to Redis.
        trip = state().round_trip
        counted: list[Counted] = []
        for item in self.items:
            count = counter.count(item, KEY_PREFIX, identity, trip=trip)
            counted.append(Counted(item, identity, count, counter))
            if counted[-1].exceeded:
                return counted[-1]
            trip = None
        return counted[0]

    def _counter_now(self) -> CountedFixedWindow:
        if self._down_since is None:
            return self._counter
        with self._lock:
            if self._down_since is None or time.monotonic() < self._next_ping:
                return self._fallback if self._down_since is not None else self._counter
            self._next_ping = time.monotonic() + self._ping_interval
            self._ping_interval = min(self._ping_interval * 2, LONGEST_PING_INTERVAL)
        if not self.storage.check():
            return self._fallback
        with self._lock:
            if self._down_since is not None:
                log.info(
                    "Rate limit storage recovered after %.1f s; counting there again",
                    time.monotonic() - self._down_since,
                )
                self._down_since = None
        return self._counter

    def _went_down(self, error: Exception) -> None:
        with self._lock:
            if self._down_since is not None:
                return
            self._down_since = time.monotonic()
            self._next_ping = self._down_since + 1.0
            self._ping_interval = 2.0
        log.warning(
            "Rate limit storage unreachable (%s): counting in memory until it answers", error
        )


def storage_uri(redis_url: str | None) -> str:
    """Redis, shared by every worker and host, when configured; else this process's memory."""
    if not redis_url:
        return "memory://"
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url.removeprefix("unix://")
    return redis_url


def rate_limits() -> RateLimits | None:
    """The app's budgets; None when RATE_LIMIT_ENABLED is off (nothing is counted)."""
    found: RateLimits | None = current_app.extensions.get(EXTENSION)
    return found


def identity(authenticated: bool = True) -> str:
    """The budget a request draws on: on `/api/v2` once authenticated, its user's (every
    token of the user, Sanctum's and OAuth-issued alike, as Laravel's `throttle:api` keys
    on the user id); anything else, its address's at that place."""
    caller = state().caller if authenticated and request.blueprint == API else None
    if caller is not None:
        return f"user:{caller.user_id}"
    place = BY_ADDRESS.get(request.blueprint or "", "other")
    return f"{place}:{request.remote_addr or 'unknown'}"


def check(authenticated: bool = True) -> Response | None:
    """Count the request; a request over budget is answered 429 instead of its view.

    Runs right after `authenticate` (the budget is the user's); a request that
    `authenticate` refused is counted by address in `add_limit_headers`."""
    limits = rate_limits()
    current = state()
    if limits is None or current.rate_count is not None:
        return None
    try:
        counted = limits.count(identity(authenticated))
    except Exception:  # never worth failing a request: served, not counted
        log.exception("rate limit not counted")
        return None
    current.rate_count = counted
    return too_many_attempts(counted) if counted.exceeded else None


def too_many_attempts(counted: Counted) -> Response:
    """429 in the contract's body, saying in how many seconds the budget refills."""
    now = time.time()
    window = counted.item.get_expiry()
    reset = counted.reset_at(now)
    headers = {
        # Redis rounds a TTL to whole seconds: never say more than a window.
        "Retry-After": str(max(1, min(window, math.ceil(reset - now)))),
        "X-RateLimit-Reset": str(int(reset)),
        **(OAUTH_NO_STORE if request.blueprint == OAUTH else NO_STORE),
    }
    return error_response(429, "Too Many Attempts.", headers=headers)


def add_limit_headers(response: Response) -> Response:
    """`X-RateLimit-Limit` and `X-RateLimit-Remaining` on every answer that was counted;
    a 401 never reached `check`, so it is counted here, by address."""
    current = state()
    if response.status_code == 401 and current.rate_count is None:
        refused = check(authenticated=False)
        if refused is not None:
            response = refused
    counted: Counted | None = current.rate_count
    if counted is None:
        return response
    response.headers["X-RateLimit-Limit"] = str(counted.item.amount)
    response.headers["X-RateLimit-Remaining"] = str(counted.remaining)
    return response


def init_app(app: Flask, settings: Settings) -> None:
    """The budgets, unless RATE_LIMIT_ENABLED is off; eventio/http/pipeline.py runs `check`
    and `add_limit_headers` on the API, the token endpoint and `/metrics` (never on the
    health endpoints)."""
    if not settings.rate_limit_enabled:
        return
    # A typo fails at start, not on the first request.
    app.extensions[EXTENSION] = RateLimits(settings.rate_limit, settings.redis_url)
