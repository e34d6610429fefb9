"""API2:2023 Broken Authentication: every way a token can be wrong, for both secret shapes.

Sanctum 2-3 secrets (40 random characters) and Sanctum 4 ones (`TOKEN_PREFIX`, 40
characters, CRC32b) are attacked alike: mangled, truncated, moved to another token's
id, expired, revoked, orphaned. Each refusal must be the same 401, byte for byte, with
`WWW-Authenticate: Bearer`: whether the id, the secret, the expiry or the user was wrong
is not told, nor whether the event or row in the path exists.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import string
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, update
from werkzeug.test import TestResponse

from eventio.auth.guard import utcnow
from eventio.auth.tokens import generate_secret
from eventio.db.extensions import db
from eventio.models import EventUser, PersonalAccessToken, User
from eventio.oauth.clients import create_client, revoke_client
from tests.conftest import ALL_AREAS
from tests.factories import BookingFactory, EventFactory, UserFactory, grant, issue_token
from tests.security.conftest import API, UNAUTHENTICATED, fresh_globals

PREFIX = "eventio_"
ARABIC_INDIC_ZERO, FULLWIDTH_ZERO = "\u0660", "\uff10"
# Headers that differ between any two answers, refused or not.
VOLATILE = {"X-Request-ID", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Date"}


def old_secret() -> str:
    """Sanctum 2-3: `Str::random(40)`, letters and digits, no prefix nor checksum."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))


SECRET_SHAPES: dict[str, Callable[[], str]] = {
    "old-40-characters": old_secret,
    "new-with-checksum": lambda: generate_secret(""),
    "new-with-prefix-and-checksum": lambda: generate_secret(PREFIX),
}


@dataclass
class Holder:
    """A user with admin at an event holding a booking, and tokens of every secret shape."""

    app: Flask
    client: FlaskClient
    user_id: int
    event_id: int
    booking_id: int
    tokens: dict[str, str]

    @property
    def paths(self) -> list[str]:
        """Routes without an event, with one, and with rows that exist or do not."""
        event, booking = self.event_id, self.booking_id
        return [
            "/user",
            "/events",
            f"/event/{event}/bookings/{booking}/tickets",
            f"/event/{event + 1000}/bookings",
            f"/event/{event}/bookings/{booking + 1000}",
        ]

    def get(self, path: str, authorization: str | None, **extra: Any) -> TestResponse:
        headers = {} if authorization is None else {"Authorization": authorization}
        with fresh_globals(self.app):
            response = self.client.get(API + path, headers={**headers, **extra})
            response.get_data()
        return response


@pytest.fixture
def holder(app: Flask, client: FlaskClient) -> Holder:
    user = UserFactory()
    event = EventFactory()
    grant(user.id, event.id, dict.fromkeys(ALL_AREAS, "admin"))
    booking = BookingFactory(event_id=event.id)
    tokens = {shape: issue_token(user.id, secret=make()) for shape, make in SECRET_SHAPES.items()}
    return Holder(app, client, user.id, event.id, booking.id, tokens)


def fingerprint(response: TestResponse) -> tuple[int, bytes, dict[str, str]]:
    """What a client can tell about an answer: status, body and the stable headers."""
    headers = {k: v for k, v in response.headers.items() if k not in VOLATILE}
    return response.status_code, response.get_data(), headers


@pytest.fixture
def refusal(holder: Holder) -> tuple[int, bytes, dict[str, str]]:
    """The answer to no token at all: every refusal must look exactly like it."""
    response = holder.get("/user", None)
    assert response.status_code == 401
    assert response.get_data() == UNAUTHENTICATED
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.mimetype == "application/json"
    return fingerprint(response)


def split(token: str) -> tuple[int, str]:
    token_id, secret = token.split("|", 1)
    return int(token_id), secret


def digits(number: int, zero: str) -> str:
    """The number in another script's decimal digits (Python's int() reads them)."""
    return "".join(chr(ord(zero) + int(d)) for d in str(number))


def changed(text: str) -> str:
    """The same text with its last character replaced."""
    return text[:-1] + ("A" if text[-1] != "A" else "B")


# Each builds an Authorization header from a valid token's id and secret.
MANGLED: dict[str, Callable[[int, str], str | None]] = {
    "no-header": lambda i, s: None,
    "empty-header": lambda i, s: "",
    "scheme-only": lambda i, s: "Bearer",
    "scheme-and-spaces": lambda i, s: "Bearer    ",
    "no-scheme": lambda i, s: f"{i}|{s}",
    "scheme-glued-to-token": lambda i, s: f"Bearer{i}|{s}",
    "tab-after-the-scheme": lambda i, s: f"Bearer\t{i}|{s}",
    "token-scheme": lambda i, s: f"Token {i}|{s}",
    "basic-with-the-token": lambda i, s: "Basic " + base64.b64encode(f"{i}|{s}".encode()).decode(),
    "basic-id-and-secret": lambda i, s: "Basic " + base64.b64encode(f"{i}:{s}".encode()).decode(),
    "no-bar-id-glued-to-secret": lambda i, s: f"Bearer {i}{s}",
    "no-bar-garbage": lambda i, s: "Bearer not-a-token",
    "empty-id": lambda i, s: f"Bearer |{s}",
    "empty-secret": lambda i, s: f"Bearer {i}|",
    "bar-only": lambda i, s: "Bearer |",
    "non-numeric-id": lambda i, s: f"Bearer abc|{s}",
    "negative-id": lambda i, s: f"Bearer -{i}|{s}",
    "signed-id": lambda i, s: f"Bearer +{i}|{s}",
    "hex-id": lambda i, s: f"Bearer 0x{i:x}|{s}",
    "arabic-indic-digit-id": lambda i, s: f"Bearer {digits(i, ARABIC_INDIC_ZERO)}|{s}",
    "fullwidth-digit-id": lambda i, s: f"Bearer {digits(i, FULLWIDTH_ZERO)}|{s}",
    "unknown-id": lambda i, s: f"Bearer {i + 1000}|{s}",
    "unknown-18-digit-id": lambda i, s: f"Bearer {'9' * 18}|{s}",
    "id-beyond-bigint": lambda i, s: f"Bearer {'9' * 19}|{s}",
    "very-long-id": lambda i, s: f"Bearer {'1' * 10_000}|{s}",
    "truncated-by-one": lambda i, s: f"Bearer {i}|{s[:-1]}",
    "truncated-to-half": lambda i, s: f"Bearer {i}|{s[: len(s) // 2]}",
    "checksum-dropped": lambda i, s: f"Bearer {i}|{s[:-8]}",
    "checksum-changed": lambda i, s: f"Bearer {i}|{changed(s)}",
    "checksum-recomputed-on-other-entropy": lambda i, s: f"Bearer {i}|{rechecksummed(s)}",
    "extended": lambda i, s: f"Bearer {i}|{s}0",
    "first-character-changed": lambda i, s: f"Bearer {i}|{changed(s[::-1])[::-1]}",
    "swapped-case": lambda i, s: f"Bearer {i}|{s.swapcase()}",
    "prefix-stripped": lambda i, s: f"Bearer {i}|{s.removeprefix(PREFIX)}",
    "prefix-added-twice": lambda i, s: f"Bearer {i}|{PREFIX}{s}",
    "stored-hash-as-secret": lambda i, s: f"Bearer {i}|{hashlib.sha256(s.encode()).hexdigest()}",
    "stored-hash-alone": lambda i, s: f"Bearer {hashlib.sha256(s.encode()).hexdigest()}",
    "non-ascii-secret": lambda i, s: f"Bearer {i}|{s[:-1]}é",
    "very-long-secret": lambda i, s: f"Bearer {i}|{s * 250}",
    "space-inside-the-token": lambda i, s: f"Bearer {i}| {s}",
    "tab-inside-the-token": lambda i, s: f"Bearer {i}|{s[:10]}\t{s[10:]}",
    "two-tokens-with-a-comma": lambda i, s: f"Bearer {i}|{s}, Bearer {i}|{s}",
    "two-tokens-with-a-space": lambda i, s: f"Bearer {i}|{s} {i}|{s}",
}


def rechecksummed(secret: str) -> str:
    """Another well-formed Sanctum 4 secret: changed entropy, its checksum recomputed."""
    prefix = PREFIX if secret.startswith(PREFIX) else ""
    entropy = changed(secret.removeprefix(prefix)[:40])
    return f"{prefix}{entropy}{zlib.crc32(entropy.encode()):08x}"


@pytest.mark.parametrize("shape", SECRET_SHAPES)
def test_every_mangled_token_gets_the_same_401_on_every_route(
    holder: Holder, refusal: tuple[int, bytes, dict[str, str]], shape: str
) -> None:
    token_id, secret = split(holder.tokens[shape])
    problems = []
    for name, mangle in MANGLED.items():
        authorization = mangle(token_id, secret)
        if authorization == f"Bearer {token_id}|{secret}":
            continue  # the mangling does not apply to this shape (no prefix to strip…)
        for path in holder.paths:
            answer = fingerprint(holder.get(path, authorization))
            if answer != refusal:
                problems.append(f"{name} {path}: {answer[0]} {answer[1][:80]!r} {answer[2]}")
    assert not problems, "\n".join(problems)
    # The token itself still works: the refusals were about the mangling.
    assert holder.get("/user", f"Bearer {token_id}|{secret}").status_code == 200


@pytest.mark.parametrize("shape", SECRET_SHAPES)
def test_the_secret_of_one_token_under_the_id_of_another_is_refused(
    holder: Holder, refusal: tuple[int, bytes, dict[str, str]], shape: str
) -> None:
    token_id, secret = split(holder.tokens[shape])
    for other in holder.tokens.values():
        other_id, other_secret = split(other)
        if other_id != token_id:
            assert fingerprint(holder.get("/user", f"Bearer {other_id}|{secret}")) == refusal
            assert fingerprint(holder.get("/user", f"Bearer {token_id}|{other_secret}")) == refusal


# Sent the way the RFCs allow: the scheme in any case, 1*SP before the token, and
# optional whitespace around the header's value.
ACCEPTED: dict[str, Callable[[str], str]] = {
    "bearer": lambda t: f"Bearer {t}",
    "lowercase-scheme": lambda t: f"bearer {t}",
    "uppercase-scheme": lambda t: f"BEARER {t}",
    "several-spaces-after-the-scheme": lambda t: f"Bearer    {t}",
    "trailing-spaces": lambda t: f"Bearer {t}   ",
    "trailing-tab": lambda t: f"Bearer {t}\t",
}


@pytest.mark.parametrize("shape", SECRET_SHAPES)
def test_whitespace_and_case_the_rfcs_allow_are_accepted(holder: Holder, shape: str) -> None:
    answers = {
        name: holder.get("/user", header(holder.tokens[shape])).status_code
        for name, header in ACCEPTED.items()
    }
    assert answers == dict.fromkeys(ACCEPTED, 200)


@pytest.mark.parametrize(
    ("where", "send"),
    [
        ("token-query-parameter", lambda t: ({"query": f"token={t}"}, {})),
        ("access-token-query-parameter", lambda t: ({"query": f"access_token={t}"}, {})),
        ("api-token-query-parameter", lambda t: ({"query": f"api_token={t}"}, {})),
        ("cookie", lambda t: ({}, {"Cookie": f"token={t}; laravel_session={t}"})),
        ("x-api-key-header", lambda t: ({}, {"X-Api-Key": t})),
        ("x-auth-token-header", lambda t: ({}, {"X-Auth-Token": t})),
        ("proxy-authorization-header", lambda t: ({}, {"Proxy-Authorization": f"Bearer {t}"})),
    ],
)
def test_a_token_anywhere_but_the_authorization_header_is_refused(
    holder: Holder,
    refusal: tuple[int, bytes, dict[str, str]],
    where: str,
    send: Callable[[str], tuple[dict[str, str], dict[str, str]]],
) -> None:
    """docs/authentication.md: the token travels in `Authorization: Bearer` only, so it
    does not end up in access logs, browser history or a cross-site request."""
    for token in holder.tokens.values():
        query, headers = send(token)
        path = "/user" + (f"?{query['query']}" if query else "")
        assert fingerprint(holder.get(path, None, **headers)) == refusal


def set_token(token: str, **values: Any) -> None:
    db.session.execute(
        update(PersonalAccessToken).where(PersonalAccessToken.id == split(token)[0]).values(values)
    )
    db.session.commit()


def delete_user(user_id: int) -> None:
    db.session.execute(delete(EventUser).where(EventUser.user_id == user_id))
    db.session.execute(delete(User).where(User.id == user_id))
    db.session.commit()


# Each kills a working token (and says so to the app's config where it has to).
KILLS: dict[str, Callable[[Flask, pytest.MonkeyPatch, Holder, str], None]] = {
    "expired-a-second-ago": lambda app, mp, h, t: set_token(
        t, expires_at=utcnow() - timedelta(seconds=1)
    ),
    "expires-now": lambda app, mp, h, t: set_token(t, expires_at=utcnow()),
    "past-the-global-lifetime": lambda app, mp, h, t: (
        set_token(t, created_at=utcnow() - timedelta(minutes=31)),
        mp.setitem(app.config, "TOKEN_EXPIRATION_MINUTES", 30),
    ),
    "revoked": lambda app, mp, h, t: (
        db.session.execute(
            delete(PersonalAccessToken).where(PersonalAccessToken.id == split(t)[0])
        ),
        db.session.commit(),
    ),
    "user-deleted": lambda app, mp, h, t: delete_user(h.user_id),
    "owned-by-another-model": lambda app, mp, h, t: set_token(
        t, tokenable_type="App\\Models\\Admin"
    ),
}


@pytest.mark.parametrize("shape", SECRET_SHAPES)
@pytest.mark.parametrize("kill", KILLS)
def test_a_dead_token_gets_the_same_401_as_no_token(
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    holder: Holder,
    refusal: tuple[int, bytes, dict[str, str]],
    kill: str,
    shape: str,
) -> None:
    token = holder.tokens[shape]
    assert [holder.get(p, f"Bearer {token}").status_code for p in holder.paths[:3]] == [200] * 3
    KILLS[kill](app, monkeypatch, holder, token)
    answers = [fingerprint(holder.get(path, f"Bearer {token}")) for path in holder.paths]
    assert answers == [refusal] * len(holder.paths)


@pytest.fixture
def partner(app: Flask, monkeypatch: pytest.MonkeyPatch, holder: Holder) -> dict[str, str]:
    """An OAuth client of the holder, issuing tokens while TOKEN_PREFIX is configured."""
    monkeypatch.setitem(app.config, "TOKEN_PREFIX", PREFIX)
    new = create_client(db.session, holder.user_id, "partner", ["*"], utcnow())
    return {"client_id": new.client_id, "client_secret": new.secret}


def oauth_token(holder: Holder, partner: dict[str, str]) -> str:
    form = {"grant_type": "client_credentials", **partner}
    response = holder.client.post("/oauth/token", data=form)
    assert response.status_code == 200, response.get_data(as_text=True)
    return str(response.get_json()["access_token"])


@pytest.mark.parametrize("kill", ["expired", "client-revoked", "mangled"])
def test_a_dead_oauth_token_gets_the_same_401(
    holder: Holder,
    partner: dict[str, str],
    refusal: tuple[int, bytes, dict[str, str]],
    kill: str,
) -> None:
    token = oauth_token(holder, partner)
    assert holder.get("/user", f"Bearer {token}").status_code == 200
    if kill == "expired":
        set_token(token, expires_at=utcnow() - timedelta(seconds=1))
    elif kill == "client-revoked":
        revoke_client(db.session, partner["client_id"], utcnow())
    else:
        token = changed(token)
    answers = [fingerprint(holder.get(path, f"Bearer {token}")) for path in holder.paths]
    assert answers == [refusal] * len(holder.paths)


NEW_SECRET = re.compile(re.escape(PREFIX) + r"([A-Za-z0-9]{40})([0-9a-f]{8})")


def test_a_configured_prefix_marks_new_tokens_and_old_ones_keep_working(
    app: Flask, holder: Holder, partner: dict[str, str], refusal: tuple[int, bytes, dict[str, str]]
) -> None:
    """With TOKEN_PREFIX set, `tokens issue` and POST /oauth/token both mint
    `<prefix><40><crc32b>` secrets a scanner can spot; tokens minted before still work."""
    result = app.test_cli_runner().invoke(
        args=["tokens", "issue", str(holder.user_id), "--name", "scanner-friendly"]
    )
    assert result.exit_code == 0, result.output
    minted = {"cli": result.stdout.strip(), "oauth": oauth_token(holder, partner)}
    for how, token in minted.items():
        token_id, secret = split(token)
        match = NEW_SECRET.fullmatch(secret)
        assert match, (how, secret)
        assert match.group(2) == f"{zlib.crc32(match.group(1).encode()):08x}", how
        assert holder.get("/user", f"Bearer {token}").status_code == 200, how
        stripped = f"Bearer {token_id}|{secret.removeprefix(PREFIX)}"
        assert fingerprint(holder.get("/user", stripped)) == refusal, how
    for shape, token in holder.tokens.items():
        assert holder.get("/user", f"Bearer {token}").status_code == 200, shape
