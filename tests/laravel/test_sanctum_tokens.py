"""Tokens as each Sanctum generation writes them, in a database Laravel made."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from tests.laravel.conftest import Server, write_tokens
from tests.laravel.world import JOHN, SanctumToken

API = "/api/v2"


def utc(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%d %H:%M:%S")


def status(app: Flask, token: SanctumToken, path: str) -> int:
    return app.test_client().get(API + path, headers=token.headers).status_code


@pytest.mark.parametrize("sanctum", [3, 2])
def test_abilities_null_is_no_ability(
    server: Server,
    sanctum: int,
    laravel_database: Callable[[int], None],
    start_api: Callable[..., Flask],
) -> None:
    laravel_database(sanctum)
    token = SanctumToken(id=1, user_id=JOHN, abilities=None)
    write_tokens(server, sanctum, token)
    app = start_api()
    assert status(app, token, "/user") == 200  # needs no ability
    response = app.test_client().get(f"{API}/event/1", headers=token.headers)
    assert response.status_code == 403, response.get_data()
    assert "event.read" in response.get_json()["message"]
    assert status(app, token, "/events") == 403
    assert status(app, token, "/event/1/bookings") == 403


def test_an_ability_grants_its_area_only(
    server: Server, laravel_database: Callable[[int], None], start_api: Callable[..., Flask]
) -> None:
    laravel_database(3)
    token = SanctumToken(id=1, user_id=JOHN, abilities=["bookings.read"])
    write_tokens(server, 3, token)
    app = start_api()
    assert status(app, token, "/event/1/bookings") == 200
    assert status(app, token, "/event/1") == 403


@pytest.mark.parametrize("sanctum", [3, 2])
def test_a_token_of_another_model_is_refused(
    server: Server,
    sanctum: int,
    laravel_database: Callable[[int], None],
    start_api: Callable[..., Flask],
) -> None:
    laravel_database(sanctum)
    # Same id as John, so only the type tells it is not his.
    team = SanctumToken(id=1, user_id=JOHN, abilities=["*"], tokenable_type="App\\Models\\Team")
    john = SanctumToken(id=2, user_id=JOHN, abilities=["*"])
    write_tokens(server, sanctum, team, john)
    app = start_api()
    response = app.test_client().get(f"{API}/user", headers=team.headers)
    assert response.status_code == 401, response.get_data()
    assert response.get_json()["message"] == "Unauthenticated."
    assert status(app, john, "/user") == 200


def test_sanctum_3_expires_at_applies(
    server: Server, laravel_database: Callable[[int], None], start_api: Callable[..., Flask]
) -> None:
    laravel_database(3)
    expired = SanctumToken(
        id=1, user_id=JOHN, abilities=["*"], expires_at=utc(-timedelta(minutes=1))
    )
    valid = SanctumToken(id=2, user_id=JOHN, abilities=["*"], expires_at=utc(timedelta(days=1)))
    write_tokens(server, 3, expired, valid)
    app = start_api()
    assert status(app, expired, "/user") == 401
    assert status(app, valid, "/user") == 200


def test_sanctum_2_tokens_expire_only_by_the_global_lifetime(
    server: Server, laravel_database: Callable[[int], None], start_api: Callable[..., Flask]
) -> None:
    laravel_database(2)
    old = SanctumToken(id=1, user_id=JOHN, abilities=["*"], created_at="2020-01-01 00:00:00")
    fresh = SanctumToken(id=2, user_id=JOHN, abilities=["*"], created_at=utc(-timedelta(minutes=5)))
    write_tokens(server, 2, old, fresh)
    unlimited = start_api()
    assert status(unlimited, old, "/user") == 200
    assert status(unlimited, fresh, "/user") == 200
    hourly = start_api(TOKEN_EXPIRATION_MINUTES=60)
    assert status(hourly, old, "/user") == 401
    assert status(hourly, fresh, "/event/1") == 200


def test_a_wrong_secret_is_refused(
    server: Server, laravel_database: Callable[[int], None], start_api: Callable[..., Flask]
) -> None:
    laravel_database(3)
    token = SanctumToken(id=1, user_id=JOHN, abilities=["*"])
    write_tokens(server, 3, token)
    app = start_api()
    forged = {"Authorization": f"Bearer 1|{'x' * 40}"}
    assert app.test_client().get(f"{API}/user", headers=forged).status_code == 401
    assert status(app, token, "/user") == 200
