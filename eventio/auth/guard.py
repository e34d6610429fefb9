"""The Flask side of access: who is calling, and what they may read at an event."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request
from sqlalchemy import Select, bindparam, or_, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from eventio.auth.permissions import (
    EventAccess,
    ability,
    access_from_rows,
    event_access_statement,
    with_event_access,
)
from eventio.auth.tokens import (
    SANCTUM_2,
    SANCTUM_3,
    Authenticated,
    TokenStatements,
    lookup,
    verify,
)
from eventio.db.extensions import db
from eventio.db.reads import discard, reads
from eventio.db.replica import is_recovery_conflict
from eventio.db.state import schema
from eventio.http.errors import ApiError
from eventio.http.state import state
from eventio.models import PersonalAccessToken, User

log = logging.getLogger(__name__)
View = TypeVar("View", bound=Callable[..., Any])


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


# `Authorization: Bearer Bearer 1|abc`: what pasting `Bearer 1|abc` into a client (Swagger
# UI's Authorize dialog) that adds `Bearer ` itself sends.
DOUBLED_BEARER = (
    "Unauthenticated. The token starts with `Bearer `: send the token alone after `Bearer ` "
    "(`Authorization: Bearer 1|abc...`); a client that adds `Bearer ` itself, such as the "
    "docs page's Authorize dialog, wants only the token."
)


def unauthenticated() -> ApiError:
    """The 401 without a usable token; it says so when the token repeats `Bearer`.

    Only a refused request reads the header again, so an accepted one pays nothing."""
    error = ApiError.unauthenticated()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip()[:7].lower() == "bearer ":
        return ApiError(error.status, DOUBLED_BEARER, headers=error.headers)
    return error


EVENT_ID = bindparam("event_id")


def at_event(statements: TokenStatements) -> TokenStatements:
    """The token lookups extended with the caller's permissions at the route's event."""
    return TokenStatements(
        with_event_access(statements.by_id, EVENT_ID, User.id),
        with_event_access(statements.by_hash, EVENT_ID, User.id),
    )


# Built once per generation of Sanctum's table; the app's database picks one.
LOOKUPS = {
    sanctum: (statements, at_event(statements))
    for sanctum, statements in ((3, SANCTUM_3), (2, SANCTUM_2))
}


def token_lookups() -> tuple[TokenStatements, TokenStatements]:
    """The lookups for this database's token table, decided by its inspection (made once;
    a table with `expires_at` is read as Sanctum 3 when the table cannot be seen)."""
    return LOOKUPS[2 if schema().get().sanctum == 2 else 3]


def execute(statement: Select[Any], params: dict[str, Any]) -> list[Any]:
    """The request's first statement, on the connection it reads on (eventio.db.reads).

    A connection the database dropped since the last request (it restarted) is replaced
    once, so no ping is needed before each request; so is a read a standby cancelled."""
    try:
        return list(reads().execute(statement, params))
    except DBAPIError as error:
        # A standby's recovery conflict cancelled only the statement: run it once more.
        if not error.connection_invalidated and not is_recovery_conflict(error):
            raise
        if error.connection_invalidated:
            discard()
        return list(reads().execute(statement, params))


def authenticate() -> None:
    """Before every API request: resolve the bearer token or answer 401."""
    plain = bearer_token()
    if plain is None:
        raise unauthenticated()
    found = lookup(plain)
    if found is None:
        raise ApiError.unauthenticated()
    # A route about an event fetches the caller's permissions there in the same statement.
    event_id = (request.view_args or {}).get("event_id")
    plain_lookup, lookup_at_event = token_lookups()
    if event_id is None:
        rows = execute(plain_lookup.get(found.by_hash), found.params)
    else:
        statement = lookup_at_event.get(found.by_hash)
        rows = execute(statement, {**found.params, "event_id": event_id})
    minutes = current_app.config["TOKEN_EXPIRATION_MINUTES"]
    now = utcnow()
    lifetime = timedelta(minutes=minutes) if minutes else None
    caller = verify(rows[0], found.secret, now, lifetime) if rows else None
    if caller is None:
        raise ApiError.unauthenticated()
    g.caller = state().caller = caller  # bridge (H1): the pipeline reads the state
    if event_id is not None:
        g.prefetched_access = (event_id, access_from_rows(rows))
    touch(caller, now)


def touch(caller: Authenticated, now: datetime) -> None:
    """Write `last_used_at` at most once a minute; a refused write never fails the request.
    On a read-only DATABASE_URL with no WRITE_DATABASE_URL it is not tried at all."""
    interval = timedelta(seconds=current_app.config["LAST_USED_WRITE_INTERVAL"])
    if caller.last_used_at is not None and now - caller.last_used_at < interval:
        return
    has_write_database = bool(current_app.config["WRITE_DATABASE_URL"])
    if not has_write_database and schema().get().read_only:
        return  # said once, in the log, when the database was inspected
    column = PersonalAccessToken.last_used_at
    statement = (
        update(PersonalAccessToken)
        .where(PersonalAccessToken.id == caller.token_id)
        .where(or_(column.is_(None), column <= now - interval))
        .values(last_used_at=now)
    )
    # Its own short transaction, on the write database when there is one: the request's
    # connection reads in autocommit.
    engine = db.engines["write" if has_write_database else None]
    try:
        with engine.begin() as connection:
            connection.execute(statement)
    except SQLAlchemyError as error:
        # A read-only replica refuses the write; the request goes on without it.
        schema().say_once(
            "last_used_at", "last_used_at not written (logged once): %s", type(error).__name__
        )
        log.debug("last_used_at not written for token %s: %s", caller.token_id, error)


def caller() -> Authenticated:
    return g.caller  # type: ignore[no-any-return]


def require_ability(name: str) -> None:
    if not caller().can(name):
        raise ApiError.forbidden(f"This token does not have the `{name}` ability.")


def authorize_event(event_id: int, areas: Iterable[str]) -> EventAccess:
    """The event, if the caller may read every area at it: 403 for an ability, 404, 403."""
    areas = list(areas)
    for area in areas:
        require_ability(ability(area))
    prefetched = g.get("prefetched_access")
    if prefetched is not None and prefetched[0] == event_id:
        access = prefetched[1]
    else:
        statement = event_access_statement(event_id, caller().user_id)
        access = access_from_rows(list(reads().execute(statement).all()))
    if access is None:
        raise ApiError.not_found(f"Event {event_id} not found.")
    require_areas(access, areas)
    g.event_access = access
    return access


def require_areas(access: EventAccess, areas: Iterable[str]) -> None:
    for area in areas:
        require_ability(ability(area))
        if not access.allows(area):
            raise ApiError.forbidden(
                f"You do not have `read` permission on `{area}` for event {access.event_id}."
            )


def event_access() -> EventAccess | None:
    return g.get("event_access")


def for_event(*areas: str) -> Callable[[View], View]:
    """Authorise the `<event_id>` of the route for `areas`; the view gets the `EventAccess`."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(event_id: int, **kwargs: Any) -> Any:
            return view(authorize_event(event_id, areas), **kwargs)

        wrapper.areas = areas  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator
