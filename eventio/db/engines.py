"""The engines' options: pool sizes and timeouts per dialect, and psycopg's cursor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eventio.db.pg_cursor import LazilyDescribedCursor

# psycopg prepares a statement once it has run this many times: never, in practice.
NEVER_BY_COUNT = 2**62


def engine_options(url: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """Pool and timeouts per worker process; PostgreSQL gets connect and statement timeouts."""
    # Bound parameters stay out of exception messages and logs: they can hold secrets.
    options: dict[str, Any] = {"pool_pre_ping": False, "hide_parameters": True}
    # A server's pool: per worker process, recycled before a server's idle timeout.
    pool = {
        "pool_size": config["DB_POOL_SIZE"],
        "max_overflow": config["DB_MAX_OVERFLOW"],
        "pool_timeout": config["DB_POOL_TIMEOUT"],
        "pool_recycle": 1800,
    }
    if url.startswith("postgresql"):
        options.update(
            pool,
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
        options.update(pool, connect_args={"connect_timeout": config["DB_CONNECT_TIMEOUT"]})
    elif url.startswith("sqlite"):
        options["connect_args"] = {"timeout": config["DB_CONNECT_TIMEOUT"]}
    return options
