"""OAuth 2.0 client credentials: `POST /oauth/token`, errors per RFC 6749, rotation, revocation."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from eventio import create_app
from eventio.auth.guard import utcnow
from eventio.db.extensions import db
from eventio.models import OAuthClient, PersonalAccessToken
from eventio.oauth.clients import create_client, rotate_secret
from tests.conftest import ALL_AREAS, bearer
from tests.factories import EventFactory, UserFactory, grant


@pytest.fixture
def partner(app: Flask) -> dict[str, Any]:
    user = UserFactory()
    event = EventFactory()
    grant(user.id, event.id, dict.fromkeys(ALL_AREAS, "read"))
    new = create_client(db.session, user.id, "warehouse", ["bookings.read"], utcnow())
    return {"user": user, "event": event, "client_id": new.client_id, "secret": new.secret}


def token_request(client: FlaskClient, **form: str) -> Any:
    return client.post("/oauth/token", data={"grant_type": "client_credentials", **form})


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def test_form_credentials_get_a_bearer_token_that_reads_the_api(
    client: FlaskClient, partner: dict[str, Any]
) -> None:
    response = token_request(
        client, client_id=partner["client_id"], client_secret=partner["secret"]
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert response.headers["Cache-Control"] == "no-store"
    bookings = client.get(
        f"/api/v2/event/{partner['event'].id}/bookings", headers=bearer(body["access_token"])
    )
    assert bookings.status_code == 200


def test_the_issued_token_has_the_clients_abilities_only(
    client: FlaskClient, partner: dict[str, Any]
) -> None:
    body = token_request(
        client, client_id=partner["client_id"], client_secret=partner["secret"]
    ).get_json()
    groups = client.get(
        f"/api/v2/event/{partner['event'].id}/groups", headers=bearer(body["access_token"])
    )
    assert groups.status_code == 403
    assert "groups.read" in groups.get_json()["message"]


def test_the_issued_token_expires_with_expires_in(
    app: Flask, client: FlaskClient, partner: dict[str, Any]
) -> None:
    app.config["OAUTH_TOKEN_TTL"] = 1
    try:
        body = token_request(
            client, client_id=partner["client_id"], client_secret=partner["secret"]
        ).get_json()
    finally:
        app.config["OAUTH_TOKEN_TTL"] = 3600
    assert body["expires_in"] == 1
    token_id = int(body["access_token"].split("|")[0])
    row = db.session.get(PersonalAccessToken, token_id)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v2/user", headers=bearer(body["access_token"])).status_code == 401


def test_http_basic_credentials_work(client: FlaskClient, partner: dict[str, Any]) -> None:
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(partner["client_id"], partner["secret"]),
    )
    assert response.status_code == 200


def test_a_json_body_works(client: FlaskClient, partner: dict[str, Any]) -> None:
    response = client.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": partner["client_id"],
            "client_secret": partner["secret"],
        },
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({}, 400, "invalid_request"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, 400, "invalid_request"),
        ({"grant_type": "client_credentials", "client_id": "nope"}, 400, "invalid_request"),
        (
            {"grant_type": "client_credentials", "client_id": "nope", "client_secret": "x"},
            401,
            "invalid_client",
        ),
    ],
)
def test_bad_requests_answer_in_rfc_6749_bodies(
    client: FlaskClient, form: dict[str, str], status: int, error: str
) -> None:
    response = client.post("/oauth/token", data=form)
    assert response.status_code == status
    assert response.get_json()["error"] == error
    assert response.get_json()["error_description"]


def test_a_wrong_secret_is_invalid_client_with_www_authenticate(
    client: FlaskClient, partner: dict[str, Any]
) -> None:
    response = token_request(client, client_id=partner["client_id"], client_secret="wrong")
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_a_secret_in_the_query_string_is_refused(
    client: FlaskClient, partner: dict[str, Any]
) -> None:
    response = client.post(
        f"/oauth/token?client_id={partner['client_id']}&client_secret={partner['secret']}",
        data={"grant_type": "client_credentials"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_credentials_in_both_basic_and_body_are_refused(
    client: FlaskClient, partner: dict[str, Any]
) -> None:
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": partner["client_id"]},
        headers=basic(partner["client_id"], partner["secret"]),
    )
    assert response.status_code == 400


def test_a_repeated_parameter_is_refused(client: FlaskClient, partner: dict[str, Any]) -> None:
    response = client.post(
        "/oauth/token",
        data=MultiDict(
            [
                ("grant_type", "client_credentials"),
                ("client_id", partner["client_id"]),
                ("client_secret", partner["secret"]),
                ("client_secret", partner["secret"]),
            ]
        ),
    )
    assert response.status_code == 400


def test_a_get_is_405(client: FlaskClient) -> None:
    assert client.get("/oauth/token").status_code == 405


def test_the_secret_is_stored_only_as_a_hash(partner: dict[str, Any]) -> None:
    row = db.session.query(OAuthClient).filter_by(client_id=partner["client_id"]).one()
    assert partner["secret"] not in (row.secret_hash, row.previous_secret_hash)
    assert len(row.secret_hash) == 64


def test_after_rotation_both_secrets_work_until_the_grace_period_ends(
    client: FlaskClient, partner: dict[str, Any]
) -> None:
    new = rotate_secret(db.session, partner["client_id"], timedelta(hours=24), utcnow())
    for secret in (partner["secret"], new.secret):
        assert (
            token_request(client, client_id=partner["client_id"], client_secret=secret).status_code
            == 200
        )
    row = db.session.query(OAuthClient).filter_by(client_id=partner["client_id"]).one()
    row.previous_secret_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    old = token_request(client, client_id=partner["client_id"], client_secret=partner["secret"])
    assert old.status_code == 401
    assert (
        token_request(client, client_id=partner["client_id"], client_secret=new.secret).status_code
        == 200
    )


def test_cli_create_rotate_revoke(app: Flask, client: FlaskClient) -> None:
    user = UserFactory()
    runner = app.test_cli_runner()
    created = runner.invoke(args=["oauth", "create", str(user.id), "--name", "bi"])
    assert created.exit_code == 0, created.output
    lines = dict(line.split(":", 1) for line in created.output.splitlines() if ":" in line)
    client_id, secret = lines["client_id"].strip(), lines["client_secret"].strip()
    issued = token_request(client, client_id=client_id, client_secret=secret).get_json()

    rotated = runner.invoke(args=["oauth", "rotate", client_id, "--grace-hours", "0"])
    assert rotated.exit_code == 0, rotated.output
    new_secret = rotated.output.split("client_secret:")[1].split()[0]
    assert token_request(client, client_id=client_id, client_secret=secret).status_code == 401
    assert token_request(client, client_id=client_id, client_secret=new_secret).status_code == 200

    listed = runner.invoke(args=["oauth", "list"])
    assert client_id in listed.output and new_secret not in listed.output

    revoked = runner.invoke(args=["oauth", "revoke", client_id])
    assert revoked.exit_code == 0, revoked.output
    assert token_request(client, client_id=client_id, client_secret=new_secret).status_code == 401
    assert client.get("/api/v2/user", headers=bearer(issued["access_token"])).status_code == 401


def test_cli_refuses_an_unknown_user_or_client(app: Flask) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["oauth", "create", "999999", "--name", "x"]).exit_code != 0
    assert runner.invoke(args=["oauth", "rotate", "nope"]).exit_code != 0
    assert runner.invoke(args=["oauth", "revoke", "nope"]).exit_code != 0


def test_the_token_endpoint_is_rate_limited_per_address(app: Flask) -> None:
    limited = create_app({**app.config, "RATE_LIMIT": "3 per minute"})
    client = limited.test_client()
    answers = [
        client.post("/oauth/token", data={"grant_type": "client_credentials"}) for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [400, 400, 400, 429]
    assert answers[-1].get_json() == {"message": "Too Many Attempts."}
    assert answers[-1].headers["Retry-After"].isdigit()
    limited.extensions["eventio.ratelimit"].reset()
