"""`GET /` and `GET /api/v2` say where to go, with no token; a 404 names the path asked for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from eventio import create_app
from eventio.db.extensions import db
from tests.api.conftest import assert_error

INDEX_PATHS = ["/", "/api/v2", "/api/v2/"]


@pytest.fixture
def public_app(app: Flask) -> Iterator[Flask]:
    made = create_app({**app.config, "PUBLIC_BASE_URL": "https://api.example.com/reporting/"})
    yield made
    with made.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("path", INDEX_PATHS)
def test_the_index_answers_without_a_token(client: FlaskClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["name"] == "EventIO API"
    assert body["version"] == client.get("/api/v2/openapi.json").get_json()["info"]["version"]
    assert body["links"] == {
        "api": "http://localhost/api/v2",
        "docs": "http://localhost/api/v2/docs",
        "openapi": "http://localhost/api/v2/openapi.json",
        "health": "http://localhost/health/ready",
    }
    authentication = body["authentication"]
    assert authentication["personal_token"]["command"].startswith(
        "flask --app eventio tokens issue "
    )
    assert authentication["client_credentials"]["token_url"] == "http://localhost/oauth/token"
    assert "docs/authentication.md" in authentication["guides"]


def test_every_link_of_the_index_answers(client: FlaskClient) -> None:
    links = client.get("/").get_json()["links"]
    for name in ("api", "docs", "openapi"):
        response = client.get(links[name].removeprefix("http://localhost"))
        assert response.status_code == 200, (name, response.status_code)
    # Ready or not (Redis may be absent), the probe is there: never a 404.
    assert client.get("/health/ready").status_code in (200, 503)


@pytest.mark.parametrize("path", INDEX_PATHS)
def test_the_index_links_follow_the_public_base_url(public_app: Flask, path: str) -> None:
    steering = {"Host": "evil.example", "X-Forwarded-Host": "phish.example"}
    body = public_app.test_client().get(path, headers=steering).get_json()

    base = "https://api.example.com/reporting"
    assert body["links"]["docs"] == f"{base}/api/v2/docs"
    assert body["links"]["openapi"] == f"{base}/api/v2/openapi.json"
    assert body["links"]["health"] == f"{base}/health/ready"
    assert body["authentication"]["client_credentials"]["token_url"] == f"{base}/oauth/token"


def test_the_index_revalidates_with_its_etag(client: FlaskClient) -> None:
    first = client.get("/")
    assert first.headers["Cache-Control"] == "no-cache"
    again = client.get("/", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_the_index_with_a_token_is_the_same_index(
    client: FlaskClient, manager: dict[str, Any]
) -> None:
    assert (
        client.get("/api/v2", headers=manager["headers"]).get_json()
        == client.get("/api/v2").get_json()
    )


def test_the_api_below_the_index_still_needs_a_token(client: FlaskClient) -> None:
    assert_error(client.get("/api/v2/events"), 401)


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/nope", "nope"),
        ("/api/v2/nope", "api/v2/nope"),
        ("/api/v2//events", "api/v2//events"),
        ('/api/v2/"quoted"', 'api/v2/"quoted"'),
        ("/api/v2/%C3%A9v%C3%A9nements", "api/v2/événements"),
        ("/api/v2/%3Cscript%3E", "api/v2/<script>"),
    ],
)
def test_a_404_names_the_path_asked_for(client: FlaskClient, path: str, named: str) -> None:
    body = assert_error(client.get(path), 404)
    assert body == {"message": f"The route {named} could not be found."}


def test_a_404_cuts_a_very_long_path(client: FlaskClient) -> None:
    body = assert_error(client.get("/api/v2/" + "x" * 2000), 404)
    assert body["message"] == "The route api/v2/" + "x" * 293 + "… could not be found."


def test_an_unknown_id_keeps_its_own_message(client: FlaskClient, manager: dict[str, Any]) -> None:
    event = manager["event"].id
    body = assert_error(
        client.get(f"/api/v2/event/{event}/tickets/999999", headers=manager["headers"]), 404
    )
    assert body["message"] == "Ticket not found."
