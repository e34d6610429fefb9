"""One error envelope for everything: `{"message": …, "errors": {…}}` (registered in
eventio/http/pipeline.py)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, current_app, request
from sqlalchemy.exc import (
    DisconnectionError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from eventio.db import mysql_session, replica
from eventio.db.extensions import db
from eventio.http.responses import json_response
from eventio.querybuilder import InvalidQuery

# The logger keeps its name from before the package moves: log filters match on it.
log = logging.getLogger("eventio.errors")
# How much of an unknown path a 404 or 405 repeats.
MAX_ROUTE_SHOWN = 300
# The database (or its pool) not answering: a 503, never a 500.
UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)


class ApiError(Exception):
    """An answer other than 200, in the contract's body."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    @classmethod
    def unauthenticated(cls) -> ApiError:
        return cls(401, "Unauthenticated.", headers={"WWW-Authenticate": "Bearer"})

    @classmethod
    def forbidden(cls, message: str) -> ApiError:
        return cls(403, message)

    @classmethod
    def not_found(cls, message: str) -> ApiError:
        return cls(404, message)

    @classmethod
    def invalid(cls, key: str, message: str) -> ApiError:
        return cls(422, message, {key: [message]})


def error_response(
    status: int,
    message: str,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"message": message}
    if errors:
        body["errors"] = errors
    response = json_response(body, status)
    response.headers.update(headers or {})
    return response


def validation_message(errors: dict[str, list[str]]) -> str:
    """Laravel's summary: the first message, and how many more there are."""
    messages = [m for ms in errors.values() for m in ms]
    extra = len(messages) - 1
    if extra <= 0:
        return messages[0]
    return f"{messages[0]} (and {extra} more error{'s' if extra > 1 else ''})"


def handle_api_error(error: ApiError) -> Response:
    return error_response(error.status, error.message, error.errors, error.headers)


def handle_invalid_query(error: InvalidQuery) -> Response:
    return error_response(422, error.message, {error.key: [error.message]})


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    headers = {}
    if isinstance(error, NotFound):
        message = f"The route {route_name(request.path)} could not be found."
    elif isinstance(error, MethodNotAllowed):
        allowed = sorted(m for m in error.valid_methods or [] if m != "OPTIONS")
        message = (
            f"The {request.method} method is not supported for route "
            f"{route_name(request.path)}. Supported methods: {', '.join(allowed)}."
        )
        headers["Allow"] = ", ".join(allowed)
    elif status == 422 and isinstance(data := getattr(error, "data", None), dict):
        errors = _webargs_errors(data.get("messages", {}))
        return error_response(422, validation_message(errors), errors)
    elif status >= 500:
        message = "Server Error"
    else:
        message = error.name
    return error_response(status, message, headers=headers)


def route_name(path: str) -> str:
    """The path as Laravel's `$request->path()` names it: without its first `/`, `/` for
    the root; as the access line logs it (a secret after `|` redacted), cut at
    MAX_ROUTE_SHOWN characters. The JSON encoder escapes whatever else it holds."""
    # Here, not at the top: observability imports the auth guard, which imports this.
    from eventio.observability.redact import redact_path

    name = redact_path(path).removeprefix("/") or "/"
    return name if len(name) <= MAX_ROUTE_SHOWN else name[:MAX_ROUTE_SHOWN] + "…"


def _webargs_errors(messages: dict[str, Any]) -> dict[str, list[str]]:
    """webargs nests messages by location (`{"query": {"eventId": [...]}}`); flatten them."""
    errors: dict[str, list[str]] = {}
    for by_field in messages.values():
        for field, field_messages in by_field.items():
            errors[field] = [str(m) for m in field_messages]
    return errors or {"query": ["The query is invalid."]}


# PostgreSQL's SQLSTATEs, MariaDB's and MySQL's error numbers, SQLite's messages.
MISSING_SCHEMA_SQLSTATES = frozenset({"42P01", "42703"})  # undefined table, column
MISSING_SCHEMA_CODES = frozenset({1146, 1054})  # table doesn't exist, unknown column
MISSING_SCHEMA_MESSAGES = ("no such table", "no such column")
READ_ONLY_SQLSTATES = frozenset({"25006", "42501"})  # read-only transaction, no privilege
READ_ONLY_CODES = frozenset({1792, 1290, 1142, 1036})  # read-only transaction / server, denied
MISSING_SCHEMA_MESSAGE = (
    "The database lacks a table or column this request needs; "
    "run `flask --app eventio database check` to see which."
)


def _codes(error: BaseException) -> set[object]:
    """The driver's SQLSTATE (psycopg) and error number (PyMySQL) of a failed statement."""
    orig = getattr(error, "orig", None)
    args = getattr(orig, "args", ())
    return {getattr(orig, "sqlstate", None), args[0] if args else None}


def is_missing_schema(error: BaseException) -> bool:
    """A statement named a table or column the database does not have."""
    codes = _codes(error)
    if codes & MISSING_SCHEMA_SQLSTATES or codes & MISSING_SCHEMA_CODES:
        return True
    return any(text in str(getattr(error, "orig", "")) for text in MISSING_SCHEMA_MESSAGES)


def is_read_only(error: BaseException) -> bool:
    """The database refused a write: a replica, a read-only session, or no privilege."""
    codes = _codes(error)
    return bool(codes & READ_ONLY_SQLSTATES or codes & READ_ONLY_CODES)


def handle_programming_error(error: ProgrammingError) -> Response:
    """A table or column the request needs is missing: 503 naming the check command."""
    if not is_missing_schema(error):
        return handle_unexpected(error)
    return handle_database_unavailable(error)


def handle_database_unavailable(error: SQLAlchemyError) -> Response:
    """The database is gone, refused, too slow, or the pool is exhausted: 503, try again."""
    db.session.rollback()
    retry_after = {"Retry-After": str(current_app.config["RETRY_AFTER_SECONDS"])}
    if is_missing_schema(error):
        log.error("missing table or column on %s %s: %s", request.method, request.path, error)
        return error_response(503, MISSING_SCHEMA_MESSAGE, headers=retry_after)
    if is_statement_timeout(error):
        log.warning("statement timeout on %s %s", request.method, request.path)
        message = "The request took longer than the database allows and was stopped."
    elif replica.is_recovery_conflict(error):
        log.warning("recovery conflict not retried on %s %s", request.method, request.path)
        message = "The read replica cancelled this read to apply new changes; try again."
    else:
        log.warning("database unavailable on %s %s: %s", request.method, request.path, error)
        message = "The database is unavailable; try again shortly."
    return error_response(503, message, headers=retry_after)


def is_statement_timeout(error: SQLAlchemyError) -> bool:
    orig = getattr(error, "orig", None)
    return type(orig).__name__ == "QueryCanceled" or mysql_session.is_statement_timeout(orig)


def handle_unexpected(error: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "Server Error")
