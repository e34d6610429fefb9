"""Every endpoint family answers the reference's examples from a database Laravel made,
its rows written by plain SQL: Sanctum 3 or 2 token table, read-write or read-only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.laravel.conftest import (
    Server,
    build_laravel_database,
    start_api_on,
    stop_api,
    write_tokens,
)
from tests.laravel.world import ADA, JOHN, SanctumToken

API = "/api/v2"
EVENT = {
    "id": 1,
    "slug": "conference-2026",
    "name": "Annual Conference 2026",
    "start_date": "2026-06-15",
    "end_date": "2026-06-17",
}
TICKET = {
    "id": 1,
    "event_id": 1,
    "title": "Adult Ticket",
    "participant_type": "adult",
    "price": "99.00",
}
BOOKING = {
    "id": 1,
    "event_id": 1,
    "booking_type": "participant",
    "booking_reference": "EVT-ABC123",
    "status": "confirmed",
    "created_at": "2026-01-10T14:30:00.000000Z",
}
LINE = {"id": 1, "booking_id": 1, "ticket_id": 1, "qty": 2, "price": "198.00"}
CUSTOMER = {"id": 1, "full_name": "Jane Smith", "email_address": "jane@acme.com"}
GROUP = {"id": 1, "event_id": 1, "name": "ACME Corp", "association": "Corporate Partner"}
JOHN_DOE = {"id": 1, "name": "John Doe", "email": "john@example.com"}
MANAGER = {"id": 1, "title": "Event Manager"}
ASSIGNMENT = {"id": 1, "user_id": 1, "event_id": 1, "active": True}

# (whose token, request, the `data` the reference's examples show)
EXAMPLES: list[tuple[str, str, Any]] = [
    ("john", "/user", JOHN_DOE),
    ("john", "/events", [EVENT]),
    ("john", "/events?filter[slug]=conference-2026&sort=-start_date&include=tickets",
     [{**EVENT, "tickets": [TICKET]}]),
    ("john", "/events?filter[name]=Annual", [EVENT]),
    ("john", "/events?filter[name]=nothing-like-it", []),
    ("john", "/event/1", EVENT),
    ("john", "/event/1/tickets", [TICKET]),
    ("john", "/event/1/tickets?filter[title]=Adult&sort=-price", [TICKET]),
    ("john", "/event/1/tickets/1", TICKET),
    ("john", "/event/1/bookings", [BOOKING]),
    ("john", "/event/1/bookings?filter[status]=confirmed&filter[booking_type]=participant"
     "&sort=-created_at,status", [BOOKING]),
    ("john", "/event/1/bookings?filter[status]=provisional", []),
    # An include that reaches groups and customers needs those areas: Ada's role has them.
    ("ada", "/event/1/bookings?include=tickets.ticket,group.customer",
     [{**BOOKING, "tickets": [{**LINE, "ticket": TICKET}],
       "group": {"id": 1, "name": "ACME Corp", "customer": CUSTOMER}}]),
    ("ada", "/event/1/bookings/1?include=tickets,group.customer",
     {**BOOKING, "tickets": [LINE], "group": {"id": 1, "name": "ACME Corp", "customer": CUSTOMER}}),
    ("john", "/event/1/bookings/1/tickets",
     [{**LINE, "ticket_title": "Adult Ticket", "participant_type": "adult"}]),
    ("john", "/event/1/bookings/1/tickets/1?include=ticket", {**LINE, "ticket": TICKET}),
    ("ada", "/event/1/groups", [GROUP]),
    ("ada", "/event/1/groups?filter[name]=acme&sort=name&include=customer",
     [{**GROUP, "customer": CUSTOMER}]),
    ("ada", "/event/1/groups/1", GROUP),
    ("ada", "/event/1/groups/1/bookings?include=tickets", [{**BOOKING, "tickets": [LINE]}]),
    ("ada", "/event/1/customers", [{**CUSTOMER, "post_code": "SW1A 1AA"}]),
    ("ada", "/event/1/customers?filter[last_name]=smith&sort=email", [CUSTOMER]),
    ("ada", "/event/1/customers/1", CUSTOMER),
    ("ada", "/event/1/roles?filter[id]=1&include=permissions",
     [{**MANAGER, "permissions": [
         {"id": 1, "event_role_id": 1, "area": "event", "permission": "admin"},
         {"id": 2, "event_role_id": 1, "area": "bookings", "permission": "write"}]}]),
    ("ada", "/event/1/roles?filter[title]=manager", [MANAGER]),
    ("ada", "/event/1/roles/1", MANAGER),
    ("ada", "/event/1/users?filter[id]=1&include=user,role",
     [{**ASSIGNMENT, "user": JOHN_DOE, "role": MANAGER}]),
    ("ada", "/event/1/users?filter[active]=false", []),
    ("ada", "/event/1/users/1", ASSIGNMENT),
]  # fmt: skip

VARIANTS = {
    "sanctum3": {"sanctum": 3, "read_only": False},
    "sanctum2": {"sanctum": 2, "read_only": False},
    "read-only": {"sanctum": 3, "read_only": True},
}


def same(actual: Any, expected: Any, where: str = "data") -> None:
    """`actual` holds every field `expected` shows, with the same JSON value and type
    (`true` is not `1`, `"99.00"` is not `99`); fields the reference does not show may
    be added. Lists have exactly the expected items, in order."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: {actual!r} is not an object"
        for key, value in expected.items():
            assert key in actual, f"{where}: no {key!r} in {actual!r}"
            same(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: {actual!r} is not a list"
        assert len(actual) == len(expected), f"{where}: {actual!r}"
        for index, (got, want) in enumerate(zip(actual, expected, strict=True)):
            same(got, want, f"{where}[{index}]")
    else:
        assert type(actual) is type(expected) and actual == expected, (
            f"{where}: {actual!r} where the reference shows {expected!r}"
        )


@pytest.fixture(scope="module", params=list(VARIANTS))
def world(
    request: pytest.FixtureRequest, server: Server
) -> Iterator[tuple[Flask, dict[str, SanctumToken]]]:
    """Built once per server and variant: these tests only read."""
    variant = VARIANTS[request.param]
    build_laravel_database(server, variant["sanctum"])
    tokens = {
        "john": SanctumToken(id=1, user_id=JOHN, abilities=["*"]),
        "ada": SanctumToken(id=2, user_id=ADA, abilities=["*"]),
    }
    write_tokens(server, variant["sanctum"], *tokens.values())
    app = start_api_on(server, read_only=variant["read_only"])
    yield app, tokens
    stop_api(app)


def test_every_endpoint_family_answers_as_the_reference_shows(
    world: tuple[Flask, dict[str, SanctumToken]],
) -> None:
    app, tokens = world
    client = app.test_client()
    wrong = []  # every request's mismatch, not only the first
    for who, path, data in EXAMPLES:
        response = client.get(API + path, headers=tokens[who].headers)
        try:
            assert response.status_code == 200, f"{response.status_code} {response.get_data()!r}"
            same(response.get_json()["data"], data, "data")
        except AssertionError as mismatch:
            wrong.append(f"GET {path}: {str(mismatch).splitlines()[0]}")
    assert not wrong, "\n".join(wrong)


def test_the_user_with_an_event_has_its_role(world: tuple[Flask, dict[str, SanctumToken]]) -> None:
    app, tokens = world
    response = app.test_client().get(f"{API}/user?eventId=1", headers=tokens["john"].headers)
    assert response.status_code == 200, response.get_data()
    same(response.get_json(), {"data": JOHN_DOE, "event_role": MANAGER}, "/user?eventId=1")


def test_stats_count_the_confirmed_line(world: tuple[Flask, dict[str, SanctumToken]]) -> None:
    app, tokens = world
    client = app.test_client()
    for path in ("/event/1/stats", "/event/1/stats?no-cache&participant_type=adult&ticketId=1"):
        response = client.get(API + path, headers=tokens["john"].headers)
        assert response.status_code == 200, (path, response.get_data())
        body = response.get_json()
        same(
            body,
            {
                "event_id": 1,
                "event_name": "Annual Conference 2026",
                "stats": [
                    {
                        "id": 1,
                        "participant_type": "adult",
                        "title": "Adult Ticket",
                        "total_confirmed_tickets_sold": 2,
                        "total_provisional_tickets_sold": 0,
                    }
                ],
                # confirmed plus provisional: the reference's 150 + 25 = 175
                "total_confirmed": 2,
                "total_provisional": 2,
            },
            path,
        )
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", body["generated_at"])


def test_lists_carry_laravels_envelope(world: tuple[Flask, dict[str, SanctumToken]]) -> None:
    app, tokens = world
    response = app.test_client().get(
        f"{API}/event/1/bookings?per_page=1", headers=tokens["john"].headers
    )
    assert response.status_code == 200, response.get_data()
    body = response.get_json()
    assert body["meta"]["total"] == 1 and body["meta"]["per_page"] == 1
    assert body["meta"]["current_page"] == 1 and body["meta"]["last_page"] == 1
    assert body["links"]["first"].endswith("page=1")


def test_health_ready_is_200(world: tuple[Flask, dict[str, SanctumToken]]) -> None:
    app, _ = world
    response = app.test_client().get("/health/ready")
    assert response.status_code == 200, response.get_data()
