"""Keyset (cursor) pagination in the shape of Laravel's `cursorPaginate`.

A cursor is opaque base64url: the sort it was issued for, the position (the ordering
values of one row) and the direction, encrypted and authenticated (AES-GCM, with a key
derived from SECRET_KEY, bound to the endpoint), so it shows no value of a row (an
e-mail address on a list sorted by email) to a proxy's log and a forged one is refused. A page
continues strictly after (or before) that position, so rows inserted during a pull
neither repeat nor shift what follows, and a deep page costs what the first does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Select, and_, false, or_, types
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from eventio.querybuilder.builder import BuiltQuery
from eventio.querybuilder.comparison import comparable, comparable_value
from eventio.querybuilder.exceptions import InvalidCursorQuery
from eventio.querybuilder.ordering import OrderKey
from eventio.querybuilder.values import parser_for


@dataclass(frozen=True)
class Cursor:
    values: tuple[Any, ...]
    backwards: bool


# The purpose in the derivation: SECRET_KEY's other uses never share this key.
KEY_LABEL = b"eventio pagination cursor v1"
NONCE_BYTES = 12


@lru_cache(maxsize=8)
def _cipher(secret: bytes) -> AESGCM:
    """AES-256-GCM under a key derived from the app's secret, made once per secret."""
    return AESGCM(hmac.new(secret, KEY_LABEL, hashlib.sha256).digest())


class CursorCodec:
    """Seals and opens cursors with a key every worker and host shares (SECRET_KEY).

    `context` (the endpoint's route) is authenticated, not sent: a cursor of another
    endpoint does not open. A random nonce per cursor; 28 bytes over the JSON."""

    def __init__(self, key: bytes, context: str = "") -> None:
        self._cipher = _cipher(key)
        self._context = KEY_LABEL + b"\x00" + context.encode()

    def encode(self, signature: str, values: Sequence[Any], backwards: bool) -> str:
        return self.seal(
            orjson.dumps({"s": signature, "v": [_plain(v) for v in values], "b": backwards})
        )

    def seal(self, payload: bytes) -> str:
        """base64url (unpadded) of the nonce and the encrypted, authenticated payload."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + self._cipher.encrypt(nonce, payload, self._context)
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()

    def unseal(self, text: str) -> bytes:
        """The payload of a cursor this codec sealed; anything else is a malformed cursor."""
        try:
            raw = base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4))
            nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
            if len(nonce) < NONCE_BYTES:
                raise ValueError
            return self._cipher.decrypt(nonce, sealed, self._context)
        except (ValueError, binascii.Error, InvalidTag):
            raise InvalidCursorQuery.malformed() from None

    def decode(self, text: str, signature: str, order: Sequence[OrderKey]) -> Cursor:
        payload = self.unseal(text)
        try:
            data = orjson.loads(payload)
        except (ValueError, TypeError):
            raise InvalidCursorQuery.malformed() from None
        if not isinstance(data, dict):
            raise InvalidCursorQuery.malformed()
        if data.get("s") != signature:
            raise InvalidCursorQuery.stale()
        values = data.get("v")
        if not isinstance(values, list) or len(values) != len(order):
            raise InvalidCursorQuery.malformed()
        return Cursor(
            tuple(_typed(v, key) for v, key in zip(values, order, strict=True)), bool(data.get("b"))
        )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _typed(value: Any, key: OrderKey) -> Any:
    """The cursor's JSON value back as the column's Python type, checked as a filter value
    is (range, precision, no NUL); anything else is a malformed cursor."""
    if value is None:
        return None
    column = key.column
    try:
        if isinstance(column.type, types.Boolean):
            if value not in (True, False):  # also 1 and 0, as SQLite stores them
                raise TypeError
            return bool(value)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise TypeError
        if column.type.python_type is str:
            if not isinstance(value, str) or "\x00" in value:
                raise TypeError
            return value
        if isinstance(column.type, types.Integer) and not isinstance(value, int):
            raise TypeError
        return parser_for(column)(str(value))
    except (ValueError, TypeError, ArithmeticError, NotImplementedError):
        raise InvalidCursorQuery.malformed() from None


def after(order: Sequence[OrderKey], values: Sequence[Any], backwards: bool) -> ColumnElement[bool]:
    """Rows strictly after `values` in the ordering (before it when `backwards`)."""
    alternatives = []
    for depth, key in enumerate(order):
        equal = [_equal(k.column, v) for k, v in zip(order[:depth], values[:depth], strict=True)]
        alternatives.append(and_(*equal, _beyond(key, values[depth], backwards)))
    predicate = or_(*alternatives)
    lead, value = order[0], values[0]
    descending = lead.descending != backwards
    # A plain range on the first key lets an index seek straight to the position
    # (ascending, NULLs come after every value, so only a NOT NULL column bounds).
    if value is not None and (descending or not lead.nullable):
        column, bound_value = comparable(lead.column), comparable_value(lead.column, value)
        bound = column <= bound_value if descending else column >= bound_value
        return and_(bound, predicate)
    return predicate


def _equal(column: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
    if value is None:
        return column.is_(None)
    equal: ColumnElement[bool] = comparable(column) == comparable_value(column, value)
    return equal


def _beyond(key: OrderKey, value: Any, backwards: bool) -> ColumnElement[bool]:
    descending = key.descending != backwards
    column = comparable(key.column)
    value = comparable_value(key.column, value)
    # NULLs come first descending and last ascending (see OrderKey).
    if value is None:
        return column.is_not(None) if descending else false()
    if descending:
        before: ColumnElement[bool] = column < value
        return before
    beyond: ColumnElement[bool] = column > value
    return or_(beyond, column.is_(None)) if key.nullable else beyond


@dataclass(frozen=True)
class CursorPage:
    rows: list[Row[Any]]
    next_cursor: str | None
    prev_cursor: str | None


def fetch_cursor_page(
    session: Session | Connection,
    statement: Select[Any],
    built: BuiltQuery,
    codec: CursorCodec,
    cursor_text: str,
    per_page: int,
) -> CursorPage:
    """One keyset page: `per_page + 1` rows tell whether there is more; no count."""
    order = built.order
    signature = built.sort_signature
    cursor = codec.decode(cursor_text, signature, order) if cursor_text else None
    backwards = cursor.backwards if cursor else False
    positioned = statement.order_by(None).order_by(*[k.clause(backwards) for k in order])
    if cursor is not None:
        positioned = positioned.where(after(order, cursor.values, backwards))
    rows = list(session.execute(positioned.limit(per_page + 1)).all())
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
    positions = [position(row, order) for row in (rows[0], rows[-1])] if rows else []

    def make(values: tuple[Any, ...], to_back: bool) -> str:
        return codec.encode(signature, values, to_back)

    has_next = more if not backwards else cursor is not None
    has_prev = (cursor is not None) if not backwards else more
    return CursorPage(
        rows=rows,
        next_cursor=make(positions[1], False) if rows and has_next else None,
        prev_cursor=make(positions[0], True) if rows and has_prev else None,
    )


def position(row: Row[Any], order: Sequence[OrderKey]) -> tuple[Any, ...]:
    """The row's values of the ordering's columns: where the next page starts."""
    mapping = row._mapping
    return tuple(mapping[key.column] for key in order)
