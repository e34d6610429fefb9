"""Where OAuth's rows live: clients in the API's own `oauth_clients` table (on
OAUTH_DATABASE_URL when set, else the database writes go to), issued tokens in
`personal_access_tokens` (WRITE_DATABASE_URL when set, else DATABASE_URL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from eventio.db.extensions import db
from eventio.db.inspection import Inspection
from eventio.http.errors import is_missing_schema, is_read_only

NOT_SET_UP = (
    "OAuth needs the API's own `oauth_clients` table, which this database does not have: "
    "run `flask --app eventio database attach` on a writable database, or set "
    "OAUTH_DATABASE_URL to a database the API may write."
)
READ_ONLY = (
    "OAuth writes the tokens it issues, and the database is read-only: set "
    "WRITE_DATABASE_URL to a writable database (the primary)."
)
SANCTUM_2 = (
    "OAuth tokens expire by `personal_access_tokens.expires_at`, which this token table "
    "(made by Sanctum 2) does not have: add the column as Sanctum 3's migration does."
)


class OAuthUnavailable(Exception):
    """OAuth cannot work on this deployment until something is set up; says what."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def clients_engine() -> Engine:
    if current_app.config.get("OAUTH_DATABASE_URL"):
        return db.engines["oauth"]
    return tokens_engine()


def tokens_engine() -> Engine:
    return db.engines["write"] if current_app.config["WRITE_DATABASE_URL"] else db.engine


def clients_session() -> Session:
    return Session(clients_engine())


@contextmanager
def sessions() -> Iterator[tuple[Session, Session]]:
    """The clients' session and the tokens' one: the same session when both live in the
    same database (SQLite would otherwise lock one against the other)."""
    with Session(clients_engine()) as clients:
        if tokens_engine() is clients_engine():
            yield clients, clients
        else:
            with Session(tokens_engine()) as tokens:
                yield clients, tokens


def problem(inspection: Inspection, config: Any) -> str | None:
    """What keeps OAuth from working, judged from DATABASE_URL's inspection."""
    if inspection.sanctum == 2:
        return SANCTUM_2
    if inspection.read_only and not config.get("WRITE_DATABASE_URL"):
        return READ_ONLY
    if not config.get("OAUTH_DATABASE_URL") and not inspection.oauth_tables:
        return NOT_SET_UP
    return None


def unavailable(error: SQLAlchemyError) -> OAuthUnavailable | None:
    """The store refused for want of set-up (no table, read-only), or None."""
    if is_missing_schema(error):
        return OAuthUnavailable(NOT_SET_UP)
    if is_read_only(error):
        return OAuthUnavailable(READ_ONLY)
    return None
