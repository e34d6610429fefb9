"""A small key-value cache: Redis when configured, else in-process; never fatal."""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import orjson
import redis

from eventio.cache import batch

# The logger keeps its name from before the package moves: log filters match on it.
log = logging.getLogger("eventio.cache")


class Cache(ABC):
    """Values are kept as JSON bytes: `get`/`set` (de)serialise, `get_raw`/`set_raw` hand
    the bytes over as they are (a cached response body needs no round trip through
    objects)."""

    def get(self, key: str) -> Any | None:
        raw = self.get_raw(key)
        return None if raw is None else orjson.loads(raw)

    def set(self, key: str, value: Any, ttl: int) -> None:
        self.set_raw(key, orjson.dumps(value), ttl)

    @abstractmethod
    def get_raw(self, key: str) -> bytes | None: ...

    @abstractmethod
    def set_raw(self, key: str, raw: bytes, ttl: int) -> None: ...

    @abstractmethod
    def claim(self, key: str, seconds: float) -> bool:
        """Take `key`'s computation for up to `seconds`: False while another caller has it."""

    @abstractmethod
    def release(self, key: str) -> None: ...


class MemoryCache(Cache):
    """Per process, bounded; what a bare machine uses when there is no Redis."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: dict[str, tuple[float, bytes]] = {}
        self._claims: dict[str, float] = {}
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def get_raw(self, key: str) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    def set_raw(self, key: str, raw: bytes, ttl: int) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries = {k: e for k, e in self._entries.items() if e[0] > now}
                if len(self._entries) >= self._max_entries:
                    self._entries.clear()
            self._entries[key] = (now + ttl, raw)

    def claim(self, key: str, seconds: float) -> bool:
        now = time.monotonic()
        with self._lock:
            if self._claims.get(key, 0.0) > now:
                return False
            self._claims[key] = now + seconds
            return True

    def release(self, key: str) -> None:
        with self._lock:
            self._claims.pop(key, None)


class RedisCache(Cache):
    """Redis, shared by every worker and host; an outage means misses, never errors.

    After a failure Redis is left alone for `retry_after` seconds, so an outage costs
    no connect timeout per request; one warning is logged per outage.
    """

    def __init__(self, url: str, retry_after: float = 2.0, timeout: float = 0.5) -> None:
        self._client = redis.Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=timeout
        )
        self._retry_after = retry_after
        self._down_until = 0.0
        self._down = False

    def get_raw(self, key: str) -> bytes | None:
        # Read in the request's round trip with the rate count (eventio.cache.batch)?
        raw = batch.take(key)
        if isinstance(raw, batch.Missing):
            raw = self._call(self._client.get, key)
        return raw or None

    def set_raw(self, key: str, raw: bytes, ttl: int) -> None:
        self._call(self._client.set, key, raw, ex=ttl)

    def claim(self, key: str, seconds: float) -> bool:
        # Redis unreachable: every caller computes, as without a cache.
        taken = self._call(self._client.set, CLAIM + key, b"1", nx=True, px=int(seconds * 1000))
        return bool(taken) or self._down

    def release(self, key: str) -> None:
        self._call(self._client.delete, CLAIM + key)

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        if self._down and time.monotonic() < self._down_until:
            return None
        try:
            result = method(*args, **kwargs)
        except redis.RedisError as error:
            if not self._down:
                log.warning("redis unreachable, serving without the cache: %s", error)
            self._down = True
            self._down_until = time.monotonic() + self._retry_after
            return None
        if self._down:
            log.warning("redis reachable again, cache resumed")
            self._down = False
        return result


CLAIM = "claim:"
WAIT_STEP = 0.05


def computed_once(
    cache: Cache, key: str, ttl: int, compute: Callable[[], bytes], wait: float
) -> tuple[bytes, bool]:
    """The cached bytes (and True), else the bytes computed once across every thread,
    worker and host: the caller that claims the key computes it, the others poll the cache
    every 50 ms for its value, so an expired report of the flagship is not recomputed by
    every request that arrives meanwhile. A waiter takes over when the claim is released
    or lapses without a value (the computing caller failed), and after `wait` seconds
    computes regardless."""
    value = cache.get_raw(key)
    if value is not None:
        return value, True
    deadline = time.monotonic() + wait
    while not cache.claim(key, wait):
        if time.monotonic() >= deadline:
            return _computed(cache, key, ttl, compute, claimed=False), False
        time.sleep(WAIT_STEP)
        value = cache.get_raw(key)
        if value is not None:
            return value, True
    value = cache.get_raw(key)  # set by the caller whose claim was just released
    if value is not None:
        cache.release(key)
        return value, True
    return _computed(cache, key, ttl, compute, claimed=True), False


def _computed(
    cache: Cache, key: str, ttl: int, compute: Callable[[], bytes], claimed: bool
) -> bytes:
    try:
        value = compute()
        if ttl > 0:
            cache.set_raw(key, value, ttl)
        return value
    finally:
        if claimed:
            cache.release(key)


def make_cache(redis_url: str | None) -> Cache:
    return RedisCache(redis_url) if redis_url else MemoryCache()
