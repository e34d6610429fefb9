"""What the auth tests share: two events full of rows, callers with chosen roles and abilities."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from eventio.auth.permissions import ability
from eventio.auth.tokens import generate_secret, hash_secret
from eventio.db.extensions import db
from eventio.models import EventUser
from tests.conftest import ALL_AREAS, bearer
from tests.factories import (
    BookingFactory,
    BookingTicketFactory,
    CustomerFactory,
    EventFactory,
    EventRoleFactory,
    EventUserFactory,
    Factory,
    GroupFactory,
    PermissionFactory,
    TicketFactory,
    TokenFactory,
    UserFactory,
)

API = "/api/v2"
UNAUTHENTICATED = {"message": "Unauthenticated."}
ADMIN_EVERYWHERE = dict.fromkeys(ALL_AREAS, "admin")

# Every route about one event, with the areas its "Requires:" line names in the reference.
ROUTE_AREAS: dict[str, tuple[str, ...]] = {
    "/event/<id:event_id>": ("event",),
    "/event/<id:event_id>/stats": ("event",),
    "/event/<id:event_id>/tickets": ("event",),
    "/event/<id:event_id>/tickets/<id:ticket_id>": ("event",),
    "/event/<id:event_id>/bookings": ("bookings",),
    "/event/<id:event_id>/bookings/<id:booking_id>": ("bookings",),
    "/event/<id:event_id>/bookings/<id:booking_id>/tickets": ("bookings",),
    "/event/<id:event_id>/bookings/<id:booking_id>/tickets/<id:line_id>": ("bookings",),
    "/event/<id:event_id>/groups": ("groups",),
    "/event/<id:event_id>/groups/<id:group_id>": ("groups",),
    "/event/<id:event_id>/groups/<id:group_id>/bookings": ("groups", "bookings"),
    "/event/<id:event_id>/customers": ("customers",),
    "/event/<id:event_id>/customers/<id:customer_id>": ("customers",),
    "/event/<id:event_id>/roles": ("roles",),
    "/event/<id:event_id>/roles/<id:role_id>": ("roles",),
    "/event/<id:event_id>/users": ("users",),
    "/event/<id:event_id>/users/<id:event_user_id>": ("users",),
}
# A route parameter, and the row of `EventRows` it names.
PARAMETER_ROWS = {
    "event_id": "event",
    "ticket_id": "ticket",
    "booking_id": "booking",
    "line_id": "line",
    "group_id": "group",
    "customer_id": "customer",
    "role_id": "role",
    "event_user_id": "event_user",
}
PARAMETER = re.compile(r"<id:(\w+)>")


def utcnow() -> datetime:
    """Now, naive UTC, as the token table stores it."""
    return datetime.now(UTC).replace(tzinfo=None)


def parameters(rule: str) -> list[str]:
    return PARAMETER.findall(rule)


def fill(rule: str, ids: Mapping[str, int]) -> str:
    """The path of a route rule, each `<id:x_id>` replaced by `ids[x_id]`."""
    return PARAMETER.sub(lambda match: str(ids[match.group(1)]), rule)


@dataclass(frozen=True)
class EventRows:
    """One event and one row of every kind under it."""

    event: int
    ticket: int
    customer: int
    group: int
    booking: int
    line: int
    role: int
    event_user: int

    def ids(self, **overrides: int) -> dict[str, int]:
        """Route parameters naming these rows, some replaced."""
        ids = {name: getattr(self, row) for name, row in PARAMETER_ROWS.items()}
        return {**ids, **overrides}

    def path(self, rule: str, **overrides: int) -> str:
        return fill(rule, self.ids(**overrides))


def saved(factory: type[Factory], **values: Any) -> Any:
    """A factory's row, added and flushed in the open transaction: one commit per world
    rather than one per row keeps the many small worlds of these tests fast."""
    row = factory.build(**values)
    db.session.add(row)
    db.session.flush()
    return row


def role_at(
    user_id: int, event_id: int, permissions: Mapping[str, str], *, active: bool = True
) -> EventUser:
    """`tests.factories.grant`, flushed rather than committed."""
    role = saved(EventRoleFactory, event_id=event_id)
    for area, level in permissions.items():
        saved(PermissionFactory, event_role_id=role.id, area=area, permission=level)
    row: EventUser = saved(
        EventUserFactory, user_id=user_id, event_id=event_id, event_role_id=role.id, active=active
    )
    return row


def token_for(user_id: int, abilities: list[str] | None = None, **columns: Any) -> str:
    """`tests.factories.issue_token`, flushed rather than committed."""
    secret = columns.pop("secret", None) or generate_secret()
    row = saved(
        TokenFactory,
        tokenable_id=user_id,
        token=hash_secret(secret),
        abilities=json.dumps(["*"] if abilities is None else abilities),
        **columns,
    )
    return f"{row.id}|{secret}"


def event_rows() -> EventRows:
    """An event with a ticket, a customer's group, a booking of it with a line, a role held."""
    event_id = saved(EventFactory).id
    ticket = saved(TicketFactory, event_id=event_id)
    customer = saved(CustomerFactory)
    group = saved(GroupFactory, event_id=event_id, customer_id=customer.id)
    booking = saved(BookingFactory, event_id=event_id, group_id=group.id)
    line = saved(BookingTicketFactory, booking_id=booking.id, ticket_id=ticket.id, qty=2)
    holder = role_at(saved(UserFactory).id, event_id, {"event": "read"})
    return EventRows(
        event=event_id,
        ticket=ticket.id,
        customer=customer.id,
        group=group.id,
        booking=booking.id,
        line=line.id,
        role=holder.event_role_id,
        event_user=holder.id,
    )


@dataclass(frozen=True)
class World:
    """Event `a` (the one asked about), event `b` (another), and a line of another booking
    at `a`."""

    a: EventRows
    b: EventRows
    other_line_at_a: int


@pytest.fixture
def world() -> World:
    a = event_rows()
    b = event_rows()
    other_booking = saved(BookingFactory, event_id=a.event)
    other_line = saved(BookingTicketFactory, booking_id=other_booking.id, ticket_id=a.ticket)
    db.session.commit()
    return World(a=a, b=b, other_line_at_a=other_line.id)


@dataclass(frozen=True)
class Caller:
    """A test client speaking for one user through one token."""

    client: FlaskClient
    user_id: int
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> TestResponse:
        return self.client.get(API + path, headers={**self.headers, **(headers or {})})


MakeCaller = Callable[..., Caller]


@pytest.fixture
def make_caller(client: FlaskClient) -> MakeCaller:
    """`make_caller(abilities, grants={event_id: {area: level}}, active=True, **token columns)`:
    a new user with a role at each event of `grants`, and a token with `abilities`."""

    def make(
        abilities: list[str] | None = None,
        grants: Mapping[int, Mapping[str, str]] | None = None,
        *,
        active: bool = True,
        **columns: Any,
    ) -> Caller:
        user_id = saved(UserFactory).id
        for event_id, permissions in (grants or {}).items():
            role_at(user_id, event_id, permissions, active=active)
        token = token_for(user_id, abilities, **columns)
        db.session.commit()
        return Caller(client, user_id, token)

    return make


def abilities_for(areas: Iterable[str]) -> list[str]:
    return [ability(area) for area in areas]


def error_body(response: TestResponse, status: int) -> dict[str, Any]:
    """The contract's error body for `status`: exactly a `message`."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body, dict) and set(body) == {"message"}, body
    assert isinstance(body["message"], str) and body["message"], body
    return body


def assert_unauthenticated(response: TestResponse) -> None:
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.get_json() == UNAUTHENTICATED


def assert_forbidden(response: TestResponse, missing: str) -> None:
    """A 403 whose message names what is missing (an ability or an area), in backticks."""
    message = error_body(response, 403)["message"]
    assert f"`{missing}`" in message, message


def ok(response: TestResponse) -> Any:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture(autouse=True)
def fresh_rate_limits(app: Flask) -> None:
    """These tests send many 401s from one address; each starts with a full budget."""
    limiter = app.extensions.get("eventio.ratelimit")
    if limiter is not None:
        limiter.reset()


Expected = int | str


def answers_as(response: TestResponse, expected: Expected) -> bool:
    """A status (401, 404 and 406 in the contract's body), or, as a string, a 403 naming it."""
    if isinstance(expected, str):
        if response.status_code != 403:
            return False
        body = response.get_json()
        return set(body) == {"message"} and f"`{expected}`" in body["message"]
    if response.status_code != expected:
        return False
    if expected == 401:
        return bool(response.get_json() == UNAUTHENTICATED)
    if expected == 406:  # a format the route does not serve: `errors.format` names those it does
        body = response.get_json()
        return (
            isinstance(body, dict)
            and set(body) == {"message", "errors"}
            and "format" in body["errors"]
        )
    if expected >= 400:
        body = response.get_json()
        return isinstance(body, dict) and set(body) == {"message"} and bool(body["message"])
    return True


def check(caller: Caller, expected: Mapping[str, Expected], **headers: str) -> None:
    """Each path answers as expected; every mismatch is reported, not just the first."""
    problems = []
    for path, wanted in expected.items():
        response = caller.get(path, headers)
        if not answers_as(response, wanted):
            text = response.get_data(as_text=True)[:300]
            problems.append(f"{path}: wanted {wanted!r}, got {response.status_code} {text}")
    assert not problems, "\n".join(problems)
