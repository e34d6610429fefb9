"""Settings: read from the environment once, with defaults that run on a bare machine."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app

EXTENSION = "eventio.settings"

# How a setting or a flag says "off"; anything else present says "on".
OFF = frozenset({"0", "false", "off", "no"})
DEFAULT_MAX_REQUEST_LINE = 8000
# The API reads one body, the token request's few form fields: 16 KiB is generous.
DEFAULT_MAX_BODY_BYTES = 16 * 1024
DEFAULT_RATE_LIMIT = "600 per minute"
# Where prometheus_client's workers write their samples under gunicorn (it reads it too).
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


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


def _text(name: str) -> str | None:
    """The variable's value; unset and empty are both None."""
    return os.environ.get(name) or None


def _int(name: str, default: int | None) -> int | None:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def instance_path() -> str | None:
    """EVENTIO_INSTANCE_PATH: the app's instance folder (Flask finds one when unset)."""
    return _text("EVENTIO_INSTANCE_PATH")


def configured_database_url() -> str | None:
    """DATABASE_URL as given, for a check before any app exists (`python -m eventio.db`)."""
    return _text("DATABASE_URL")


def max_body_bytes() -> int:
    """MAX_BODY_BYTES, for the deploy scripts that size nginx by it before any app exists."""
    return int(os.environ.get("MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES)


def prometheus_multiproc_dir() -> str | None:
    """Set under gunicorn: every worker writes its metrics there (gunicorn's hooks too)."""
    return _text(MULTIPROC_DIR)


def from_environment(instance_path: str) -> dict[str, Any]:
    """Every setting the app reads, keyed as in `app.config`; the README's configuration
    table lists them."""
    return {
        "SQLALCHEMY_DATABASE_URI": database_url(os.environ.get("DATABASE_URL"), instance_path),
        "REDIS_URL": _text("REDIS_URL"),
        "STATS_CACHE_TTL": _int("STATS_CACHE_TTL", 300),
        "TOKEN_EXPIRATION_MINUTES": _int("TOKEN_EXPIRATION_MINUTES", None),
        "TOKEN_PREFIX": os.environ.get("TOKEN_PREFIX", ""),
        "LAST_USED_WRITE_INTERVAL": _int("LAST_USED_WRITE_INTERVAL", 60),
        "DEFAULT_PER_PAGE": _int("DEFAULT_PER_PAGE", 15),
        "MAX_PER_PAGE": _int("MAX_PER_PAGE", 1000),
        "WRITE_DATABASE_URL": _text("WRITE_DATABASE_URL"),
        "OAUTH_DATABASE_URL": _text("OAUTH_DATABASE_URL"),
        "REPLICA_MAX_LAG_SECONDS": _float("REPLICA_MAX_LAG_SECONDS", 30),
        "DB_POOL_SIZE": _int("DB_POOL_SIZE", 5),
        "DB_MAX_OVERFLOW": _int("DB_MAX_OVERFLOW", 5),
        "DB_POOL_TIMEOUT": _int("DB_POOL_TIMEOUT", 2),
        "DB_CONNECT_TIMEOUT": _int("DB_CONNECT_TIMEOUT", 2),
        "STATEMENT_TIMEOUT_MS": _int("STATEMENT_TIMEOUT_MS", 10_000),
        "RETRY_AFTER_SECONDS": _int("RETRY_AFTER_SECONDS", 5),
        "SECRET_KEY": _text("SECRET_KEY"),
        "PROXY_FIX_HOPS": _int("PROXY_FIX_HOPS", 0),
        # Addresses and CIDRs whose X-Forwarded-* is honoured (eventio/http/proxies.py).
        "TRUSTED_PROXIES": _text("TRUSTED_PROXIES"),
        # Required in production: the links of every list (eventio/http/public_url.py).
        "PUBLIC_BASE_URL": _text("PUBLIC_BASE_URL"),
        "COUNT_CACHE_TTL": _int("COUNT_CACHE_TTL", 30),
        "COUNT_CACHE_MIN_ROWS": _int("COUNT_CACHE_MIN_ROWS", 1_000),
        "OAUTH_TOKEN_TTL": _int("OAUTH_TOKEN_TTL", 3600),
        "EXPORT_MAX_SECONDS": _int("EXPORT_MAX_SECONDS", 600),
        "EXPORT_SEND_TIMEOUT_SECONDS": _int("EXPORT_SEND_TIMEOUT_SECONDS", 30),
        "CSV_NEUTRALISE_FORMULAS": is_on(os.environ.get("CSV_NEUTRALISE_FORMULAS") or "1"),
        "MAX_INCLUDED_ROWS": _int("MAX_INCLUDED_ROWS", 10_000),
        "OAUTH_SECRET_GRACE_HOURS": _float("OAUTH_SECRET_GRACE_HOURS", 24),
        # The request line and body limits, and CORS (eventio/http/input_guards.py).
        "MAX_REQUEST_LINE": int(os.environ.get("MAX_REQUEST_LINE") or DEFAULT_MAX_REQUEST_LINE),
        "MAX_BODY_BYTES": max_body_bytes(),
        "CORS_ORIGINS": os.environ.get("CORS_ORIGINS", ""),
        # Per-user budgets on the API (eventio/http/ratelimit.py).
        "RATE_LIMIT": _text("RATE_LIMIT") or DEFAULT_RATE_LIMIT,
        "RATE_LIMIT_ENABLED": is_on(os.environ.get("RATE_LIMIT_ENABLED", "1")),
        "HEALTH_CHECK_TIMEOUT": _float("HEALTH_CHECK_TIMEOUT", 2.0),
        # Logs and metrics (eventio/observability).
        "LOG_FORMAT": _text("LOG_FORMAT") or "json",
        "LOG_LEVEL": _text("LOG_LEVEL") or "INFO",
        "METRICS_TOKEN": _text("METRICS_TOKEN"),
        "METRICS_ENABLED": _text("METRICS_ENABLED"),
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        "JSON_SORT_KEYS": False,
    }


@dataclass(frozen=True, slots=True)
class Settings:
    """The settings the app runs with, typed: the environment with `create_app`'s
    overrides applied, read once when the app is made (`app.config` keeps the same keys)."""

    database_uri: str
    redis_url: str | None
    secret_key: str
    write_database_url: str | None
    oauth_database_url: str | None
    replica_max_lag_seconds: float
    retry_after_seconds: int | None
    proxy_fix_hops: int
    trusted_proxies: str | None
    public_base_url: str | None
    max_request_line: int
    max_body_bytes: int
    cors_origins: str | tuple[str, ...]
    rate_limit: str
    rate_limit_enabled: bool
    health_check_timeout: float
    log_format: str
    log_level: str
    metrics_token: str | None
    metrics_enabled: bool
    prometheus_multiproc_dir: str | None
    # Tokens (eventio/auth).
    token_expiration_minutes: int | None
    token_prefix: str
    last_used_write_interval: int
    oauth_token_ttl: int | None
    oauth_secret_grace_hours: float
    # Lists, includes, exports and the caches (eventio/api, eventio/cache).
    default_per_page: int
    max_per_page: int
    max_included_rows: int | None
    count_cache_ttl: int
    count_cache_min_rows: int
    stats_cache_ttl: int
    export_max_seconds: int | None
    export_send_timeout_seconds: int | None
    csv_neutralise_formulas: bool
    # The database's pool and time limits (eventio/db/engines.py).
    db_pool_size: int
    db_max_overflow: int
    db_pool_timeout: int
    db_connect_timeout: int
    statement_timeout_ms: int | None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Typed from `app.config` once its overrides are in (tests pass raw values)."""
        metrics_token = config["METRICS_TOKEN"] or None
        metrics_enabled = config["METRICS_ENABLED"]
        origins = config["CORS_ORIGINS"]
        return cls(
            database_uri=config["SQLALCHEMY_DATABASE_URI"],
            redis_url=config.get("REDIS_URL") or None,
            secret_key=config["SECRET_KEY"],
            write_database_url=config.get("WRITE_DATABASE_URL") or None,
            oauth_database_url=config.get("OAUTH_DATABASE_URL") or None,
            replica_max_lag_seconds=float(config["REPLICA_MAX_LAG_SECONDS"]),
            retry_after_seconds=config.get("RETRY_AFTER_SECONDS"),
            proxy_fix_hops=int(config["PROXY_FIX_HOPS"] or 0),
            trusted_proxies=config.get("TRUSTED_PROXIES") or None,
            public_base_url=config.get("PUBLIC_BASE_URL") or None,
            max_request_line=int(config["MAX_REQUEST_LINE"]),
            max_body_bytes=int(config["MAX_BODY_BYTES"]),
            cors_origins=origins if isinstance(origins, str) else tuple(origins or ()),
            rate_limit=config["RATE_LIMIT"],
            rate_limit_enabled=is_on(config["RATE_LIMIT_ENABLED"]),
            health_check_timeout=float(config["HEALTH_CHECK_TIMEOUT"]),
            log_format=str(config["LOG_FORMAT"]).lower(),
            log_level=str(config["LOG_LEVEL"]),
            metrics_token=metrics_token,
            # Off unless asked for: by METRICS_ENABLED, or by setting METRICS_TOKEN.
            metrics_enabled=(
                bool(metrics_token) if metrics_enabled is None else is_on(metrics_enabled)
            ),
            prometheus_multiproc_dir=prometheus_multiproc_dir(),
            token_expiration_minutes=optional_int(config["TOKEN_EXPIRATION_MINUTES"]),
            token_prefix=str(config["TOKEN_PREFIX"] or ""),
            last_used_write_interval=int(config["LAST_USED_WRITE_INTERVAL"]),
            oauth_token_ttl=optional_int(config["OAUTH_TOKEN_TTL"]),
            oauth_secret_grace_hours=float(config["OAUTH_SECRET_GRACE_HOURS"]),
            default_per_page=int(config["DEFAULT_PER_PAGE"]),
            max_per_page=int(config["MAX_PER_PAGE"]),
            max_included_rows=optional_int(config["MAX_INCLUDED_ROWS"]),
            count_cache_ttl=int(config["COUNT_CACHE_TTL"]),
            count_cache_min_rows=int(config["COUNT_CACHE_MIN_ROWS"]),
            stats_cache_ttl=int(config["STATS_CACHE_TTL"]),
            export_max_seconds=optional_int(config["EXPORT_MAX_SECONDS"]),
            export_send_timeout_seconds=optional_int(config["EXPORT_SEND_TIMEOUT_SECONDS"]),
            csv_neutralise_formulas=is_on(config["CSV_NEUTRALISE_FORMULAS"]),
            db_pool_size=int(config["DB_POOL_SIZE"]),
            db_max_overflow=int(config["DB_MAX_OVERFLOW"]),
            db_pool_timeout=int(config["DB_POOL_TIMEOUT"]),
            db_connect_timeout=int(config["DB_CONNECT_TIMEOUT"]),
            statement_timeout_ms=optional_int(config["STATEMENT_TIMEOUT_MS"]),
        )


def optional_int(value: Any) -> int | None:
    """An integer setting that may be unset (None: the feature's own default or none)."""
    return None if value is None else int(value)


def install(app: Flask) -> Settings:
    """Type `app.config` once, and keep the result with the app."""
    found = app.extensions[EXTENSION] = Settings.from_config(app.config)
    return found


def settings(app: Flask | None = None) -> Settings:
    """The settings of `app`, else of the current app."""
    found: Settings = (app or current_app).extensions[EXTENSION]
    return found
