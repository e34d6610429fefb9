"""Per-token rate limits on `/api/v2` (Laravel's `throttle:api`), through Flask-Limiter."""

from __future__ import annotations

import logging
import math
import os
import time
from typing import Any
from weakref import WeakKeyDictionary

import redis
from flask import Flask, Response, current_app, g, request
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit
from limits import RateLimitItem, parse_many
from limits.storage import RedisStorage
from limits.strategies import STRATEGIES, FixedWindowRateLimiter
from redis.commands.core import Script

from eventio import prefetch
from eventio.errors import error_response

log = logging.getLogger(__name__)

API = "api"
OAUTH = "oauth"
DEFAULT_RATE_LIMIT = "600 per minute"
# A Redis outage costs a request at most this long, never a hang.
REDIS_TIMEOUT = 0.5
REDIS_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": REDIS_TIMEOUT,
    "socket_timeout": REDIS_TIMEOUT,
}


COUNTED_FIXED_WINDOW = "eventio-fixed-window"


class CountedFixedWindow(FixedWindowRateLimiter):
    """limits' fixed window, remembering the count each hit returns for the request, so
    that `X-RateLimit-Remaining` costs no second and third trip to Redis."""

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        key = item.key_for(*identifiers)
        reads = prefetch.wanted() if isinstance(self.storage, RedisStorage) else []
        if reads:
            count = incr_and_read(self.storage, key, item.get_expiry(), cost, reads)
        else:
            count = self.storage.incr(key, item.get_expiry(), amount=cost)
        g.setdefault("rate_limit_counts", {})[key] = count
        return count <= item.amount


# limits' `incr_expire.lua`, then a GET of each further key: a count and the cache
# reads a view declared, in one command (an EVALSHA like every request's, and no heavier).
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


def incr_and_read(
    storage: RedisStorage, key: str, expiry: int, amount: int, reads: list[str]
) -> int:
    """limits' counter and the cache reads a view declared, in one script call (reloaded
    by redis-py if Redis lost it). Any trouble (an outage) takes the usual path instead,
    with its usual error handling."""
    script = _scripts.get(storage)
    if script is None:
        script = _scripts[storage] = storage.get_connection().register_script(INCR_EXPIRE_AND_GET)
    try:
        count, *values = script([storage.prefixed_key(key), *reads], [expiry, amount])
    except redis.RedisError:
        return int(storage.incr(key, expiry, amount=amount))
    prefetch.remember(dict(zip(reads, values, strict=True)))
    return int(count)


STRATEGIES[COUNTED_FIXED_WINDOW] = CountedFixedWindow  # type: ignore[assignment]


def rate_limit_key() -> str:
    """The budget a request draws on: its token once authenticated, else its address."""
    caller = g.get("caller")
    if caller is not None:
        return f"token:{caller.token_id}"
    return f"address:{request.remote_addr or 'unknown'}"


def storage_uri(redis_url: str | None) -> str:
    """Redis, shared by every worker and host, when configured; else this process's memory."""
    if not redis_url:
        return "memory://"
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url.removeprefix("unix://")
    return redis_url


def make_limiter(rate_limit: str, redis_url: str | None) -> Limiter:
    return Limiter(
        rate_limit_key,
        # One budget per caller across every endpoint, as Laravel's throttle keeps.
        application_limits=[rate_limit],
        strategy=COUNTED_FIXED_WINDOW,
        storage_uri=storage_uri(redis_url),
        storage_options=REDIS_OPTIONS if redis_url else {},
        # Redis down: one warning, then each process counts in memory (requests are
        # served), and Redis is used again by itself once it answers a ping.
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        # Ours instead: Flask-Limiter's put a Retry-After on every answer, a 503's included.
        headers_enabled=False,
        key_prefix="eventio",
    )


def limiter() -> Limiter:
    return current_app.extensions["eventio.ratelimit"]  # type: ignore[no-any-return]


def too_many_attempts(error: RateLimitExceeded | None = None) -> Response:
    """429 in the contract's body, saying in how many seconds the budget refills."""
    return error_response(429, "Too Many Attempts.", headers=reset_headers(limiter().current_limit))


def reset_headers(limit: RequestLimit | None) -> dict[str, str]:
    now = time.time()
    window = limit.limit.get_expiry() if limit else 60
    try:
        reset = limit.window[0] if limit else now + window
    except Exception:  # the storage went away meanwhile: at most a whole window
        reset = now + window
    return {
        # Redis rounds a TTL to whole seconds: never say more than a window.
        "Retry-After": str(max(1, min(window, math.ceil(reset - now)))),
        "X-RateLimit-Reset": str(int(reset)),
    }


def count_unauthenticated(response: Response) -> Response:
    """A 401 never reached the check after `authenticate`: count it by address here."""
    if response.status_code != 401 or g.get("caller") is not None:
        return response
    try:
        limiter()._check_request_limit()
    except RateLimitExceeded as error:
        return too_many_attempts(error)
    return response


def add_limit_headers(response: Response) -> Response:
    """`X-RateLimit-Limit` and `X-RateLimit-Remaining` on every answer that was counted."""
    response = count_unauthenticated(response)
    limit = limiter().current_limit
    if limit is None:
        return response
    counted = g.get("rate_limit_counts", {}).get(limit.key)
    try:
        remaining = limit.limit.amount - counted if counted is not None else limit.remaining
    except Exception as error:  # headers are never worth failing a request
        log.debug("rate limit headers left out: %s", error)
        return response
    response.headers["X-RateLimit-Limit"] = str(limit.limit.amount)
    response.headers["X-RateLimit-Remaining"] = str(max(0, remaining))
    return response


def is_on(value: object) -> bool:
    return str(value).strip().lower() not in ("0", "false", "no", "off")


def init_app(app: Flask) -> None:
    app.config.setdefault("RATE_LIMIT", os.environ.get("RATE_LIMIT") or DEFAULT_RATE_LIMIT)
    app.config.setdefault("RATE_LIMIT_ENABLED", is_on(os.environ.get("RATE_LIMIT_ENABLED", "1")))
    if not is_on(app.config["RATE_LIMIT_ENABLED"]):
        return
    if API not in app.blueprints:
        raise RuntimeError("ratelimit.init_app needs the API blueprint registered first")
    parse_many(app.config["RATE_LIMIT"])  # a typo fails at start, not on the first request
    extension = make_limiter(app.config["RATE_LIMIT"], app.config.get("REDIS_URL"))
    extension.init_app(app)
    app.extensions["eventio.ratelimit"] = extension
    # Flask-Limiter checks in an app-wide before_request, which Flask runs before the
    # blueprint's `authenticate`. The budget is the token's, so move the check right
    # after it, on the API only (the health endpoints are never limited).
    # The token endpoint is limited per address, so client secrets cannot be guessed freely.
    app.before_request_funcs[None].remove(extension._check_request_limit)
    for blueprint in (API, OAUTH):
        app.before_request_funcs.setdefault(blueprint, []).append(extension._check_request_limit)
        app.after_request_funcs.setdefault(blueprint, []).append(add_limit_headers)
    app.register_error_handler(RateLimitExceeded, too_many_attempts)
