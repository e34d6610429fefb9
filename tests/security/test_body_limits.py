"""Request bodies are bounded (`MAX_BODY_BYTES`): a 413 on the declared length before any
byte is read, a chunked body cut at the limit, RFC 6749's fields for `/oauth/token`."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from eventio import create_app
from eventio.auth.guard import utcnow
from eventio.db.extensions import db
from eventio.http.input_guards import DEFAULT_MAX_BODY_BYTES
from eventio.oauth.clients import create_client
from tests.factories import UserFactory

LIMIT = DEFAULT_MAX_BODY_BYTES
TOO_LARGE = f"The request body is larger than {LIMIT} bytes."
FORM = "application/x-www-form-urlencoded"


class EndlessBody(io.RawIOBase):
    """A `wsgi.input` that never ends and counts every byte taken from it."""

    def __init__(self, fill: bytes = b"a") -> None:
        self.fill = fill
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    # The test client asks where the stream starts; it starts at 0 and stays put.
    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return 0

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)
        buffer[:size] = self.fill * size
        self.bytes_read += size
        return size


def post_declared(client: FlaskClient, path: str, length: int, body: EndlessBody) -> Any:
    return client.post(
        path,
        input_stream=body,
        content_type=FORM,
        environ_overrides={"CONTENT_LENGTH": str(length)},
    )


def post_chunked(client: FlaskClient, path: str, body: Any) -> Any:
    """As gunicorn and Werkzeug's server pass a chunked body: no length, a terminated input."""
    return client.post(
        path,
        input_stream=body,
        content_type=FORM,
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
    )


def test_a_token_request_declaring_a_huge_body_is_a_413_and_none_of_it_is_read(
    client: FlaskClient,
) -> None:
    body = EndlessBody()
    response = post_declared(client, "/oauth/token", 200_000_000, body)
    assert response.status_code == 413
    assert response.get_json() == {
        "message": TOO_LARGE,
        "error": "invalid_request",
        "error_description": TOO_LARGE,
    }
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    assert body.bytes_read == 0


def test_any_other_route_declaring_a_body_over_the_limit_is_a_413_unread(
    client: FlaskClient,
) -> None:
    body = EndlessBody()
    response = post_declared(client, "/api/v2/events", LIMIT + 1, body)
    assert response.status_code == 413
    assert response.get_json() == {"message": TOO_LARGE}
    assert body.bytes_read == 0


def test_a_body_of_exactly_the_limit_is_served(client: FlaskClient) -> None:
    form = "grant_type=password&pad=" + "x" * (LIMIT - len("grant_type=password&pad="))
    assert len(form) == LIMIT
    response = client.post("/oauth/token", data=form, content_type=FORM)
    assert response.status_code == 400
    assert response.get_json()["error"] == "unsupported_grant_type"


def test_an_endless_chunked_token_request_is_cut_one_byte_past_the_limit(
    client: FlaskClient,
) -> None:
    body = EndlessBody()
    response = post_chunked(client, "/oauth/token", body)
    assert response.status_code == 413
    assert response.get_json()["error"] == "invalid_request"
    assert body.bytes_read == LIMIT + 1


def test_a_chunked_body_within_the_limit_is_read_whole(app: Flask, client: FlaskClient) -> None:
    """Werkzeug's own limit would have cut an oversized chunked body silently and parsed
    the part it read; within the limit the whole body must arrive as sent."""
    user = UserFactory()
    new = create_client(db.session, user.id, "warehouse", ["bookings.read"], utcnow())
    form = f"grant_type=client_credentials&client_id={new.client_id}&client_secret={new.secret}"
    response = post_chunked(client, "/oauth/token", io.BytesIO(form.encode()))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["token_type"] == "Bearer"


def test_a_chunked_body_just_over_the_limit_is_refused_not_truncated(
    client: FlaskClient,
) -> None:
    form = "grant_type=client_credentials&pad=" + "x" * LIMIT
    response = post_chunked(client, "/oauth/token", io.BytesIO(form.encode()))
    assert response.status_code == 413


@pytest.mark.parametrize("limit", [64, 100_000])
def test_max_body_bytes_sets_the_limit(
    monkeypatch: pytest.MonkeyPatch, app: Flask, limit: int
) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", str(limit))
    configured = create_app({"TESTING": True, "DATABASE_URL": app.config["DATABASE_URL"]})
    client = configured.test_client()
    over = client.post("/api/v2/events", data=b"a" * (limit + 1), content_type=FORM)
    assert over.status_code == 413
    assert over.get_json() == {"message": f"The request body is larger than {limit} bytes."}
    within = client.post("/api/v2/events", data=b"a" * limit, content_type=FORM)
    assert within.status_code == 405
