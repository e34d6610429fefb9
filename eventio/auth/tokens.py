"""Laravel Sanctum tokens: `<id>|<secret>`, only SHA-256 of the secret stored."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import string
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, DateTime, Select, bindparam, insert, null, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from eventio.models import USER_MORPH_TYPE, PersonalAccessToken, User

TOKEN_ID = re.compile(r"[0-9]{1,18}")
ALPHABET = string.ascii_letters + string.digits
SECRET_LENGTH = 40


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_secret(prefix: str = "") -> str:
    """Sanctum 4's shape: prefix, 40 random characters, and the CRC32b of those 40."""
    entropy = "".join(secrets.choice(ALPHABET) for _ in range(SECRET_LENGTH))
    return f"{prefix}{entropy}{zlib.crc32(entropy.encode()):08x}"


def create_token(
    session: Session,
    user_id: int,
    name: str,
    abilities: list[str],
    expires_at: datetime | None,
    now: datetime,
    prefix: str = "",
) -> str:
    """Store a Sanctum token for the user; return the plain `<id>|<secret>`, not kept.

    A token without `expires_at` leaves the column out of the INSERT, so a Sanctum 2
    table (which has none) takes it; the ORM would send it as NULL."""
    secret = generate_secret(prefix)
    values: dict[str, Any] = {
        "tokenable_type": USER_MORPH_TYPE,
        "tokenable_id": user_id,
        "name": name,
        "token": hash_secret(secret),
        "abilities": json.dumps(abilities),
        "created_at": now,
        "updated_at": now,
    }
    if expires_at is not None:
        values["expires_at"] = expires_at
    statement = insert(PersonalAccessToken.__table__).values(values)
    # An INSERT answers a cursor result, which knows the new row's key.
    result = cast("CursorResult[Any]", session.execute(statement))
    key: Sequence[Any] = result.inserted_primary_key or ()
    token_id = key[0]
    session.commit()
    return f"{token_id}|{secret}"


def parse_abilities(raw: str | None) -> frozenset[str]:
    """The JSON array of abilities; anything else grants nothing."""
    try:
        value: Any = json.loads(raw) if raw else []
    except ValueError:
        return frozenset()
    if not isinstance(value, list):
        return frozenset()
    return frozenset(item for item in value if isinstance(item, str))


@dataclass(frozen=True)
class Authenticated:
    """The caller: a token's id and abilities, and the user it belongs to."""

    token_id: int
    abilities: frozenset[str]
    user_id: int
    user_name: str
    user_email: str
    last_used_at: datetime | None

    def can(self, ability: str) -> bool:
        return "*" in self.abilities or ability in self.abilities


NO_EXPIRY = null().cast(DateTime()).label("expires_at")


def token_columns(expires_at: bool) -> tuple[Any, ...]:
    """The row `verify` reads. Sanctum 2's table has no `expires_at`: it reads as NULL,
    and only the deployment's lifetime expires such a token."""
    return (
        PersonalAccessToken.id,
        PersonalAccessToken.token,
        PersonalAccessToken.abilities,
        PersonalAccessToken.expires_at if expires_at else NO_EXPIRY,
        PersonalAccessToken.created_at,
        PersonalAccessToken.last_used_at,
        User.id.label("user_id"),
        User.name,
        User.email,
    )


TOKEN_COLUMNS = token_columns(expires_at=True)


def token_statement(key: Any, expires_at: bool = True) -> Select[Any]:
    """A user's token row with the user, where `key` holds (its `token_key` parameter).
    Only a user's token: another `tokenable_type` (a team, a device) finds no row."""
    return (
        select(*token_columns(expires_at))
        .join(User, User.id == PersonalAccessToken.tokenable_id)
        .where(PersonalAccessToken.tokenable_type == USER_MORPH_TYPE, key)
        .execution_options(prepare=True)  # eventio.db.prepared: a lookup by key
    )


TOKEN_KEY: BindParameter[Any] = bindparam("token_key")


@dataclass(frozen=True)
class TokenStatements:
    """The two lookups (by id, by hash) for one generation of Sanctum's table."""

    by_id: Select[Any]
    by_hash: Select[Any]

    @classmethod
    def build(cls, expires_at: bool) -> TokenStatements:
        return cls(
            token_statement(PersonalAccessToken.id == TOKEN_KEY, expires_at),
            token_statement(PersonalAccessToken.token == TOKEN_KEY, expires_at),
        )

    def get(self, by_hash: bool) -> Select[Any]:
        return self.by_hash if by_hash else self.by_id


# Built once: a request only binds its token's id (or hash) to one of these.
SANCTUM_3 = TokenStatements.build(expires_at=True)
SANCTUM_2 = TokenStatements.build(expires_at=False)
BY_ID, BY_HASH = SANCTUM_3.by_id, SANCTUM_3.by_hash


def statements_for(sanctum: int | None) -> TokenStatements:
    """Sanctum 3 and later have `expires_at`; Sanctum 2 does not."""
    return SANCTUM_2 if sanctum == 2 else SANCTUM_3


@dataclass(frozen=True)
class TokenLookup:
    """How to fetch a token's row (by id, or by hash for a token with no `|`), and the
    secret to check it against."""

    by_hash: bool
    key: int | str
    secret: str = field(repr=False)  # never in a log line or a traceback

    @property
    def statement(self) -> Select[Any]:
        return BY_HASH if self.by_hash else BY_ID

    @property
    def params(self) -> dict[str, Any]:
        return {"token_key": self.key}


def lookup(plain: str) -> TokenLookup | None:
    """As Sanctum: split on the first `|` and fetch the row by id; a token with no `|`
    is looked up by the hash of the whole string. A token whose user is gone has no row."""
    if "|" not in plain:
        return TokenLookup(by_hash=True, key=hash_secret(plain), secret=plain)
    token_id, secret = plain.split("|", 1)
    if not TOKEN_ID.fullmatch(token_id) or not secret:
        return None
    return TokenLookup(by_hash=False, key=int(token_id), secret=secret)


def verify(
    row: Any, secret: str, now: datetime, lifetime: timedelta | None
) -> Authenticated | None:
    """The caller, if the row's hash matches the secret (in constant time) and it has not
    expired, by its own `expires_at` or by the deployment's lifetime from `created_at`."""
    if not hmac.compare_digest(row.token or "", hash_secret(secret)):
        return None
    if row.expires_at is not None and _naive(row.expires_at) <= now:
        return None
    created = row.created_at
    if lifetime is not None and created is not None and _naive(created) + lifetime <= now:
        return None
    return Authenticated(
        token_id=row.id,
        abilities=parse_abilities(row.abilities),
        user_id=row.user_id,
        user_name=row.name,
        user_email=row.email,
        last_used_at=row.last_used_at,
    )


def find_token(
    session: Session | Connection,
    plain: str,
    now: datetime,
    lifetime: timedelta | None = None,
    statements: TokenStatements = SANCTUM_3,
) -> Authenticated | None:
    """The caller a bearer token names, or None when it is unknown, wrong or expired."""
    found = lookup(plain)
    if found is None:
        return None
    row = session.execute(statements.get(found.by_hash), found.params).first()
    return None if row is None else verify(row, found.secret, now, lifetime)


def _naive(value: datetime) -> datetime:
    """Stored timestamps are UTC; compare them naive."""
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value
