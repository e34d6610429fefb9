"""Settings, read from the environment with defaults that run on a bare machine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from eventio.db.pg_cursor import LazilyDescribedCursor


# How a setting or a flag says "off"; anything else present says "on".
OFF = frozenset({"0", "false", "off", "no"})


def is_on(value: object) -> bool:
    """The one boolean parser: `0`, `false`, `off` and `no` (any case, spaces ignored) are
    off; any other value is on."""
    return str(value).strip().lower() not in OFF


def database_url(url: str | None, instance_path: str) -> str:
    """Default to an SQLite file under `instance/`; psycopg 3 drives a bare `postgresql://`,
    PyMySQL a bare `mysql://` or `mariadb://` (in utf8mb4, as Laravel connects)."""
    if not url:
        return f"sqlite:///{Path(instance_path) / 'eventio.db'}"
    for bare in ("postgres://", "postgresql://"):
        if url.startswith(bare):
            return "postgresql+psycopg://" + url[len(bare) :]
    for bare in ("mysql://", "mariadb://", "mysql+pymysql://", "mariadb+pymysql://"):
        if url.startswith(bare):
            rest = url[len(bare) :]
            if "charset=" not in rest:
                rest += ("&" if "?" in rest else "?") + "charset=utf8mb4"
            return "mysql+pymysql://" + rest
    return url


# psycopg prepares a statement once it has run this many times: never, in practice.
NEVER_BY_COUNT = 2**62


def engine_options(url: str, config: dict[str, Any]) -> dict[str, Any]:
    """Pool and timeouts per worker process; PostgreSQL gets connect and statement timeouts."""
    # Bound parameters stay out of exception messages and logs: they can hold secrets.
    options: dict[str, Any] = {"pool_pre_ping": False, "hide_parameters": True}
    if url.startswith("postgresql"):
        options.update(
            pool_size=config["DB_POOL_SIZE"],
            max_overflow=config["DB_MAX_OVERFLOW"],
            pool_timeout=config["DB_POOL_TIMEOUT"],
            pool_recycle=1800,
            connect_args={
                "connect_timeout": config["DB_CONNECT_TIMEOUT"],
                "options": f"-c statement_timeout={config['STATEMENT_TIMEOUT_MS']}",
                # A plan prepared for a small event must not be reused for a large one:
                # nothing is prepared on its own (`None` would also refuse the lookups by
                # key that ask with `prepare=True`, see eventio.db.prepared).
                "prepare_threshold": NEVER_BY_COUNT,
                "cursor_factory": LazilyDescribedCursor,
            },
        )
    elif url.startswith("mysql"):
        # Session time zone and statement limit: eventio.db.mysql_session, on each connect.
        options.update(
            pool_size=config["DB_POOL_SIZE"],
            max_overflow=config["DB_MAX_OVERFLOW"],
            pool_timeout=config["DB_POOL_TIMEOUT"],
            pool_recycle=1800,
            connect_args={"connect_timeout": config["DB_CONNECT_TIMEOUT"]},
        )
    elif url.startswith("sqlite"):
        options["connect_args"] = {"timeout": config["DB_CONNECT_TIMEOUT"]}
    return options


def _int(name: str, default: int | None) -> int | None:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def from_environment(instance_path: str) -> dict[str, Any]:
    """Every setting the app reads; the README's configuration table lists them."""
    return {
        "SQLALCHEMY_DATABASE_URI": database_url(os.environ.get("DATABASE_URL"), instance_path),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "STATS_CACHE_TTL": _int("STATS_CACHE_TTL", 300),
        "TOKEN_EXPIRATION_MINUTES": _int("TOKEN_EXPIRATION_MINUTES", None),
        "TOKEN_PREFIX": os.environ.get("TOKEN_PREFIX", ""),
        "LAST_USED_WRITE_INTERVAL": _int("LAST_USED_WRITE_INTERVAL", 60),
        "DEFAULT_PER_PAGE": _int("DEFAULT_PER_PAGE", 15),
        "MAX_PER_PAGE": _int("MAX_PER_PAGE", 1000),
        "WRITE_DATABASE_URL": os.environ.get("WRITE_DATABASE_URL") or None,
        "OAUTH_DATABASE_URL": os.environ.get("OAUTH_DATABASE_URL") or None,
        "REPLICA_MAX_LAG_SECONDS": float(os.environ.get("REPLICA_MAX_LAG_SECONDS") or 30),
        "DB_POOL_SIZE": _int("DB_POOL_SIZE", 5),
        "DB_MAX_OVERFLOW": _int("DB_MAX_OVERFLOW", 5),
        "DB_POOL_TIMEOUT": _int("DB_POOL_TIMEOUT", 2),
        "DB_CONNECT_TIMEOUT": _int("DB_CONNECT_TIMEOUT", 2),
        "STATEMENT_TIMEOUT_MS": _int("STATEMENT_TIMEOUT_MS", 10_000),
        "RETRY_AFTER_SECONDS": _int("RETRY_AFTER_SECONDS", 5),
        "SECRET_KEY": os.environ.get("SECRET_KEY") or None,
        "PROXY_FIX_HOPS": _int("PROXY_FIX_HOPS", 0),
        # Addresses and CIDRs whose X-Forwarded-* is honoured (eventio/http/proxies.py).
        "TRUSTED_PROXIES": os.environ.get("TRUSTED_PROXIES") or None,
        # Required in production: the links of every list (eventio/http/public_url.py).
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL") or None,
        "COUNT_CACHE_TTL": _int("COUNT_CACHE_TTL", 30),
        "COUNT_CACHE_MIN_ROWS": _int("COUNT_CACHE_MIN_ROWS", 1_000),
        "OAUTH_TOKEN_TTL": _int("OAUTH_TOKEN_TTL", 3600),
        "EXPORT_MAX_SECONDS": _int("EXPORT_MAX_SECONDS", 600),
        "EXPORT_SEND_TIMEOUT_SECONDS": _int("EXPORT_SEND_TIMEOUT_SECONDS", 30),
        "CSV_NEUTRALISE_FORMULAS": _int("CSV_NEUTRALISE_FORMULAS", 1) != 0,
        "MAX_INCLUDED_ROWS": _int("MAX_INCLUDED_ROWS", 10_000),
        "OAUTH_SECRET_GRACE_HOURS": float(os.environ.get("OAUTH_SECRET_GRACE_HOURS") or 24),
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        "JSON_SORT_KEYS": False,
    }
