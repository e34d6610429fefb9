"""What makes the docs page usable without knowing the API: real examples, Markdown that
renders, documented `/stats` and `/user` bodies, and an Authorize dialog that says what to
paste (and a 401 that says what went wrong when `Bearer` was pasted too)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from tests.conftest import bearer
from tests.factories import UserFactory, issue_token
from tests.openapi.conftest import World

MONEY = re.compile(r"^\d{1,6}\.\d{2}$")
# Money fields, by the pattern eventio/openapi/fields.py gives them.
MONEY_PATTERN = r"^-?\d+\.\d{2}$"


def validator(document: dict[str, Any], schema: Any) -> Draft202012Validator:
    """A JSON Schema 2020-12 validator of `schema` whose `$ref`s resolve in `document`."""
    return Draft202012Validator({**schema, "components": document["components"]})


def json_200(operation: dict[str, Any]) -> dict[str, Any]:
    return operation["responses"]["200"]["content"]["application/json"]  # type: ignore[no-any-return]


def values(node: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """Every (key, scalar) in a JSON value, depth first."""
    if isinstance(node, dict):
        for name, value in node.items():
            yield from values(value, name)
    elif isinstance(node, list):
        for item in node:
            yield from values(item, key)
    else:
        yield key, node


def test_every_response_example_is_real_and_valid(document: dict[str, Any]) -> None:
    """Swagger UI shows these instead of `"string"` and money like `"-9382...05.51"`."""
    checked = 0
    for path, item in document["paths"].items():
        body = json_200(item["get"])
        example = body["example"]
        errors = [e.message for e in validator(document, body["schema"]).iter_errors(example)]
        assert not errors, (path, errors)
        for key, value in values(example):
            assert value != "string", (path, key)
            if key == "price":
                assert MONEY.match(value) and Decimal(value) < 1000, (path, value)
        checked += 1
    assert checked == len(document["paths"]) >= 17
    bookings = json_200(document["paths"]["/api/v2/event/{eventId}/bookings"]["get"])
    row = bookings["example"]["data"][0]
    assert (row["booking_reference"], row["status"]) == ("EVT-ABC123", "confirmed")
    assert "tickets" not in row  # a relation appears only when included


def test_every_field_of_a_row_has_a_realistic_example(document: dict[str, Any]) -> None:
    for name, schema in document["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            if "$ref" in prop or prop.get("type") in ("array", "object") or "anyOf" in prop:
                continue  # relations and nested bodies: their own schemas have examples
            if name in {"Error", "ValidationError"} or name.startswith(("Page", "Cursor")):
                continue  # envelopes: whole-response examples show them
            assert "example" in prop, (name, field)
            assert prop["example"] != "string", (name, field)
            if prop.get("pattern") == MONEY_PATTERN:
                assert MONEY.match(prop["example"]), (name, field, prop["example"])


def test_summaries_are_plain_text_and_descriptions_carry_the_markdown(
    document: dict[str, Any],
) -> None:
    """Swagger UI prints a summary as it is; a description is rendered as Markdown."""
    user = document["paths"]["/api/v2/user"]["get"]
    assert user["summary"] == "Show the authenticated user, and their role at eventId when asked."
    assert "`eventId`" in user["description"]
    for path, item in document["paths"].items():
        assert "`" not in item["get"]["summary"], path


def test_stats_and_user_document_every_field_they_answer_with(
    client: FlaskClient, document: dict[str, Any], world: World
) -> None:
    paths = document["paths"]
    cases = [
        ("/api/v2/event/1/stats", json_200(paths["/api/v2/event/{eventId}/stats"]["get"])),
        ("/api/v2/user?eventId=1", json_200(paths["/api/v2/user"]["get"])),
        ("/api/v2/user", json_200(paths["/api/v2/user"]["get"])),
    ]
    for url, body in cases:
        response = client.get(url, headers=world.headers)
        assert response.status_code == 200, url
        answer = response.get_json()
        errors = [e.message for e in validator(document, body["schema"]).iter_errors(answer)]
        assert not errors, (url, errors)
        # The schema lists exactly the body's keys, each required where always present.
        schema = document["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[1]]
        assert set(answer) <= set(schema["properties"]), url
        assert set(schema["required"]) <= set(answer), url
    stats = document["components"]["schemas"]["Stats"]
    assert set(stats["required"]) == set(stats["properties"])
    row = document["components"]["schemas"]["TicketStats"]
    assert set(row["required"]) == set(row["properties"])
    assert stats["properties"]["stats"]["items"] == {"$ref": "#/components/schemas/TicketStats"}


def test_the_authorize_dialog_says_to_paste_the_token_alone(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert "the token alone" in scheme["description"]
    assert "adds the `Bearer ` prefix itself" in scheme["description"]


def test_a_token_sent_after_bearer_twice_is_told_so(client: FlaskClient) -> None:
    token = issue_token(UserFactory().id)
    ok = client.get("/api/v2/user", headers=bearer(token))
    assert ok.status_code == 200
    doubled = client.get("/api/v2/user", headers=bearer(f"Bearer {token}"))
    assert doubled.status_code == 401
    assert doubled.headers["WWW-Authenticate"] == "Bearer"
    message = doubled.get_json()["message"]
    assert message.startswith("Unauthenticated. The token starts with `Bearer `")
    assert "send the token alone after `Bearer `" in message
    assert client.get("/api/v2/user", headers=bearer(f"bearer {token}")).status_code == 401
    # Other refusals keep the contract's message.
    for headers in ({}, bearer("1|wrong"), bearer(f"{token} extra"), {"Authorization": token}):
        refused = client.get("/api/v2/user", headers=headers)
        assert refused.status_code == 401
        assert refused.get_json() == {"message": "Unauthenticated."}, headers


def test_every_parameter_says_what_it_does(document: dict[str, Any]) -> None:
    """A name and a type are not enough to use a parameter without reading the code."""
    for path, item in document["paths"].items():
        for parameter in item["get"]["parameters"]:
            assert parameter.get("description"), (path, parameter["name"])
    stats = document["paths"]["/api/v2/event/{eventId}/stats"]["get"]["parameters"]
    described = {p["name"]: p["description"] for p in stats}
    assert "title contains" in described["ticket"]
