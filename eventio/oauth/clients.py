"""OAuth clients: creation, secret rotation with a grace period, verification, revocation."""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from eventio.auth.tokens import create_token, hash_secret
from eventio.models import OAuthClient, PersonalAccessToken, User


def token_name(client_id: str) -> str:
    """The name of the tokens a client is issued, so revoking the client finds them."""
    return f"oauth-client:{client_id}"


@dataclass(frozen=True)
class NewSecret:
    client_id: str
    secret: str = field(repr=False)  # shown once by the CLI, never in a log or traceback


def create_client(
    session: Session,
    user_id: int,
    name: str,
    abilities: list[str],
    now: datetime,
    users: Session | None = None,
) -> NewSecret:
    """A client in `session`'s store, acting as a user of `users` (the same by default;
    DATABASE_URL's when the clients live on OAUTH_DATABASE_URL)."""
    if (users or session).get(User, user_id) is None:
        raise LookupError(f"No user {user_id}.")
    client_id = secrets.token_hex(16)
    secret = secrets.token_urlsafe(40)
    session.add(
        OAuthClient(
            client_id=client_id,
            name=name,
            user_id=user_id,
            abilities=json.dumps(abilities),
            secret_hash=hash_secret(secret),
            created_at=now,
            updated_at=now,
        )
    )
    session.commit()
    return NewSecret(client_id, secret)


def find_client(session: Session, client_id: str) -> OAuthClient | None:
    return session.execute(
        select(OAuthClient).where(OAuthClient.client_id == client_id)
    ).scalar_one_or_none()


def rotate_secret(session: Session, client_id: str, grace: timedelta, now: datetime) -> NewSecret:
    """A new secret; the old one keeps working for `grace`."""
    client = find_client(session, client_id)
    if client is None or client.revoked_at is not None:
        raise LookupError(f"No active client {client_id}.")
    secret = secrets.token_urlsafe(40)
    client.previous_secret_hash = client.secret_hash
    client.previous_secret_expires_at = now + grace
    client.secret_hash = hash_secret(secret)
    client.updated_at = now
    session.commit()
    return NewSecret(client_id, secret)


def revoke_client(
    session: Session, client_id: str, now: datetime, tokens: Session | None = None
) -> int:
    """Revoke the client and delete every token it was issued (in `tokens`, the same
    store by default); returns how many."""
    client = find_client(session, client_id)
    if client is None:
        raise LookupError(f"No client {client_id}.")
    client.revoked_at = now
    client.updated_at = now
    tokens = tokens or session
    deleted = tokens.execute(
        delete(PersonalAccessToken).where(PersonalAccessToken.name == token_name(client_id))
    )
    session.commit()
    if tokens is not session:
        tokens.commit()
    return deleted.rowcount or 0


def verify(client: OAuthClient | None, secret: str, now: datetime) -> bool:
    """The current secret, or the previous one within its grace period; constant time."""
    given = hash_secret(secret)
    current = hmac.compare_digest(client.secret_hash if client else "", given)
    previous = (
        client is not None
        and client.previous_secret_hash is not None
        and client.previous_secret_expires_at is not None
        and client.previous_secret_expires_at > now
        and hmac.compare_digest(client.previous_secret_hash, given)
    )
    return client is not None and client.revoked_at is None and (current or previous)


def issue_access_token(
    session: Session, client: OAuthClient, lifetime: timedelta, now: datetime, prefix: str = ""
) -> str:
    """A Sanctum-format token for the client's user, with the client's abilities and expiry."""
    abilities = json.loads(client.abilities or "[]")
    name = token_name(client.client_id)
    return create_token(session, client.user_id, name, abilities, now + lifetime, now, prefix)
