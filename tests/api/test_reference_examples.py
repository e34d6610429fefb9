"""The reference's example responses, reproduced from its world loaded by plain SQL."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from eventio.db.extensions import db
from tests.api.conftest import Caller, assert_reproduces
from tests.conftest import TABLES, bearer

JOHN_SECRET = "J0hnD0eReferenceWorldSecret0000000000000"
ADMIN_SECRET = "AdminReferenceWorldSecret000000000000000"
STAMP = "'2026-01-01 09:00:00'"


@dataclass(frozen=True)
class World:
    """The reference's world, in the variant one example shows.

    The examples disagree on a few values: John Doe is user 1 under `/user` but user 5
    under `/users`, group 1 is "ACME Corp" in the booking example and "ACME Corporation"
    under `/groups`, Jane Smith is jane@acme.com there and jane@example.com under
    `/customers`. Each example is checked against the world with its own values.
    """

    john_id: int = 1
    group_name: str = "ACME Corp"
    jane_email: str = "jane@acme.com"


@dataclass(frozen=True)
class Callers:
    john: Caller
    admin: Caller


def world_sql(world: World) -> list[str]:
    """The rows, as a BI loader would write them: explicit ids, timestamps as text.

    Role 1 "Event Manager" holds only `event: admin` and `bookings: write`, as the
    reference says, so John Doe cannot read groups, customers, roles or users. A user
    has one role per event, so the examples of those areas are asked by a second
    user, "Admin" (user 2), whose role 2 "Administrator" grants admin on every area.
    """
    john = world.john_id
    rows = [
        f"INSERT INTO users (id, name, email, created_at, updated_at) VALUES "
        f"({john}, 'John Doe', 'john@example.com', {STAMP}, {STAMP})",
        f"INSERT INTO users (id, name, email, created_at, updated_at) VALUES "
        f"(2, 'Admin', 'admin@example.com', {STAMP}, {STAMP})",
        "INSERT INTO events (id, slug, name, start_date, end_date, created_at, updated_at) "
        "VALUES (1, 'conference-2026', 'Annual Conference 2026', '2026-06-15', '2026-06-17', "
        f"{STAMP}, {STAMP})",
        "INSERT INTO tickets (id, event_id, title, participant_type, price, seq, created_at, "
        f"updated_at) VALUES (1, 1, 'Adult Ticket', 'adult', 99.00, 1, {STAMP}, {STAMP})",
        "INSERT INTO customers (id, first_name, last_name, email, post_code, created_at, "
        f"updated_at) VALUES (1, 'Jane', 'Smith', '{world.jane_email}', 'SW1A 1AA', "
        f"{STAMP}, {STAMP})",
        "INSERT INTO groups (id, event_id, customer_id, name, association, created_at, "
        f"updated_at) VALUES (1, 1, 1, '{world.group_name}', 'Corporate Partner', "
        f"{STAMP}, {STAMP})",
        "INSERT INTO bookings (id, event_id, group_id, booking_type, booking_reference, status, "
        "created_at, updated_at) VALUES (1, 1, 1, 'participant', 'EVT-ABC123', 'confirmed', "
        "'2026-01-10 14:30:00', '2026-01-10 14:30:00')",
        "INSERT INTO booking_tickets (id, booking_id, ticket_id, qty, price, created_at, "
        "updated_at) VALUES (1, 1, 1, 2, 198.00, '2026-01-10 14:30:00', '2026-01-10 14:30:00')",
        "INSERT INTO event_roles (id, event_id, title, created_at, updated_at) VALUES "
        f"(1, 1, 'Event Manager', {STAMP}, {STAMP})",
        "INSERT INTO event_role_permissions (id, event_role_id, area, permission, created_at, "
        f"updated_at) VALUES (1, 1, 'event', 'admin', {STAMP}, {STAMP})",
        "INSERT INTO event_role_permissions (id, event_role_id, area, permission, created_at, "
        f"updated_at) VALUES (2, 1, 'bookings', 'write', {STAMP}, {STAMP})",
        "INSERT INTO event_users (id, user_id, event_id, event_role_id, active, created_at, "
        f"updated_at) VALUES (1, {john}, 1, 1, TRUE, {STAMP}, {STAMP})",
        "INSERT INTO event_roles (id, event_id, title, created_at, updated_at) VALUES "
        f"(2, 1, 'Administrator', {STAMP}, {STAMP})",
        *(
            "INSERT INTO event_role_permissions (id, event_role_id, area, permission, "
            f"created_at, updated_at) VALUES ({3 + n}, 2, '{area}', 'admin', {STAMP}, {STAMP})"
            for n, area in enumerate(("event", "bookings", "groups", "customers", "roles", "users"))
        ),
        "INSERT INTO event_users (id, user_id, event_id, event_role_id, active, created_at, "
        f"updated_at) VALUES (2, 2, 1, 2, TRUE, {STAMP}, {STAMP})",
    ]
    for token_id, user_id, secret in ((1, john, JOHN_SECRET), (2, 2, ADMIN_SECRET)):
        digest = hashlib.sha256(secret.encode()).hexdigest()
        rows.append(
            "INSERT INTO personal_access_tokens (id, tokenable_type, tokenable_id, name, token, "
            "abilities, last_used_at, expires_at, created_at, updated_at) VALUES "
            f"({token_id}, 'App\\Models\\User', {user_id}, 'reference', '{digest}', '[\"*\"]', "
            f"NULL, NULL, {STAMP}, {STAMP})"
        )
    return rows


def run_sql(statements: list[str]) -> None:
    """Execute by plain SQL, then move PostgreSQL's id sequences past the explicit ids."""
    with db.engine.begin() as connection:
        for statement in statements:
            if connection.dialect.name == "mysql":
                # MySQL reads a backslash in a string literal as an escape (`App\Models`).
                statement = statement.replace("\\", "\\\\")
            connection.execute(text(statement))
        if connection.dialect.name == "postgresql":
            for table in TABLES:
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                    )
                )


LoadWorld = Callable[..., Callers]


@pytest.fixture
def load_world(client: FlaskClient) -> LoadWorld:
    """Load the reference world (in the variant asked for) and return its two callers."""

    def load(**variant: Any) -> Callers:
        world = World(**variant)
        run_sql(world_sql(world))
        return Callers(
            john=Caller(client, bearer(f"1|{JOHN_SECRET}"), 1, world.john_id),
            admin=Caller(client, bearer(f"2|{ADMIN_SECRET}"), 1, 2),
        )

    return load


def test_user_example_is_reproduced(load_world: LoadWorld) -> None:
    john = load_world().john
    assert_reproduces(
        john.ok("/user"),
        {"data": {"id": 1, "name": "John Doe", "email": "john@example.com"}},
    )


def test_user_with_event_role_example_is_reproduced(load_world: LoadWorld) -> None:
    john = load_world().john
    assert_reproduces(
        john.ok("/user", "eventId=1"),
        {
            "data": {"id": 1, "name": "John Doe", "email": "john@example.com"},
            "event_role": {"id": 1, "title": "Event Manager"},
        },
    )


EVENT = {
    "id": 1,
    "slug": "conference-2026",
    "name": "Annual Conference 2026",
    "start_date": "2026-06-15",
    "end_date": "2026-06-17",
}


def test_events_list_example_is_reproduced(load_world: LoadWorld) -> None:
    body = load_world().john.ok("/events")
    assert_reproduces(body, {"data": [EVENT]})
    assert len(body["data"]) == 1


def test_event_example_is_reproduced(load_world: LoadWorld) -> None:
    assert_reproduces(load_world().john.ok("/event/1"), {"data": EVENT})


def test_stats_example_is_reproduced_with_total_provisional_including_confirmed(
    load_world: LoadWorld,
) -> None:
    john = load_world().john
    # Booking 1 holds 2 confirmed adult tickets; 148 more confirmed and 25 provisional
    # make the example's 150 and 25. Waiting-list and cancelled lines count in neither.
    extra = [
        (2, "EVT-CONF02", "confirmed", 148),
        (3, "EVT-PROV03", "provisional", 25),
        (4, "EVT-WAIT04", "waiting_list", 7),
        (5, "EVT-CANC05", "cancelled", 9),
    ]
    statements = []
    for booking_id, reference, status, qty in extra:
        statements += [
            "INSERT INTO bookings (id, event_id, group_id, booking_type, booking_reference, "
            f"status, created_at, updated_at) VALUES ({booking_id}, 1, NULL, 'participant', "
            f"'{reference}', '{status}', '2026-01-11 10:00:00', '2026-01-11 10:00:00')",
            "INSERT INTO booking_tickets (id, booking_id, ticket_id, qty, price, created_at, "
            f"updated_at) VALUES ({booking_id}, {booking_id}, 1, {qty}, {qty * 99}.00, "
            "'2026-01-11 10:00:00', '2026-01-11 10:00:00')",
        ]
    run_sql(statements)
    body = john.ok("/event/1/stats")
    assert_reproduces(
        body,
        {
            "event_id": 1,
            "event_name": "Annual Conference 2026",
            "stats": [
                {
                    "id": 1,
                    "participant_type": "adult",
                    "title": "Adult Ticket",
                    "total_confirmed_tickets_sold": 150,
                    "total_provisional_tickets_sold": 25,
                }
            ],
            "total_confirmed": 150,
            "total_provisional": 175,
        },
    )
    assert len(body["stats"]) == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", body["generated_at"])


TICKET = {
    "id": 1,
    "event_id": 1,
    "title": "Adult Ticket",
    "participant_type": "adult",
    "price": "99.00",
}


def test_tickets_list_example_is_reproduced(load_world: LoadWorld) -> None:
    assert_reproduces(load_world().john.ok("/event/1/tickets"), {"data": [TICKET]})


def test_ticket_example_is_reproduced(load_world: LoadWorld) -> None:
    assert_reproduces(load_world().john.ok("/event/1/tickets/1"), {"data": TICKET})


BOOKING = {
    "id": 1,
    "event_id": 1,
    "booking_type": "participant",
    "booking_reference": "EVT-ABC123",
    "status": "confirmed",
    "created_at": "2026-01-10T14:30:00.000000Z",
}


def test_bookings_list_example_is_reproduced(load_world: LoadWorld) -> None:
    assert_reproduces(load_world().john.ok("/event/1/bookings"), {"data": [BOOKING]})


def test_booking_with_tickets_and_group_customer_example_is_reproduced(
    load_world: LoadWorld,
) -> None:
    # `group.customer` reaches the groups and customers areas, which the Event Manager
    # role lacks: the example is asked by Admin.
    body = load_world().admin.ok("/event/1/bookings/1", "include=tickets,group.customer")
    assert_reproduces(
        body,
        {
            "data": {
                **BOOKING,
                "tickets": [
                    {"id": 1, "booking_id": 1, "ticket_id": 1, "qty": 2, "price": "198.00"}
                ],
                "group": {
                    "id": 1,
                    "name": "ACME Corp",
                    "customer": {
                        "id": 1,
                        "full_name": "Jane Smith",
                        "email_address": "jane@acme.com",
                    },
                },
            }
        },
    )
    assert len(body["data"]["tickets"]) == 1


def test_booking_tickets_list_example_is_reproduced(load_world: LoadWorld) -> None:
    body = load_world().john.ok("/event/1/bookings/1/tickets")
    line = {
        "id": 1,
        "booking_id": 1,
        "ticket_id": 1,
        "ticket_title": "Adult Ticket",
        "participant_type": "adult",
        "qty": 2,
        "price": "198.00",
    }
    assert_reproduces(body, {"data": [line]})
    assert len(body["data"]) == 1


def test_booking_ticket_single_shows_the_same_line(load_world: LoadWorld) -> None:
    john = load_world().john
    assert_reproduces(
        john.ok("/event/1/bookings/1/tickets/1"),
        {"data": {"id": 1, "ticket_title": "Adult Ticket", "participant_type": "adult"}},
    )


def test_groups_list_example_is_reproduced(load_world: LoadWorld) -> None:
    admin = load_world(group_name="ACME Corporation").admin
    assert_reproduces(
        admin.ok("/event/1/groups"),
        {
            "data": [
                {
                    "id": 1,
                    "event_id": 1,
                    "name": "ACME Corporation",
                    "association": "Corporate Partner",
                }
            ]
        },
    )


def test_customers_list_example_is_reproduced(load_world: LoadWorld) -> None:
    admin = load_world(jane_email="jane@example.com").admin
    assert_reproduces(
        admin.ok("/event/1/customers"),
        {
            "data": [
                {
                    "id": 1,
                    "full_name": "Jane Smith",
                    "email_address": "jane@example.com",
                    "post_code": "SW1A 1AA",
                }
            ]
        },
    )


def test_roles_list_example_is_reproduced(load_world: LoadWorld) -> None:
    assert_reproduces(
        load_world().admin.ok("/event/1/roles"), {"data": [{"id": 1, "title": "Event Manager"}]}
    )


def test_roles_with_permissions_example_is_reproduced(load_world: LoadWorld) -> None:
    body = load_world().admin.ok("/event/1/roles", "include=permissions")
    assert_reproduces(
        body,
        {
            "data": [
                {
                    "id": 1,
                    "title": "Event Manager",
                    "permissions": [
                        {"id": 1, "event_role_id": 1, "area": "event", "permission": "admin"},
                        {"id": 2, "event_role_id": 1, "area": "bookings", "permission": "write"},
                    ],
                }
            ]
        },
    )
    role = next(item for item in body["data"] if item["id"] == 1)
    assert [p["id"] for p in role["permissions"]] == [1, 2]


def test_event_users_example_is_reproduced(load_world: LoadWorld) -> None:
    admin = load_world(john_id=5).admin
    assert_reproduces(
        admin.ok("/event/1/users"),
        {"data": [{"id": 1, "user_id": 5, "event_id": 1, "active": True}]},
    )


def test_event_users_with_user_and_role_example_is_reproduced(load_world: LoadWorld) -> None:
    admin = load_world(john_id=5).admin
    assert_reproduces(
        admin.ok("/event/1/users", "include=user,role"),
        {
            "data": [
                {
                    "id": 1,
                    "user_id": 5,
                    "event_id": 1,
                    "active": True,
                    "user": {"id": 5, "name": "John Doe", "email": "john@example.com"},
                    "role": {"id": 1, "title": "Event Manager"},
                }
            ]
        },
    )


def test_user_with_event_role_is_reproduced_for_john_as_user_5(load_world: LoadWorld) -> None:
    john = load_world(john_id=5).john
    assert_reproduces(
        john.ok("/user", "eventId=1"),
        {
            "data": {"id": 5, "name": "John Doe", "email": "john@example.com"},
            "event_role": {"id": 1, "title": "Event Manager"},
        },
    )
