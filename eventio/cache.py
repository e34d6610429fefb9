"""A small key-value cache: Redis when configured, else in-process; never fatal."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

import orjson
import redis

from eventio import prefetch

log = logging.getLogger(__name__)


class Cache(Protocol):
    def get(self, key: str) -> Any | None: ...

    def set(self, key: str, value: Any, ttl: int) -> None: ...


class MemoryCache:
    """Per process, bounded; what a bare machine uses when there is no Redis."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def get(self, key: str) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return orjson.loads(entry[1])

    def set(self, key: str, value: Any, ttl: int) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries = {k: e for k, e in self._entries.items() if e[0] > now}
                if len(self._entries) >= self._max_entries:
                    self._entries.clear()
            self._entries[key] = (now + ttl, orjson.dumps(value))


class RedisCache:
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

    def get(self, key: str) -> Any | None:
        raw = prefetch.take(key)  # read in the rate limiter's round trip, see eventio.prefetch
        if raw is prefetch.MISSING:
            raw = self._call(self._client.get, key)
        return orjson.loads(raw) if raw else None

    def set(self, key: str, value: Any, ttl: int) -> None:
        self._call(self._client.set, key, orjson.dumps(value), ex=ttl)

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


def make_cache(redis_url: str | None) -> Cache:
    return RedisCache(redis_url) if redis_url else MemoryCache()
