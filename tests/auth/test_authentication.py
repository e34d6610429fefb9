"""The bearer guard over HTTP: which Authorization headers pass, and 401 for the rest."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, update

from eventio.auth.permissions import AREAS
from eventio.auth.tokens import generate_secret, hash_secret
from eventio.db.extensions import db
from eventio.models import EventUser, PersonalAccessToken, User
from tests.auth.conftest import (
    ADMIN_EVERYWHERE,
    API,
    ROUTE_AREAS,
    Caller,
    Expected,
    MakeCaller,
    World,
    assert_forbidden,
    assert_unauthenticated,
    check,
    ok,
    role_at,
    saved,
    utcnow,
)
from tests.factories import TokenFactory, UserFactory

OLD_SECRET = "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1eF3hJ5kL7n"
# Routes that answer 401 before anything else: one without an event, two with one.
GUARDED = ["/user", "/events", "/event/{event}", "/event/{event}/bookings/{booking}/tickets"]


def token_id(plain: str) -> int:
    return int(plain.split("|", 1)[0])


@pytest.fixture
def admin(make_caller: MakeCaller, world: World) -> Caller:
    """A `*` token of a user with admin on every area of event `a`."""
    return make_caller(["*"], {world.a.event: ADMIN_EVERYWHERE}, secret=OLD_SECRET)


def get_with(client: FlaskClient, path: str, authorization: str | None) -> int:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.get(API + path, headers=headers)
    if response.status_code == 401:
        assert_unauthenticated(response)
    return response.status_code


def world_path(template: str, world: World) -> str:
    return template.format(event=world.a.event, booking=world.a.booking)


# Each builds an Authorization header from the admin's token id and secret.
REFUSED: list[tuple[str, Callable[[int, str], str | None]]] = [
    ("missing-header", lambda i, s: None),
    ("empty-header", lambda i, s: ""),
    ("scheme-only", lambda i, s: "Bearer"),
    ("scheme-and-space", lambda i, s: "Bearer "),
    ("token-without-scheme", lambda i, s: f"{i}|{s}"),
    ("basic-scheme", lambda i, s: "Basic " + base64.b64encode(f"{i}:{s}".encode()).decode()),
    ("basic-scheme-with-the-token", lambda i, s: f"Basic {i}|{s}"),
    ("token-scheme", lambda i, s: f"Token {i}|{s}"),
    ("bearer-glued-to-token", lambda i, s: f"Bearer{i}|{s}"),
    ("wrong-secret", lambda i, s: f"Bearer {i}|{s[:-1]}X"),
    ("unknown-id", lambda i, s: f"Bearer {i + 1000}|{s}"),
    ("non-numeric-id", lambda i, s: f"Bearer abc|{s}"),
    ("id-beyond-bigint", lambda i, s: f"Bearer {'9' * 25}|{s}"),
    ("empty-secret", lambda i, s: f"Bearer {i}|"),
    ("empty-id", lambda i, s: f"Bearer |{s}"),
    ("id-only", lambda i, s: f"Bearer {i}"),
    ("truncated", lambda i, s: f"Bearer {i}|{s[:20]}"),
    ("extended", lambda i, s: f"Bearer {i}|{s}x"),
    ("stored-hash-as-token", lambda i, s: f"Bearer {hash_secret(s)}"),
    ("space-inside-the-token", lambda i, s: f"Bearer {i}| {s}"),
    ("space-before-the-bar", lambda i, s: f"Bearer {i} |{s}"),
    ("a-second-word-after-the-token", lambda i, s: f"Bearer {i}|{s} extra"),
    ("two-tokens", lambda i, s: f"Bearer {i}|{s} Bearer {i}|{s}"),
    ("non-ascii-secret", lambda i, s: f"Bearer {i}|sécret"),
    ("very-long", lambda i, s: f"Bearer {i}|{'x' * 10_000}"),
]


@pytest.mark.parametrize(("name", "header"), REFUSED, ids=[name for name, _ in REFUSED])
def test_refused_headers_are_401_unauthenticated(
    client: FlaskClient,
    admin: Caller,
    world: World,
    name: str,
    header: Callable[[int, str], str | None],
) -> None:
    authorization = header(token_id(admin.token), OLD_SECRET)
    answers = {t: get_with(client, world_path(t, world), authorization) for t in GUARDED}
    assert answers == dict.fromkeys(GUARDED, 401)


# The scheme is case-insensitive (RFC 7235 §2.1, Laravel's `bearerToken()`, docs/authentication.md),
# and 1*SP may separate it from the token (RFC 7235 `credentials`).
ACCEPTED: list[tuple[str, Callable[[int, str], str]]] = [
    ("bearer", lambda i, s: f"Bearer {i}|{s}"),
    ("lowercase-scheme", lambda i, s: f"bearer {i}|{s}"),
    ("uppercase-scheme", lambda i, s: f"BEARER {i}|{s}"),
    ("two-spaces-after-the-scheme", lambda i, s: f"Bearer  {i}|{s}"),
    ("secret-without-id", lambda i, s: f"Bearer {s}"),
]


@pytest.mark.parametrize(("name", "header"), ACCEPTED, ids=[name for name, _ in ACCEPTED])
def test_accepted_headers(
    client: FlaskClient,
    admin: Caller,
    world: World,
    name: str,
    header: Callable[[int, str], str],
) -> None:
    authorization = header(token_id(admin.token), OLD_SECRET)
    answers = {t: get_with(client, world_path(t, world), authorization) for t in GUARDED}
    assert answers == dict.fromkeys(GUARDED, 200)


def test_secret_of_one_token_with_the_id_of_another_is_401(
    client: FlaskClient, admin: Caller, make_caller: MakeCaller
) -> None:
    other = make_caller()
    other_secret = other.token.split("|", 1)[1]
    assert get_with(client, "/user", f"Bearer {token_id(admin.token)}|{other_secret}") == 401
    assert get_with(client, "/user", f"Bearer {token_id(other.token)}|{OLD_SECRET}") == 401


@pytest.mark.parametrize("prefix", ["", "eventio_"])
def test_sanctum_4_tokens_with_and_without_prefix_are_accepted(
    make_caller: MakeCaller, world: World, prefix: str
) -> None:
    caller = make_caller(
        ["*"], {world.a.event: {"bookings": "read"}}, secret=generate_secret(prefix)
    )
    assert ok(caller.get(f"/event/{world.a.event}/bookings"))["data"]


def test_a_token_with_no_bar_is_found_by_the_hash_of_the_whole_string(
    client: FlaskClient,
) -> None:
    user = UserFactory.create()
    TokenFactory.create(tokenable_id=user.id, token=hash_secret("legacy-plain-token"))
    response = client.get(f"{API}/user", headers={"Authorization": "Bearer legacy-plain-token"})
    assert ok(response)["data"]["id"] == user.id


def guarded(world: World, status: int) -> dict[str, Expected]:
    return {world_path(template, world): status for template in GUARDED}


@pytest.mark.parametrize(
    ("offset", "status"),
    [(timedelta(seconds=-5), 401), (timedelta(days=-30), 401), (timedelta(hours=1), 200)],
    ids=["expired-seconds-ago", "expired-long-ago", "expires-later"],
)
def test_expires_at(make_caller: MakeCaller, world: World, offset: timedelta, status: int) -> None:
    caller = make_caller(["*"], {world.a.event: ADMIN_EVERYWHERE}, expires_at=utcnow() + offset)
    check(caller, guarded(world, status))


@pytest.mark.parametrize(
    ("age", "status"),
    [(timedelta(minutes=31), 401), (timedelta(minutes=29), 200)],
    ids=["past-the-lifetime", "within-the-lifetime"],
)
def test_global_lifetime_from_created_at(
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    make_caller: MakeCaller,
    world: World,
    age: timedelta,
    status: int,
) -> None:
    caller = make_caller(["*"], {world.a.event: ADMIN_EVERYWHERE}, created_at=utcnow() - age)
    check(caller, guarded(world, 200))  # no lifetime by default
    monkeypatch.setitem(app.config, "TOKEN_EXPIRATION_MINUTES", 30)
    check(caller, guarded(world, status))


def test_global_lifetime_and_expires_at_both_apply(
    app: Flask, monkeypatch: pytest.MonkeyPatch, make_caller: MakeCaller
) -> None:
    monkeypatch.setitem(app.config, "TOKEN_EXPIRATION_MINUTES", 60)
    old = make_caller(
        created_at=utcnow() - timedelta(hours=2), expires_at=utcnow() + timedelta(days=1)
    )
    expired = make_caller(created_at=utcnow(), expires_at=utcnow() - timedelta(minutes=1))
    fresh = make_caller(created_at=utcnow(), expires_at=utcnow() + timedelta(days=1))
    assert_unauthenticated(old.get("/user"))
    assert_unauthenticated(expired.get("/user"))
    assert fresh.get("/user").status_code == 200


def test_a_revoked_token_is_401(admin: Caller, world: World) -> None:
    check(admin, guarded(world, 200))
    db.session.execute(
        delete(PersonalAccessToken).where(PersonalAccessToken.id == token_id(admin.token))
    )
    db.session.commit()
    check(admin, guarded(world, 401))


def test_the_token_of_a_deleted_user_is_401(admin: Caller, world: World) -> None:
    check(admin, guarded(world, 200))
    db.session.execute(delete(EventUser).where(EventUser.user_id == admin.user_id))
    db.session.execute(delete(User).where(User.id == admin.user_id))
    db.session.commit()
    check(admin, guarded(world, 401))


@pytest.mark.parametrize("tokenable_type", ["App\\Models\\Admin", "App\\Models\\Team", ""])
def test_a_token_of_another_tokenable_type_is_401(
    admin: Caller, world: World, tokenable_type: str
) -> None:
    db.session.execute(
        update(PersonalAccessToken)
        .where(PersonalAccessToken.id == token_id(admin.token))
        .values(tokenable_type=tokenable_type)
    )
    db.session.commit()
    check(admin, guarded(world, 401))


def test_a_token_of_another_tokenable_type_does_not_act_as_the_user_of_that_id(
    client: FlaskClient,
) -> None:
    user = UserFactory.create()
    row = TokenFactory.create(
        tokenable_type="App\\Models\\Admin", tokenable_id=user.id, token=hash_secret(OLD_SECRET)
    )
    assert get_with(client, "/user", f"Bearer {row.id}|{OLD_SECRET}") == 401


def test_head_needs_a_token_too(client: FlaskClient, world: World) -> None:
    response = client.open(f"{API}/event/{world.a.event}/stats", method="HEAD")
    assert response.status_code == 401


def test_options_says_what_is_allowed_without_a_token_and_without_data(
    client: FlaskClient, world: World
) -> None:
    # A browser's CORS preflight carries no token; it learns the methods, never a row.
    response = client.open(f"{API}/event/{world.a.event}/stats", method="OPTIONS")
    assert response.status_code == 200
    assert response.get_data() == b""
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


UNREADABLE_ABILITIES = [None, "", "not json", '"*"', '{"*": true}', "[1, 2]", "[]"]


def unreadable_caller(client: FlaskClient, world: World, raw: str | None) -> Caller:
    """A user with admin on every area of event `a`, whose token's `abilities` is `raw`."""
    user_id = saved(UserFactory).id
    role_at(user_id, world.a.event, ADMIN_EVERYWHERE)
    row = saved(TokenFactory, tokenable_id=user_id, token=hash_secret(OLD_SECRET), abilities=raw)
    db.session.commit()
    return Caller(client, user_id, f"{row.id}|{OLD_SECRET}")


@pytest.mark.parametrize("raw", UNREADABLE_ABILITIES)
def test_abilities_that_are_not_a_json_array_of_strings_grant_nothing(
    client: FlaskClient, world: World, raw: str | None
) -> None:
    caller = unreadable_caller(client, world, raw)
    check(caller, {world.a.path(rule): f"{areas[0]}.read" for rule, areas in ROUTE_AREAS.items()})


@pytest.mark.parametrize("raw", UNREADABLE_ABILITIES)
def test_abilities_that_grant_nothing_still_authenticate_user_but_not_events(
    client: FlaskClient, world: World, raw: str | None
) -> None:
    caller = unreadable_caller(client, world, raw)
    assert ok(caller.get("/user"))["data"]["id"] == caller.user_id
    assert ok(caller.get(f"/user?eventId={world.a.event}"))["event_role"] is not None
    assert_forbidden(caller.get("/events"), "event.read")


def test_star_grants_every_ability(make_caller: MakeCaller, world: World) -> None:
    caller = make_caller(["*"], {world.a.event: ADMIN_EVERYWHERE})
    check(caller, {"/events": 200, "/user": 200, **{world.a.path(r): 200 for r in ROUTE_AREAS}})


@pytest.mark.parametrize("held", [f"{area}.read" for area in AREAS])
def test_an_exact_ability_opens_exactly_its_area(
    make_caller: MakeCaller, world: World, held: str
) -> None:
    caller = make_caller([held], {world.a.event: ADMIN_EVERYWHERE})
    expected: dict[str, Expected] = {}
    for rule, areas in ROUTE_AREAS.items():
        missing = [f"{area}.read" for area in areas if f"{area}.read" != held]
        expected[world.a.path(rule)] = missing[0] if missing else 200
    check(caller, expected)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nope", 404),
        ("GET", "/event/0", 404),
        ("GET", "/event/abc/bookings", 404),
        ("POST", "/events", 405),
        ("DELETE", "/event/1/bookings/1", 405),
    ],
)
def test_an_unknown_route_or_method_is_answered_before_the_token_check(
    client: FlaskClient, method: str, path: str, status: int
) -> None:
    response = client.open(API + path, method=method)
    assert response.status_code == status, response.get_data(as_text=True)
    assert set(response.get_json()) == {"message"}


def test_a_401_names_the_bearer_scheme_as_rfc_6750_asks(client: FlaskClient) -> None:
    response = client.get("/api/v2/user")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
