"""MySQL and MariaDB sessions: UTC, utf8mb4, and the server's own statement time limit."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import Engine, event

from eventio.db.extensions import db

# MariaDB: 1969 "Query execution was interrupted (max_statement_time exceeded)";
# MySQL: 3024 "Query execution was interrupted, maximum statement execution time exceeded".
STATEMENT_TIMEOUT_CODES = frozenset({1969, 3024})


def session_settings(server_version: str, statement_timeout_ms: int) -> list[str]:
    """The statements each new connection runs: timestamps read and written in UTC (Laravel
    stores UTC), and slow statements cut by the server's own limit."""
    settings = ["SET time_zone = '+00:00'"]
    if statement_timeout_ms > 0:
        if "mariadb" in server_version.lower():
            settings.append(f"SET SESSION max_statement_time = {statement_timeout_ms / 1000:g}")
        else:
            settings.append(f"SET SESSION max_execution_time = {int(statement_timeout_ms)}")
    return settings


def configure(engine: Engine, statement_timeout_ms: int) -> None:
    """Apply `session_settings` to every connection the engine opens."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        statements = session_settings(dbapi_connection.get_server_info(), statement_timeout_ms)
        with dbapi_connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def is_statement_timeout(orig: BaseException | None) -> bool:
    """A DBAPI error raised because the server's statement time limit was reached."""
    args: tuple[Any, ...] = getattr(orig, "args", ())
    return bool(args) and args[0] in STATEMENT_TIMEOUT_CODES


def init_app(app: Flask) -> None:
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "mysql":
                configure(engine, app.config["STATEMENT_TIMEOUT_MS"])
