"""Broken function level authorisation (OWASP API5:2023) for a read-only API.

Every route of the url map, so a route added later is covered without a new test:
any method but GET, HEAD and OPTIONS is a 405 in the contract's body with `Allow`
(`POST /oauth/token` the one exception), OPTIONS needs no token and shows nothing,
only the documented routes exist, and anything else is a 404.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from tests.api.conftest import assert_error
from tests.conftest import StatementCounter

PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
# The verbs of HTTP and WebDAV, and ones no server knows.
OTHER_METHODS = (
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    "TRACE",
    "CONNECT",
    "PROPFIND",
    "MKCOL",
    "LINK",
    "BREW",
    "X-CUSTOM",
)
# Routes outside the OpenAPI document, each on purpose. A new one must be added here.
UNDOCUMENTED_ROUTES = {
    "/": "the index: where the docs are and how to get a token",
    "/api/v2": "the same index",
    "/api/v2/openapi.json": "the OpenAPI document itself",
    "/api/v2/docs": "the Swagger UI page",
    "/api/v2/docs/init.js": "the Swagger UI page's script",
    "/api/v2/docs/assets/<path:filename>": "Swagger UI's files",
    "/health/live": "liveness probe",
    "/health/ready": "readiness probe",
    "/oauth/token": "OAuth 2.0 token endpoint, in docs/authentication.md",
    "/metrics": "Prometheus metrics, when METRICS_ENABLED",
}


def rules(app: Flask) -> list[Rule]:
    found = list(app.url_map.iter_rules())
    assert len(found) >= 25, [rule.rule for rule in found]
    return found


def concrete(rule: Rule) -> str:
    """A path the rule matches: `1` for an id, a real file for a docs asset."""

    def value(match: re.Match[str]) -> str:
        return "swagger-ui.css" if match.group(1) == "path" else "1"

    return PARAMETER.sub(value, rule.rule)


def supported(rule: Rule) -> list[str]:
    """What the 405's `Allow` lists: the rule's methods but OPTIONS, as Laravel does."""
    return sorted(set(rule.methods or ()) - {"OPTIONS"})


def route_of(path: str) -> str:
    """As Laravel's `$request->path()`: without the first `/`, and `/` for the root."""
    return path.removeprefix("/") or "/"


def test_every_route_is_read_only_but_the_token_endpoint(app: Flask) -> None:
    writable = {rule.rule: rule.methods - READ_METHODS for rule in rules(app) if rule.methods}
    assert {path: methods for path, methods in writable.items() if methods} == {
        "/oauth/token": {"POST"}
    }


@pytest.mark.parametrize("method", OTHER_METHODS)
def test_every_other_method_on_every_route_is_a_405_with_allow(
    app: Flask, client: FlaskClient, manager: dict[str, Any], method: str
) -> None:
    problems = []
    for rule in rules(app):
        if method in (rule.methods or ()):
            continue
        path = concrete(rule)
        allowed = supported(rule)
        # With a valid token or none: the method is refused before the token is read.
        for headers in ({}, manager["headers"]):
            response = client.open(path, method=method, headers=headers, data="{}")
            body = assert_error(response, 405)
            expected = (
                f"The {method} method is not supported for route {route_of(path)}. "
                f"Supported methods: {', '.join(allowed)}."
            )
            if body["message"] != expected:
                problems.append(f"{method} {path}: {body['message']!r}")
            if response.headers.get("Allow") != ", ".join(allowed):
                problems.append(f"{method} {path}: Allow {response.headers.get('Allow')!r}")
            if "data" in body:
                problems.append(f"{method} {path}: a body with data")
    assert not problems, "\n".join(problems)


def test_the_laravel_message_for_post_on_events(client: FlaskClient) -> None:
    response = client.post("/api/v2/events")

    assert response.get_json() == {
        "message": "The POST method is not supported for route api/v2/events. "
        "Supported methods: GET, HEAD."
    }
    assert response.headers["Allow"] == "GET, HEAD"


def test_get_on_the_token_endpoint_is_a_405_naming_post(client: FlaskClient) -> None:
    body = assert_error(client.get("/oauth/token"), 405)

    assert body["message"].endswith("route oauth/token. Supported methods: POST.")


def test_options_on_every_route_needs_no_token_and_shows_nothing(
    app: Flask, client: FlaskClient, count_statements: StatementCounter
) -> None:
    problems = []
    for rule in rules(app):
        path = concrete(rule)
        for headers in ({}, {"Authorization": "Bearer 1|wrong"}):
            response = client.options(path, headers=headers)
            if response.status_code != 200:
                problems.append(f"OPTIONS {path}: {response.status_code}")
            if response.data != b"":
                problems.append(f"OPTIONS {path}: a body {response.data[:80]!r}")
            allow = set(response.headers.get("Allow", "").split(", "))
            if allow != set(rule.methods or ()):
                problems.append(f"OPTIONS {path}: Allow {allow}")
            if "WWW-Authenticate" in response.headers:
                problems.append(f"OPTIONS {path}: asked for a token")
    assert not problems, "\n".join(problems)
    # No token looked up, no row read: nothing to leak, and nothing to time.
    assert count_statements.count == 0, count_statements.statements


def test_options_answers_alike_for_a_missing_and_an_existing_event(
    client: FlaskClient, manager: dict[str, Any]
) -> None:
    existing = client.options(f"/api/v2/event/{manager['event'].id}/bookings")
    missing = client.options("/api/v2/event/999999/bookings")

    assert (existing.status_code, existing.data) == (missing.status_code, missing.data)
    assert existing.headers["Allow"] == missing.headers["Allow"]


def test_head_on_the_api_still_needs_a_token(app: Flask, client: FlaskClient) -> None:
    for rule in rules(app):
        if rule.endpoint.startswith("api."):
            response = client.head(concrete(rule))
            assert response.status_code == 401, rule.rule
            assert response.data == b""


def test_only_documented_routes_exist(app: Flask, client: FlaskClient) -> None:
    document = client.get("/api/v2/openapi.json").get_json()
    documented = {re.sub(r"\{\w+\}", "{}", path) for path in document["paths"]}
    routes = {re.sub(r"<(?:\w+:)?\w+>", "{}", rule.rule): rule for rule in rules(app)}

    undocumented = {rule.rule for shape, rule in routes.items() if shape not in documented}
    assert undocumented <= set(UNDOCUMENTED_ROUTES), undocumented - set(UNDOCUMENTED_ROUTES)
    assert documented <= set(routes), documented - set(routes)
    for path in document["paths"].values():
        assert set(path) == {"get"}


UNKNOWN_PATHS = (
    "/api",
    "/api/v1/events",
    "/api/v3/events",
    "/api/v2/event",
    "/api/v2/bookings",
    "/api/v2/event/1/nope",
    "/api/v2/event/1/bookings/1/tickets/1/more",
    "/api/v2/event/1/stats/1",
    "/api/v2/events/1",
    "/api/v2/users",
    "/admin",
    "/console",
    "/debug",
    "/.env",
    "/.git/config",
    "/static/app.js",
    "/metrics",
    "/health",
    "/oauth/authorize",
    "/oauth/token/1",
)


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "OPTIONS", "DELETE"])
def test_an_unknown_route_is_a_404_with_or_without_a_token(
    client: FlaskClient, manager: dict[str, Any], method: str
) -> None:
    for path in UNKNOWN_PATHS:
        for headers in ({}, manager["headers"]):
            response = client.open(path, method=method, headers=headers)
            if method == "HEAD":
                assert response.status_code == 404, path
                continue
            body = assert_error(response, 404)
            assert body["message"] == f"The route {route_of(path)} could not be found."


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2/docs/assets/nope.js",
        "/api/v2/docs/assets/../../../etc/passwd",
        "/api/v2/docs/assets/..%2F..%2Fpyproject.toml",
    ],
)
def test_a_docs_asset_that_is_not_swagger_uis_is_a_404(client: FlaskClient, path: str) -> None:
    assert_error(client.get(path), 404)


@pytest.mark.parametrize(
    "path",
    ["/api/v2//events", "/api/v2/event//1", "/api/v2/docs/assets/%2Fetc%2Fpasswd"],
)
def test_a_doubled_slash_is_a_404_in_the_contract_body(client: FlaskClient, path: str) -> None:
    assert_error(client.get(path), 404)
