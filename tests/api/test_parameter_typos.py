"""A near miss of the query grammar's own names (`perPage`, `filters[x]`, `includes`) is a
422 saying what was meant; any other unknown parameter is still ignored."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from eventio.querybuilder.params import meant_parameter
from tests.api.conftest import Caller, assert_error

NEAR_MISSES = [
    ("perPage", "5", "per_page"),
    ("per-page", "5", "per_page"),
    ("limit", "5", "per_page"),
    ("pageSize", "5", "per_page"),
    ("page[size]", "5", "per_page"),
    ("page[number]", "2", "page"),
    ("filters[status]", "confirmed", "filter[status]"),
    ("sorts", "-created_at", "sort"),
    ("Sort", "-created_at", "sort"),
    ("orderBy", "created_at", "sort"),
    ("includes", "tickets", "include"),
    ("field[bookings]", "id", "fields[bookings]"),
]


@pytest.mark.parametrize(("key", "value", "meant"), NEAR_MISSES)
def test_a_near_miss_on_a_list_is_a_422_saying_what_was_meant(
    api: Caller, booking: int, key: str, value: str, meant: str
) -> None:
    body = assert_error(api.get(f"/event/{api.event_id}/bookings", [(key, value)]), 422)

    message = f"Unknown parameter `{key}`: did you mean `{meant}`?"
    assert body == {"message": message, "errors": {key.split("[", 1)[0]: [message]}}


@pytest.mark.parametrize(
    ("key", "meant"), [("includes", "include"), ("field[bookings]", "fields[bookings]")]
)
def test_a_near_miss_of_what_one_row_takes_is_a_422_too(
    api: Caller, booking: int, key: str, meant: str
) -> None:
    response = api.get(f"/event/{api.event_id}/bookings/{booking}", [(key, "tickets")])
    body = assert_error(response, 422)
    assert body["message"] == f"Unknown parameter `{key}`: did you mean `{meant}`?"


def test_one_row_ignores_near_misses_of_what_it_does_not_take(api: Caller, booking: int) -> None:
    # One row has no pages nor sort: `perPage` there is no mistake that changes the answer.
    data = api.data(f"/event/{api.event_id}/bookings/{booking}", "perPage=5&sorts=id")
    assert data["id"] == booking


def test_an_unrelated_unknown_parameter_is_still_ignored(api: Caller, booking: int) -> None:
    path = f"/event/{api.event_id}/bookings"
    plain = api.ok(path)["data"]
    assert api.ok(path, "utm_source=x&utm_medium=email&_=1700000000&q=smith")["data"] == plain
    assert api.data(f"/event/{api.event_id}/bookings/{booking}", "utm_source=x")["id"] == booking


def test_the_parameters_routes_accept_are_never_near_misses(api: Caller, booking: int) -> None:
    event = api.event_id
    api.ok(f"/event/{event}/bookings", "include_cancelled&cursor=")
    api.ok(f"/event/{event}/bookings", "no-cache=1&eventId=1&ticketId=1&bom=1")
    assert api.get(f"/event/{event}/bookings", "format=csv&bom=1").status_code == 200
    api.ok(f"/event/{event}/stats", "no-cache&participant_type=adult&ticket=a&ticketId=1")
    api.ok("/user", {"eventId": event})


def test_no_documented_query_parameter_is_taken_for_a_near_miss(client: FlaskClient) -> None:
    document: dict[str, Any] = client.get("/api/v2/openapi.json").get_json()
    names = {
        parameter["name"]
        for path in document["paths"].values()
        for operation in path.values()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    }
    assert {"include_cancelled", "no-cache", "participant_type", "eventId"} <= names
    assert {name: meant_parameter(name) for name in names if meant_parameter(name)} == {}
