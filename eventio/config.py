"""Settings, read from the environment with defaults that run on a bare machine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def database_url(url: str | None, instance_path: str) -> str:
    """Default to an SQLite file under `instance/`; use psycopg 3 for bare `postgresql://`."""
    if not url:
        return f"sqlite:///{Path(instance_path) / 'eventio.db'}"
    for bare in ("postgres://", "postgresql://"):
        if url.startswith(bare):
            return "postgresql+psycopg://" + url[len(bare) :]
    return url


def _int(name: str, default: int | None) -> int | None:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def from_environment(instance_path: str) -> dict[str, Any]:
    """Every setting the app reads; docs/configuration.md lists them."""
    return {
        "SQLALCHEMY_DATABASE_URI": database_url(os.environ.get("DATABASE_URL"), instance_path),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "STATS_CACHE_TTL": _int("STATS_CACHE_TTL", 300),
        "TOKEN_EXPIRATION_MINUTES": _int("TOKEN_EXPIRATION_MINUTES", None),
        "TOKEN_PREFIX": os.environ.get("TOKEN_PREFIX", ""),
        "LAST_USED_WRITE_INTERVAL": _int("LAST_USED_WRITE_INTERVAL", 60),
        "DEFAULT_PER_PAGE": _int("DEFAULT_PER_PAGE", 15),
        "MAX_PER_PAGE": _int("MAX_PER_PAGE", 1000),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        "JSON_SORT_KEYS": False,
    }
