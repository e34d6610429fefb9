"""What the HTTP tests share: a caller with a token, the contract's error body, example matching."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from eventio.db.extensions import db
from tests.factories import (
    BookingFactory,
    BookingTicketFactory,
    CustomerFactory,
    GroupFactory,
    TicketFactory,
)

API = "/api/v2"
# The statuses whose body says, under `errors`, which parameter to change.
WITH_ERRORS = (406, 422)

Query = Mapping[str, Any] | Sequence[tuple[str, Any]] | str | None


def url(path: str, query: Query = None) -> str:
    """`/api/v2` + path, with a query given raw (`"a=1&b"`) or as pairs to encode."""
    full = API + path
    if query is None or query == "":
        return full
    if isinstance(query, str):
        return f"{full}?{query}"
    pairs = query.items() if isinstance(query, Mapping) else query
    return f"{full}?{urlencode([(k, str(v)) for k, v in pairs])}"


@dataclass
class Caller:
    """A test client speaking for one user with a `*` token."""

    client: FlaskClient
    headers: dict[str, str]
    event_id: int
    user_id: int

    def get(self, path: str, query: Query = None) -> TestResponse:
        return self.client.get(url(path, query), headers=self.headers)

    def ok(self, path: str, query: Query = None) -> dict[str, Any]:
        """The JSON body of a 200."""
        response = self.get(path, query)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert isinstance(body, dict)
        return body

    def data(self, path: str, query: Query = None) -> Any:
        return self.ok(path, query)["data"]

    def ids(self, path: str, query: Query = None) -> list[int]:
        """The ids of a list's data, in order (one page: pass `per_page` for long lists)."""
        return [item["id"] for item in self.data(path, query)]


@pytest.fixture
def api(client: FlaskClient, manager: dict[str, Any]) -> Caller:
    """The `manager` (admin on every area of one event) as a caller."""
    return Caller(client, manager["headers"], manager["event"].id, manager["user"].id)


def collated(text: str) -> str:
    """Text as the database compares and sorts it. MySQL's and MariaDB's utf8mb4 `_ci`
    collations ignore case (a Laravel application on MySQL answers the same);
    PostgreSQL and SQLite compare code points (docs/decisions.md)."""
    return text.casefold() if db.engine.dialect.name == "mysql" else text


def booking_at(event_id: int) -> int:
    """One booking at the event, with a ticket line and a group with a customer."""
    ticket = TicketFactory(event_id=event_id).id
    group = GroupFactory(event_id=event_id, customer_id=CustomerFactory().id).id
    booking = BookingFactory(event_id=event_id, group_id=group).id
    BookingTicketFactory(booking_id=booking, ticket_id=ticket)
    return int(booking)


@pytest.fixture
def booking(api: Caller) -> int:
    """One booking at the caller's event, with a ticket line and a group with a customer."""
    return booking_at(api.event_id)


def assert_error(response: TestResponse, status: int) -> dict[str, Any]:
    """The contract's error body: a message, and an `errors` object exactly on a 422 and on
    a 406 (keyed `format`, naming the formats the route serves)."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("message"), str) and body["message"], body
    if status in WITH_ERRORS:
        errors = body.get("errors")
        assert isinstance(errors, dict) and errors, body
        for key, messages in errors.items():
            assert isinstance(key, str)
            assert isinstance(messages, list) and messages, body
            assert all(isinstance(message, str) for message in messages), body
    else:
        assert "errors" not in body, body
    return body


def assert_client_error(response: TestResponse) -> dict[str, Any]:
    """Any 4xx, in the contract's body (and never a 500)."""
    assert 400 <= response.status_code < 500, (
        response.status_code,
        response.get_data(as_text=True)[:500],
    )
    return assert_error(response, response.status_code)


def assert_reproduces(actual: Any, example: Any, where: str = "body") -> None:
    """Every key of the example is in the response with exactly its value (and JSON type).

    A response may carry more fields than the example, never fewer. A list of objects
    with ids is matched by id, so a list may hold rows the example does not show.
    """
    if isinstance(example, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in example.items():
            assert key in actual, f"{where}: missing {key!r} in {actual!r}"
            assert_reproduces(actual[key], value, f"{where}.{key}")
    elif isinstance(example, list):
        assert isinstance(actual, list), f"{where}: expected a list, got {actual!r}"
        by_id = {item.get("id"): item for item in actual if isinstance(item, dict)}
        for index, item in enumerate(example):
            if isinstance(item, dict) and "id" in item:
                assert item["id"] in by_id, f"{where}: no item with id {item['id']} in {actual!r}"
                assert_reproduces(by_id[item["id"]], item, f"{where}[id={item['id']}]")
            else:
                assert index < len(actual), f"{where}: no item {index} in {actual!r}"
                assert_reproduces(actual[index], item, f"{where}[{index}]")
    else:
        assert type(actual) is type(example) and actual == example, (
            f"{where}: {actual!r} is not {example!r}"
        )


def ordered_ids(values: Mapping[int, Any], descending: bool = False) -> list[int]:
    """Ids ordered by their value (ascending or descending) and then by id ascending."""
    ascending = sorted(values, key=lambda id_: (values[id_], id_))
    if not descending:
        return ascending
    # Descending on the value only: the id tie-break stays ascending.
    groups: dict[Any, list[int]] = {}
    for id_ in ascending:
        groups.setdefault(values[id_], []).append(id_)
    return [id_ for value in sorted(groups, reverse=True) for id_ in groups[value]]


def money(values: Iterable[str]) -> list[Decimal]:
    return [Decimal(value) for value in values]


@dataclass(frozen=True)
class Endpoint:
    """A list endpoint and the filters, sorts and includes the reference documents for it."""

    name: str
    template: str
    filters: tuple[str, ...]
    sorts: tuple[str, ...]
    includes: tuple[str, ...]


LIST_ENDPOINTS = (
    Endpoint(
        "events",
        "/events",
        ("id", "slug", "name", "start_date", "end_date"),
        ("id", "slug", "name", "start_date", "end_date"),
        ("tickets", "bookings"),
    ),
    Endpoint(
        "tickets",
        "/event/{event}/tickets",
        ("id", "title", "participant_type"),
        ("id", "title", "price", "seq"),
        ("event",),
    ),
    Endpoint(
        "bookings",
        "/event/{event}/bookings",
        ("id", "reference", "status", "booking_type", "group_id"),
        ("id", "created_at", "status", "booking_reference"),
        ("tickets", "tickets.ticket", "group", "group.customer"),
    ),
    Endpoint(
        "booking tickets",
        "/event/{event}/bookings/{booking}/tickets",
        ("id", "ticket_id"),
        ("id", "ticket_id", "qty", "price"),
        ("booking", "ticket", "ticket.event"),
    ),
    Endpoint(
        "groups",
        "/event/{event}/groups",
        ("id", "name", "association", "customer_id"),
        ("id", "name", "association"),
        ("customer", "bookings", "bookings.tickets", "event"),
    ),
    Endpoint(
        "group bookings",
        "/event/{event}/groups/{group}/bookings",
        ("id", "status", "booking_type"),
        (),
        ("tickets", "tickets.ticket"),
    ),
    Endpoint(
        "customers",
        "/event/{event}/customers",
        ("id", "email", "first_name", "last_name", "post_code"),
        ("id", "email", "first_name", "last_name"),
        ("groups", "groups.event", "groups.bookings"),
    ),
    Endpoint(
        "roles",
        "/event/{event}/roles",
        ("id", "title"),
        ("id", "title"),
        ("event", "permissions", "eventUsers", "eventUsers.user"),
    ),
    Endpoint(
        "event users",
        "/event/{event}/users",
        ("id", "user_id", "event_role_id", "active"),
        ("id", "user_id", "event_role_id", "active"),
        ("user", "event", "role", "role.permissions"),
    ),
)


@pytest.fixture
def path_ids(api: Caller) -> dict[str, int]:
    """A small world under the manager's event, so every list endpoint has rows to show."""
    group = GroupFactory(event_id=api.event_id, customer_id=CustomerFactory().id)
    booking = BookingFactory(event_id=api.event_id, group_id=group.id)
    BookingTicketFactory(booking_id=booking.id, ticket_id=TicketFactory(event_id=api.event_id).id)
    return {"event": api.event_id, "booking": booking.id, "group": group.id}


def endpoint_path(endpoint: Endpoint, ids: Mapping[str, int]) -> str:
    return endpoint.template.format(**ids)
