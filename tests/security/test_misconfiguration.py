"""Security misconfiguration (OWASP API8:2023): what every answer says about the server.

`X-Content-Type-Options: nosniff` on every answer, no server software or version under
gunicorn (gunicorn.conf.py) nor Werkzeug's development server (`make run`), debug off
and no stack trace in any body, and CORS only for the origins in `CORS_ORIGINS`.
"""

from __future__ import annotations

import http.client
import os
import re
import runpy
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from eventio import create_app
from eventio.auth.guard import utcnow
from eventio.db.extensions import db
from eventio.http.input_guards import SERVER_BANNER, parse_origins
from eventio.oauth.clients import create_client
from tests.conftest import StatementCounter
from tests.factories import BookingFactory, issue_token
from tests.support.live_server import live_server
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")
# What a banner or an error page would give away.
SOFTWARE = re.compile(r"werkzeug|gunicorn|python|flask|traceback", re.IGNORECASE)
VERSION = re.compile(r"\d+\.\d+\.\d+")


def app_with(app: Flask, **config: Any) -> Flask:
    """A test-only app on the session's database, with this module's settings fresh."""
    inherited = {
        k: v for k, v in app.config.items() if k not in ("CORS_ORIGINS", "MAX_REQUEST_LINE")
    }
    return create_app({**inherited, **config})


def concrete(rule: str, event_id: int) -> str:
    def value(match: re.Match[str]) -> str:
        if match.group(1) == "path":
            return "swagger-ui.css"
        return str(event_id) if match.group(2) == "event_id" else "1"

    return PARAMETER.sub(value, rule)


# ---------------------------------------------------------------------------------------
# nosniff on every answer


def every_kind_of_answer(
    app: Flask, client: FlaskClient, manager: dict[str, Any]
) -> Iterator[tuple[str, TestResponse]]:
    """One answer of every route (with a token), and of every status the API gives."""
    headers = manager["headers"]
    event_id = manager["event"].id
    BookingFactory(event_id=event_id)
    for rule in app.url_map.iter_rules():
        path = concrete(rule.rule, event_id)
        method = "POST" if rule.methods and "GET" not in rule.methods else "GET"
        yield f"{method} {rule.rule}", client.open(path, method=method, headers=headers)

    bookings = f"/api/v2/event/{event_id}/bookings"
    first = client.get(bookings, headers=headers)
    yield "304", client.get(bookings, headers={**headers, "If-None-Match": first.headers["ETag"]})
    yield "HEAD", client.head(bookings, headers=headers)
    yield "OPTIONS", client.options(bookings)
    yield "csv export", client.get(bookings + "?format=csv", headers=headers)
    yield "ndjson export", client.get(bookings + "?format=ndjson", headers=headers)
    yield "401", client.get(bookings)
    reader = issue_token(manager["user"].id, ["event.read"])
    yield "403", client.get(bookings, headers={"Authorization": f"Bearer {reader}"})
    yield "404", client.get("/api/v2/nope", headers=headers)
    yield "405", client.delete(bookings, headers=headers)
    yield "414", client.get(bookings + "?x=" + "a" * 9000, headers=headers)
    yield "422", client.get(bookings + "?sort=nope", headers=headers)
    yield "422 NUL", client.get(bookings + "?sort=%00", headers=headers)
    yield "docs page", client.get("/api/v2/docs")
    yield "docs script", client.get("/api/v2/docs/init.js")
    yield "openapi", client.get("/api/v2/openapi.json")
    yield "live", client.get("/health/live")
    yield "ready", client.get("/health/ready")
    yield "oauth 400", client.post("/oauth/token", data={})
    yield (
        "oauth 401",
        client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
        ),
    )
    partner = create_client(db.session, manager["user"].id, "bi", ["bookings.read"], utcnow())
    yield (
        "oauth 200",
        client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": partner.client_id,
                "client_secret": partner.secret,
            },
        ),
    )

    limited = app_with(app, RATE_LIMIT="1 per minute")
    try:
        answers = [limited.test_client().get("/api/v2/events") for _ in range(2)]
        yield "429", answers[-1]
    finally:
        limited.extensions["eventio.ratelimit"].reset()


def test_every_answer_says_nosniff_and_names_no_software(
    app: Flask, client: FlaskClient, manager: dict[str, Any]
) -> None:
    problems, statuses = [], set()
    for label, response in every_kind_of_answer(app, client, manager):
        statuses.add(response.status_code)
        response.get_data()  # a streamed export runs to the end, as a client reads it
        if response.headers.get("X-Content-Type-Options") != "nosniff":
            problems.append(f"{label} ({response.status_code}): no nosniff")
        for name in ("Server", "X-Powered-By", "X-AspNet-Version", "Via"):
            if name in response.headers:
                problems.append(f"{label}: {name}: {response.headers[name]}")
        for name, value in response.headers.items():
            if SOFTWARE.search(value) or (name != "ETag" and VERSION.search(value)):
                problems.append(f"{label}: {name}: {value}")
    assert not problems, "\n".join(problems)
    # The walk really met every kind of answer.
    assert statuses >= {200, 304, 400, 401, 403, 404, 405, 414, 422, 429}, statuses


# ---------------------------------------------------------------------------------------
# Debug off, and no stack trace in any body


SECRET_DETAIL = "password=hunter2 in /srv/eventio/settings.py line 42"


def boom() -> None:
    raise RuntimeError(SECRET_DETAIL)


@pytest.fixture(params=[False, True], ids=["debug off", "even with DEBUG on"])
def raising_app(app: Flask, request: pytest.FixtureRequest) -> Flask:
    """Not the session app: a route is added, and TESTING (which re-raises) is off."""
    test_app = app_with(app, TESTING=False, DEBUG=request.param)
    test_app.add_url_rule("/api/v2/boom", "boom", boom)
    test_app.add_url_rule("/boom", "boom_outside_the_api", boom)
    return test_app


def test_the_app_runs_with_debug_off(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    fresh = app_with(app, TESTING=False)

    assert fresh.debug is False
    assert app.debug is False
    assert not fresh.config["PROPAGATE_EXCEPTIONS"]


@pytest.mark.parametrize("path", ["/api/v2/boom", "/boom"])
def test_a_view_that_raises_answers_server_error_and_no_trace(
    raising_app: Flask, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = raising_app.test_client().get(path)

    assert response.status_code == 500
    assert response.get_json() == {"message": "Server Error"}
    text = response.get_data(as_text=True)
    for leak in ("Traceback", "RuntimeError", "hunter2", ".py", "File "):
        assert leak not in text
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # The trace is in the server's log, under the answer's request id, for whoever runs it.
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert logged and logged[0].request_id == response.headers["X-Request-ID"]


def test_a_view_that_raises_under_a_real_server_shows_no_trace(raising_app: Flask) -> None:
    with live_server(raising_app) as base:
        status, headers, body = raw_request(base, "GET", "/api/v2/boom")

    assert status == 500
    assert body == b'{"message":"Server Error"}'
    assert headers["Server"] == SERVER_BANNER


# ---------------------------------------------------------------------------------------
# No server banner: Werkzeug's development server and gunicorn


def raw_request(
    base: str, method: str, target: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request written as given (no client-side checks on its length)."""
    parts = urlsplit(base if "//" in base else f"http://{base}")
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_the_development_server_names_no_software_or_version(app: Flask) -> None:
    with live_server(app) as base:
        for target in ("/health/live", "/api/v2/events", "/api/v2/nope"):
            _, headers, _ = raw_request(base, "GET", target)
            assert headers["Server"] == SERVER_BANNER, headers


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API under gunicorn with gunicorn.conf.py, as `make serve` runs it (one worker)."""
    folder = tmp_path_factory.mktemp("gunicorn")
    port = free_port()
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("FLASK_DEBUG", "CORS_ORIGINS", "MAX_REQUEST_LINE", "METRICS_ENABLED")
    }
    environment.update(
        BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="2",
        DATABASE_URL=f"sqlite:///{folder / 'api.db'}",
        REDIS_URL="",
        EVENTIO_INSTANCE_PATH=str(folder),
        PROMETHEUS_MULTIPROC_DIR=str(folder / "metrics"),
        LOG_LEVEL="WARNING",
        GUNICORN_LOG_LEVEL="warning",
    )
    with (folder / "gunicorn.log").open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                assert server.poll() is None, (folder / "gunicorn.log").read_text()
                try:
                    if raw_request(f"127.0.0.1:{port}", "GET", "/health/live")[0] == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "gunicorn did not start in 20 s"
                time.sleep(0.1)
            yield f"127.0.0.1:{port}"
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=5)


def test_gunicorn_names_no_software_or_version(gunicorn_server: str) -> None:
    answers = {("GET", "/health/live"): 200, ("GET", "/api/v2/events"): 401, ("PUT", "/x"): 404}
    for (method, target), expected in answers.items():
        status, headers, body = raw_request(gunicorn_server, method, target)
        assert status == expected
        assert headers["Server"] == SERVER_BANNER, headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert not SOFTWARE.search(body.decode()), body


def target_of_length(length: int) -> str:
    prefix = "/api/v2/events?filter[name]="
    return prefix + "a" * (length - len(prefix))


def test_under_gunicorn_the_app_answers_a_long_target_in_the_contract_body(
    gunicorn_server: str,
) -> None:
    # The longest method the API sees, so gunicorn's line limit leaves room for any.
    status, _, _ = raw_request(gunicorn_server, "OPTIONS", target_of_length(8000))
    assert status == 200

    status, headers, body = raw_request(gunicorn_server, "OPTIONS", target_of_length(8001))
    assert status == 414
    assert headers["Content-Type"] == "application/json"
    assert b"longer than 8000 characters" in body


def test_past_its_own_limits_gunicorn_refuses_without_naming_itself(
    gunicorn_server: str,
) -> None:
    status, headers, body = raw_request(gunicorn_server, "GET", target_of_length(8200))
    assert status == 414
    assert "Server" not in headers
    assert not SOFTWARE.search(body.decode())

    many = {f"X-Header-{n}": "1" for n in range(60)}
    status, headers, body = raw_request(gunicorn_server, "GET", "/health/live", many)
    assert status == 431
    assert "Server" not in headers

    huge = {"X-Huge": "a" * 9000}
    status, _, _ = raw_request(gunicorn_server, "GET", "/health/live", huge)
    assert status == 431


@pytest.mark.parametrize("max_request_line", ["", "100", "4000", "8158", "20000"])
def test_gunicorn_conf_keeps_its_line_limit_just_above_the_apps(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, max_request_line: str
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setenv("MAX_REQUEST_LINE", max_request_line)
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))

    target = int(max_request_line or 8000)
    room = len("OPTIONS ") + len(" HTTP/1.1")
    assert settings["limit_request_line"] <= 8190  # gunicorn's own maximum
    assert settings["limit_request_line"] >= min(target + room, 8190)
    assert settings["limit_request_line"] <= target + 64
    assert 0 < settings["limit_request_fields"] <= 100
    assert 0 < settings["limit_request_field_size"] <= 8190


# ---------------------------------------------------------------------------------------
# CORS: only the configured origins, preflight without a token

ORIGIN = "https://bi.example.com"
SECOND = "https://reports.example.org:8443"


@pytest.fixture
def cors_client(app: Flask) -> FlaskClient:
    return app_with(app, CORS_ORIGINS=f" {ORIGIN}, {SECOND}/ ,").test_client()


def cors_headers(response: TestResponse) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("Access-Control-")}


def preflight(client: FlaskClient, path: str, origin: str, method: str = "GET") -> TestResponse:
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization",
        },
    )


def test_without_cors_origins_no_answer_has_a_cors_header(
    client: FlaskClient, manager: dict[str, Any]
) -> None:
    assert parse_origins("") == []
    path = f"/api/v2/event/{manager['event'].id}/bookings"
    answers = [
        client.get(path, headers={**manager["headers"], "Origin": ORIGIN}),
        client.get(path, headers={"Origin": ORIGIN}),
        preflight(client, path, ORIGIN),
    ]
    for response in answers:
        assert cors_headers(response) == {}
        assert "Origin" not in response.vary


def test_an_allowed_origin_may_read_answers_and_errors(
    cors_client: FlaskClient, manager: dict[str, Any]
) -> None:
    event_id = manager["event"].id
    path = f"/api/v2/event/{event_id}/bookings"
    with_token = {**manager["headers"], "Origin": ORIGIN}
    answers = {
        200: cors_client.get(path, headers=with_token),
        401: cors_client.get(path, headers={"Origin": ORIGIN}),
        404: cors_client.get("/api/v2/nope", headers=with_token),
        405: cors_client.post(path, headers=with_token),
        414: cors_client.get(path + "?x=" + "a" * 9000, headers=with_token),
        422: cors_client.get(path + "?sort=nope", headers=with_token),
    }
    for status, response in answers.items():
        assert response.status_code == status
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN, status
        assert "Access-Control-Allow-Credentials" not in response.headers
        exposed = response.headers["Access-Control-Expose-Headers"].split(", ")
        assert {"X-Request-ID", "ETag", "Retry-After", "X-RateLimit-Remaining"} <= set(exposed)
        assert "Origin" in response.vary

    second = cors_client.get(path, headers={**manager["headers"], "Origin": SECOND})
    assert second.headers["Access-Control-Allow-Origin"] == SECOND


def test_a_preflight_needs_no_token_and_reads_nothing(
    cors_client: FlaskClient, manager: dict[str, Any], count_statements: StatementCounter
) -> None:
    path = f"/api/v2/event/{manager['event'].id}/bookings"
    count_statements.statements.clear()  # reading the id above refreshed the row
    response = preflight(cors_client, path, ORIGIN)

    assert response.status_code == 200
    assert response.data == b""
    assert cors_headers(response) == {
        "Access-Control-Allow-Origin": ORIGIN,
        "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
        "Access-Control-Allow-Headers": "authorization",
        "Access-Control-Max-Age": "600",
        "Access-Control-Expose-Headers": response.headers["Access-Control-Expose-Headers"],
    }
    assert count_statements.count == 0, count_statements.statements


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_a_preflight_for_a_writing_method_is_not_granted(
    cors_client: FlaskClient, method: str
) -> None:
    response = preflight(cors_client, "/api/v2/events", ORIGIN, method)

    assert "Access-Control-Allow-Methods" not in response.headers


def test_a_preflight_grants_only_the_request_headers_the_api_reads(
    cors_client: FlaskClient,
) -> None:
    response = cors_client.options(
        "/api/v2/events",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization, If-None-Match, X-Evil, Cookie",
        },
    )
    granted = response.headers["Access-Control-Allow-Headers"].lower().split(", ")

    assert sorted(granted) == ["authorization", "if-none-match"]


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "https://bi.example.com.evil.example",
        "https://evil-bi.example.com",
        "http://bi.example.com",
        "https://bi.example.com:444",
        "https://bi.example.co",
        "https://reports.example.org",
        "null",
        "*",
        "",
    ],
)
def test_another_origin_gets_no_cors_header(
    cors_client: FlaskClient, manager: dict[str, Any], origin: str
) -> None:
    path = f"/api/v2/event/{manager['event'].id}/bookings"
    answers = [
        cors_client.get(path, headers={**manager["headers"], "Origin": origin}),
        preflight(cors_client, path, origin),
    ]
    for response in answers:
        assert cors_headers(response) == {}, origin


def test_cors_is_for_the_api_only(cors_client: FlaskClient) -> None:
    for path in ("/health/live", "/oauth/token"):
        assert cors_headers(cors_client.get(path, headers={"Origin": ORIGIN})) == {}


def test_cors_origins_are_read_from_the_environment(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORS_ORIGINS", ORIGIN)
    client = app_with(app).test_client()

    response = client.get("/api/v2/events", headers={"Origin": ORIGIN})
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    # One origin only: the answer still varies with Origin, so caches must key on it.
    assert "Origin" in response.vary


@pytest.mark.parametrize(
    "setting",
    [
        "*",
        "https://*.example.com",
        "bi.example.com",
        "https://bi.example.com/reports",
        "https://bi.example.com?x=1",
        "ftp://bi.example.com",
        "null",
    ],
)
def test_a_setting_that_is_not_a_list_of_origins_fails_at_start(app: Flask, setting: str) -> None:
    with pytest.raises(ValueError, match="CORS_ORIGINS"):
        app_with(app, CORS_ORIGINS=f"{ORIGIN},{setting}")


def test_origins_match_whatever_the_case_as_browsers_send_them(cors_client: FlaskClient) -> None:
    shouted = "HTTPS://BI.EXAMPLE.COM"
    response = cors_client.get("/api/v2/events", headers={"Origin": shouted})

    assert response.headers["Access-Control-Allow-Origin"] == shouted
