"""`flask tokens issue / list / revoke`, checked against the API's own authentication."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from eventio.auth.guard import utcnow
from eventio.auth.tokens import find_token, hash_secret
from eventio.db.extensions import db
from eventio.models import USER_MORPH_TYPE, PersonalAccessToken
from tests.cli.conftest import Run
from tests.conftest import bearer
from tests.factories import UserFactory


def issued(run: Run, *args: object) -> tuple[str, PersonalAccessToken]:
    """The plain token a `tokens issue` printed, and its row."""
    result = run("tokens", "issue", *args)
    assert result.exit_code == 0, result.output
    plain = result.stdout.strip()
    row = db.session.get(PersonalAccessToken, int(plain.split("|")[0]))
    assert row is not None
    return plain, row


def test_issue_stores_a_sanctum_token_that_authenticates(run: Run, client: FlaskClient) -> None:
    user = UserFactory()
    result = run("tokens", "issue", user.id, "--name", "reporting")
    plain = result.stdout.strip()
    assert result.stdout.count("|") == 1, "the token is printed once, alone on stdout"
    assert "will not be shown again" in result.output

    token_id, secret = plain.split("|", 1)
    row = db.session.get(PersonalAccessToken, int(token_id))
    assert row is not None
    assert row.token == hash_secret(secret) and secret not in row.token
    assert (row.tokenable_type, row.tokenable_id) == (USER_MORPH_TYPE, user.id)
    assert (row.name, json.loads(row.abilities or "")) == ("reporting", ["*"])
    assert row.expires_at is None and row.created_at == row.updated_at
    assert abs(row.created_at - utcnow()) < timedelta(minutes=1)

    response = client.get("/api/v2/user", headers=bearer(plain))
    assert response.status_code == 200
    assert response.json["data"]["id"] == user.id


def test_issue_uses_the_configured_prefix(run: Run, app: Flask) -> None:
    user = UserFactory()
    app.config["TOKEN_PREFIX"] = "eio_"
    try:
        plain, _ = issued(run, user.id, "--name", "scanner-friendly")
    finally:
        app.config["TOKEN_PREFIX"] = ""
    assert plain.split("|", 1)[1].startswith("eio_")


def test_issue_with_abilities_grants_only_those(run: Run, client: FlaskClient) -> None:
    user = UserFactory()
    plain, row = issued(
        run, user.id, "--name", "bi", "--ability", "bookings.read", "--ability", "event.read"
    )
    assert json.loads(row.abilities or "") == ["bookings.read", "event.read"]
    assert client.get("/api/v2/user", headers=bearer(plain)).status_code == 200


def test_issue_expiring_in_days_expires_then(run: Run) -> None:
    user = UserFactory()
    plain, row = issued(run, user.id, "--name", "week", "--expires-in-days", 7)
    assert row.expires_at is not None
    assert abs(row.expires_at - (utcnow() + timedelta(days=7))) < timedelta(minutes=1)
    expires = row.expires_at
    assert find_token(db.session, plain, expires - timedelta(seconds=1)) is not None
    assert find_token(db.session, plain, expires) is None


def test_issue_expiring_at_a_time_stores_it_in_utc(run: Run) -> None:
    user = UserFactory()
    plain, row = issued(
        run, user.id, "--name", "dated", "--expires-at", "2099-01-01T12:00:00+02:00"
    )
    assert row.expires_at == datetime(2099, 1, 1, 10, 0, 0)
    assert find_token(db.session, plain, datetime(2099, 1, 1, 9, 59, 59)) is not None
    assert find_token(db.session, plain, datetime(2099, 1, 1, 10, 0, 0)) is None
    _, naive = issued(run, user.id, "--name", "naive", "--expires-at", "2099-01-01")
    assert naive.expires_at == datetime(2099, 1, 1)


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--expires-at", "2001-01-01T00:00:00Z"], "is past"),
        (["--expires-at", "next tuesday"], "not an ISO 8601 time"),
        (["--expires-in-days", "0"], "--expires-in-days"),
        (["--expires-in-days", "3", "--expires-at", "2099-01-01"], "not both"),
        (["--ability", ""], "must not be empty"),
    ],
)
def test_issue_refuses_bad_expiry_or_abilities(run: Run, args: list[str], complaint: str) -> None:
    user = UserFactory()
    result = run("tokens", "issue", user.id, "--name", "x", *args)
    assert result.exit_code == 2
    assert complaint in result.output
    assert db.session.query(PersonalAccessToken).count() == 0


def test_issue_refuses_an_unknown_user_or_no_name(run: Run) -> None:
    result = run("tokens", "issue", 4040, "--name", "x")
    assert result.exit_code == 1 and "No user with id 4040" in result.output
    assert run("tokens", "issue", UserFactory().id).exit_code == 2


def test_list_shows_tokens_but_never_their_secret_nor_hash(run: Run) -> None:
    ada, bob = UserFactory(email="ada@example.com"), UserFactory(email="bob@example.com")
    plain, row = issued(
        run, ada.id, "--name", "ada-bi", "--ability", "bookings.read", "--expires-at", "2099-01-01"
    )
    issued(run, bob.id, "--name", "bob-cli")
    secret = plain.split("|", 1)[1]

    listing = run("tokens", "list").output
    assert secret not in listing and hash_secret(secret) not in listing and row.token not in listing
    lines = listing.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{row.id}  'ada-bi'  user {ada.id} <ada@example.com>")
    assert '["bookings.read"]' in lines[0]
    assert "last used never" in lines[0] and "expires 2099-01-01 00:00:00" in lines[0]
    assert "created " in lines[0]

    only_bob = run("tokens", "list", "--user", bob.id).stdout.splitlines()
    assert len(only_bob) == 1 and "'bob-cli'" in only_bob[0]


def test_list_shows_last_use(run: Run, client: FlaskClient) -> None:
    plain, _ = issued(run, UserFactory().id, "--name", "used")
    client.get("/api/v2/user", headers=bearer(plain))
    assert "last used never" not in run("tokens", "list").stdout


def test_revoke_deletes_the_token_so_it_no_longer_authenticates(
    run: Run, client: FlaskClient
) -> None:
    plain, row = issued(run, UserFactory().id, "--name", "short-lived")
    token_id = row.id
    assert client.get("/api/v2/user", headers=bearer(plain)).status_code == 200
    result = run("tokens", "revoke", token_id)
    assert result.exit_code == 0 and f"Revoked token {token_id}" in result.output
    db.session.expire_all()
    assert db.session.get(PersonalAccessToken, token_id) is None
    assert client.get("/api/v2/user", headers=bearer(plain)).status_code == 401


def test_revoke_refuses_an_unknown_token(run: Run) -> None:
    result = run("tokens", "revoke", 777)
    assert result.exit_code == 1
    assert "No token with id 777" in result.output


def test_a_revoked_tokens_id_is_never_given_to_another(run: Run, client: FlaskClient) -> None:
    """SQLite hands out the highest rowid plus one unless the table has AUTOINCREMENT:
    revoking the newest token would give its id to the next one."""
    user = UserFactory()
    issued(run, user.id, "--name", "first")
    revoked, row = issued(run, user.id, "--name", "newest")
    revoked_id = row.id
    assert run("tokens", "revoke", revoked_id).exit_code == 0
    plain, row = issued(run, user.id, "--name", "after the revoke")
    assert row.id > revoked_id
    assert client.get("/api/v2/user", headers=bearer(revoked)).status_code == 401
    assert client.get("/api/v2/user", headers=bearer(plain)).status_code == 200
