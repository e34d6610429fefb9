"""The demo's fixed rows: the reference world, 20 events with their tickets, and access."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from eventio.auth.permissions import AREAS

# Every timestamp derives from fixed dates, so the same seed gives the same rows.
SETUP_AT = datetime(2026, 1, 1, 9, 0, 0)
STAMPS = ("created_at", "updated_at")
STAMP = (SETUP_AT, SETUP_AT)
FLAGSHIP_EVENT = 1
DEMO_EMAIL = "demo@eventio.test"

TICKET_TYPES = (  # title, participant type, price as a share of the adult price (%)
    ("Adult Ticket", "adult", 100),
    ("Child Ticket", "child", 50),
    ("Student Ticket", "student", 60),
    ("Concession Ticket", "concession", 70),
    ("VIP Ticket", "vip", 250),
)
OTHER_EVENTS = (
    "Summer Music Festival 2026",
    "Tech Expo 2026",
    "Developer Summit 2026",
    "Autumn Trade Fair 2026",
    "Charity Gala Dinner 2026",
    "City Marathon 2026",
    "Food and Drink Festival 2026",
    "Careers Fair 2026",
    "Science Week 2026",
    "Book Fair 2026",
    "Design Week 2026",
    "Startup Pitch Night 2026",
    "Health and Wellbeing Expo 2026",
    "Film Festival 2026",
    "Jazz Weekend 2026",
    "Craft Beer Festival 2026",
    "Open Source Meetup 2026",
    "Spring Garden Show 2027",
    "Education Forum 2027",
)
# Share of the bookings per event: a flagship, three medium events, sixteen small ones.
EVENT_SHARES = (0.60, 0.06, 0.06, 0.06, *([0.22 / 16] * 16))

USERS = (  # id, name, email
    (1, "John Doe", "john@example.com"),
    (2, "Demo Manager", DEMO_EMAIL),
    (3, "Bookings Reader", "bookings.reader@eventio.test"),
    (4, "Finance Analyst", "finance@eventio.test"),
    (5, "Former Box Office", "former.staff@eventio.test"),
)
EVERYTHING = tuple((area, "admin") for area in AREAS)
# Role 1 is the reference's; the demo user administers every event through roles 2..21.
NARROW_ROLES = (  # title, user id, events, permissions, active
    ("Bookings Reader", 3, (1, 2), (("bookings", "read"),), True),
    (
        "Finance",
        4,
        (1, 2, 3),
        (("event", "read"), ("bookings", "read"), ("groups", "read"), ("customers", "read")),
        True,
    ),
    ("Box Office", 5, (1,), (("bookings", "write"), ("groups", "write")), False),
)


@dataclass
class Table:
    """Rows for one table, in column order."""

    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass(frozen=True)
class TicketType:
    id: int
    price_cents: int


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def cents(value: int) -> Decimal:
    """A price in cents as a 2-decimal `Decimal`."""
    return Decimal(value).scaleb(-2)


def events(rng: random.Random) -> tuple[Table, Table, dict[int, list[TicketType]]]:
    """Events and their five tickets each; event 1 and ticket 1 are the reference's."""
    event_table = Table("events", ("id", "slug", "name", "start_date", "end_date", *STAMPS))
    ticket_table = Table(
        "tickets", ("id", "event_id", "title", "participant_type", "price", "seq", *STAMPS)
    )
    tickets: dict[int, list[TicketType]] = {}
    names = ("Annual Conference 2026", *OTHER_EVENTS)
    for event_id, name in enumerate(names, start=1):
        if event_id == 1:
            start, days, adult = date(2026, 6, 15), 3, 9900
        else:
            start = date(2026, 6, 15) + timedelta(days=14 * (event_id - 1) + rng.randrange(7))
            days, adult = rng.choice((1, 1, 2, 3)), rng.randrange(10, 60) * 250
        event_slug = "conference-2026" if event_id == 1 else slug(name)
        end = start + timedelta(days=days - 1)
        event_table.rows.append((event_id, event_slug, name, start, end, *STAMP))
        tickets[event_id] = []
        for seq, (title, participant_type, share) in enumerate(TICKET_TYPES, start=1):
            ticket_id = (event_id - 1) * len(TICKET_TYPES) + seq
            price = adult if seq == 1 else round(adult * share / 100 / 50) * 50
            tickets[event_id].append(TicketType(ticket_id, price))
            ticket_table.rows.append(
                (ticket_id, event_id, title, participant_type, cents(price), seq, *STAMP)
            )
    return event_table, ticket_table, tickets


def access(event_ids: list[int]) -> list[Table]:
    """Users, roles, permissions and assignments that show the permission model."""
    users = Table("users", ("id", "name", "email", *STAMPS), [(*u, *STAMP) for u in USERS])
    roles = Table("event_roles", ("id", "event_id", "title", *STAMPS))
    permissions = Table(
        "event_role_permissions", ("id", "event_role_id", "area", "permission", *STAMPS)
    )
    assignments = Table(
        "event_users", ("id", "user_id", "event_id", "event_role_id", "active", *STAMPS)
    )
    grants: list[tuple[str, int, int, tuple[tuple[str, str], ...], bool]] = [
        ("Event Manager", 1, 1, (("event", "admin"), ("bookings", "write")), True),
        *(("Administrator", 2, event_id, EVERYTHING, True) for event_id in event_ids),
        *(
            (title, user_id, event_id, held, active)
            for title, user_id, at, held, active in NARROW_ROLES
            for event_id in at
        ),
    ]
    for role_id, (title, user_id, event_id, held, active) in enumerate(grants, start=1):
        roles.rows.append((role_id, event_id, title, *STAMP))
        for area, level in held:
            permissions.rows.append((len(permissions.rows) + 1, role_id, area, level, *STAMP))
        assignments.rows.append((role_id, user_id, event_id, role_id, active, *STAMP))
    return [users, roles, permissions, assignments]
