"""What the OpenAPI tests share: the served document, and a small world with ids from 1."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import ALL_AREAS, bearer
from tests.factories import (
    BookingFactory,
    BookingTicketFactory,
    CustomerFactory,
    EventFactory,
    GroupFactory,
    TicketFactory,
    UserFactory,
    grant,
    issue_token,
)

OPENAPI_URL = "/api/v2/openapi.json"


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    """The document as a client gets it: no token needed."""
    response = client.get(OPENAPI_URL)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert isinstance(body, dict)
    return body


@dataclass(frozen=True)
class World:
    """A manager (admin on every area of event 1, `*` token) and one row of each resource."""

    headers: dict[str, str]
    ids: dict[str, int]


@pytest.fixture
def world(app: Flask) -> World:
    user = UserFactory()
    event = EventFactory()
    other_event = EventFactory()  # The manager has no role here: a 404 under it.
    assignment = grant(user.id, event.id, dict.fromkeys(ALL_AREAS, "admin"))
    customer = CustomerFactory()
    group = GroupFactory(event_id=event.id, customer_id=customer.id)
    ticket = TicketFactory(event_id=event.id)
    TicketFactory(event_id=other_event.id)
    booking = BookingFactory(event_id=event.id, group_id=group.id)
    BookingFactory(event_id=event.id, group_id=group.id, status="cancelled")
    line = BookingTicketFactory(booking_id=booking.id, ticket_id=ticket.id, qty=2)
    ids = {
        "event": event.id,
        "ticket": ticket.id,
        "booking": booking.id,
        "booking_ticket": line.id,
        "group": group.id,
        "customer": customer.id,
        "role": assignment.event_role_id,
        "event_user": assignment.id,
    }
    # Generated path ids start at the boundary, 1: make sure that is a real row.
    assert set(ids.values()) == {1}, ids
    return World(bearer(issue_token(user.id)), ids)
