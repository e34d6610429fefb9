"""`Cache-Control`: a caller's answers are private (a browser revalidates them with their
ETag), answers nobody was authenticated for are never stored, OAuth and health stay
`no-store`."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from eventio import create_app
from eventio.auth.guard import utcnow
from eventio.db.extensions import db
from eventio.oauth.clients import create_client
from tests.conftest import bearer
from tests.support.schema_mode import SCHEMA_MODE

PRIVATE = "private, no-cache"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2/user",
        "/api/v2/events",
        "/api/v2/event/{e}",
        "/api/v2/event/{e}/bookings",
        "/api/v2/event/{e}/stats",
    ],
)
def test_an_authenticated_answer_is_private_and_revalidates_with_its_etag(
    client: FlaskClient, manager: dict[str, Any], path: str
) -> None:
    url = path.format(e=manager["event"].id)
    response = client.get(url, headers=manager["headers"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == PRIVATE
    etag = response.headers["ETag"]
    again = client.get(url, headers={**manager["headers"], "If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == PRIVATE


def test_an_export_stream_is_private(client: FlaskClient, manager: dict[str, Any]) -> None:
    response = client.get(
        f"/api/v2/event/{manager['event'].id}/bookings",
        headers={**manager["headers"], "Accept": "text/csv"},
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == PRIVATE


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v2/event/{e}/bookings?filter[nope]=1", 422),
        ("/api/v2/event/999999", 404),
    ],
)
def test_an_error_answered_to_a_caller_is_private_too(
    client: FlaskClient, manager: dict[str, Any], path: str, status: int
) -> None:
    response = client.get(path.format(e=manager["event"].id), headers=manager["headers"])
    assert response.status_code == status
    assert response.headers["Cache-Control"] == PRIVATE


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer 1|not-a-token"}, {"Authorization": "Basic Zm9vOmJhcg=="}],
)
def test_an_unauthenticated_401_is_never_stored(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    response = client.get("/api/v2/events", headers=headers)
    assert response.status_code == 401
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/api/v2/nope", 404), ("POST", "/api/v2/events", 405)],
)
def test_errors_before_any_token_check_are_never_stored(
    client: FlaskClient, method: str, path: str, status: int
) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status
    assert response.headers["Cache-Control"] == "no-store"


def test_oauth_answers_stay_no_store(
    app: Flask, client: FlaskClient, manager: dict[str, Any]
) -> None:
    new = create_client(db.session, manager["user"].id, "bi", ["bookings.read"], utcnow())
    issued = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": new.client_id,
            "client_secret": new.secret,
        },
    )
    refused = client.post("/oauth/token", data={"grant_type": "password"})
    assert refused.status_code == 400
    assert refused.headers["Cache-Control"] == "no-store"
    # On Sanctum 2's token table (no expires_at) OAuth says it cannot issue: still no-store.
    assert issued.status_code == (503 if SCHEMA_MODE.sanctum == 2 else 200)
    assert issued.headers["Cache-Control"] == "no-store"
    if issued.status_code != 200:
        return
    # The token it issued reads the API like any other: privately.
    used = client.get("/api/v2/user", headers=bearer(issued.get_json()["access_token"]))
    assert used.headers["Cache-Control"] == PRIVATE


def test_health_stays_no_store(client: FlaskClient) -> None:
    assert client.get("/health/live").headers["Cache-Control"] == "no-store"


def test_the_public_api_description_is_left_to_the_caches(client: FlaskClient) -> None:
    response = client.get("/api/v2/openapi.json")
    assert response.status_code == 200
    assert "private" not in response.headers.get("Cache-Control", "")
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_metrics_read_with_their_token_are_private(app: Flask) -> None:
    metered = create_app(
        {"TESTING": True, "DATABASE_URL": app.config["DATABASE_URL"], "METRICS_TOKEN": "m"}
    )
    response = metered.test_client().get("/metrics", headers=bearer("m"))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == PRIVATE
