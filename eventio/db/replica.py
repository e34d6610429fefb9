"""Reading from a PostgreSQL hot standby: recovery conflicts retried once, lag measured."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, request
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from eventio.db.extensions import db

# The logger keeps its name from before the package moves: log filters match on it.
log = logging.getLogger("eventio.replica")

# SQLSTATE 40001 as a standby sends it: replay needed a row version or lock a running
# query held, and `max_standby_streaming_delay` ran out. Running it again works: the
# new statement starts after that replay.
RECOVERY_CONFLICT_SQLSTATE = "40001"
RECOVERY_CONFLICT_TEXT = "conflict with recovery"
SAFE_METHODS = frozenset({"GET", "HEAD"})

# Lag as the time since the last replayed commit, but 0 when everything received has
# been replayed (an idle primary sends no commits, which is no lag). NULL: not a standby.
LAG = text(
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL"
    " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
)


def is_recovery_conflict(error: BaseException) -> bool:
    """A standby cancelled the statement so that replay could go on."""
    orig = getattr(error, "orig", None)
    return getattr(
        orig, "sqlstate", None
    ) == RECOVERY_CONFLICT_SQLSTATE and RECOVERY_CONFLICT_TEXT in str(orig)


def lag_seconds(connection: Connection) -> float | None:
    """How far a standby's replay is behind, in seconds; None on a primary or non-PostgreSQL."""
    if connection.dialect.name != "postgresql":
        return None
    lag = connection.execute(LAG).scalar()
    return None if lag is None else max(0.0, float(lag))


def retry_on_recovery_conflict(dispatch: Callable[[], Any]) -> Callable[[], Any]:
    """Run a GET or HEAD view once more when the standby cancelled one of its reads;
    a second conflict goes to the error handlers (503 with Retry-After)."""

    def dispatch_request() -> Any:
        try:
            return dispatch()
        except DBAPIError as error:
            if request.method not in SAFE_METHODS or not is_recovery_conflict(error):
                raise
            log.warning("recovery conflict on %s %s: retried once", request.method, request.path)
            db.session.rollback()  # a read through the session may have left it failed
            return dispatch()

    return dispatch_request


def init_app(app: Flask) -> None:
    app.dispatch_request = retry_on_recovery_conflict(app.dispatch_request)  # type: ignore[method-assign]
