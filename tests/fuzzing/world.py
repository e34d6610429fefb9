"""The rows the fuzzer runs against: small, but varied enough that generated filters match.

Three events (two the caller administers, one it cannot see), with tickets, customers,
groups, bookings in every status, ticket lines, roles and users; names in several scripts
and normalisation forms, NULLs where columns allow them. After seeding, the values each
column holds are read back, so the strategies can ask for what is really there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from eventio.db.extensions import db
from eventio.models import STATUSES
from eventio.querybuilder import Resource
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
from tests.fuzzing.targets import Target, all_resources

EVERY_AREA = ("event", "bookings", "groups", "customers", "roles", "users")
START = datetime(2026, 1, 10, 9, 0, 0)
SAMPLES_PER_COLUMN = 12


@dataclass(frozen=True)
class World:
    """What a request may use: tokens by name, ids per path argument, values per column.

    `ids[argument][0]` is the home id: the home event, a booking of it, a line of that
    booking, and so on, so a path made of home ids names rows that exist together.
    """

    tokens: tuple[tuple[str, str], ...]
    ids: tuple[tuple[str, tuple[int, ...]], ...]
    samples: tuple[tuple[str, tuple[str, ...]], ...]
    cursor_key: bytes

    def __repr__(self) -> str:
        return f"World(tokens={[name for name, _ in self.tokens]}, ids={self.home_ids()})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    @property
    def token_by_name(self) -> dict[str, str]:
        return dict(self.tokens)

    @property
    def ids_by_argument(self) -> dict[str, tuple[int, ...]]:
        return dict(self.ids)

    def home_ids(self) -> dict[str, int]:
        return {argument: ids[0] for argument, ids in self.ids}

    def samples_of(self, resource_type: str, column: str) -> tuple[str, ...]:
        return dict(self.samples).get(f"{resource_type}.{column}", ())

    @property
    def all_text_samples(self) -> tuple[str, ...]:
        return tuple(sorted({v for _, values in self.samples for v in values if not v.isdigit()}))


def stamps(offset_hours: int) -> dict[str, datetime]:
    at = START + timedelta(hours=offset_hours)
    return {"created_at": at, "updated_at": at + timedelta(minutes=offset_hours * 7 % 60)}


def seed_rows() -> dict[str, Any]:
    """Write the world; return the tokens and the home and other ids per table."""
    events = [
        EventFactory(
            slug="annual-conference-2026",
            name="Annual Conference 2026",
            start_date=date(2026, 6, 15),
            end_date=date(2026, 6, 17),
            **stamps(0),
        ),
        EventFactory(
            slug="cafe-munster-fest",
            name="Caf\u00e9 M\u00fcnster Fest \u2014 \u05e4\u05e1\u05d8\u05d9\u05d1\u05dc",
            start_date=date(2026, 9, 1),
            end_date=None,
            **stamps(1),
        ),
        EventFactory(
            slug="hidden-gala",
            name="Hidden Gala",
            start_date=None,
            end_date=None,
            **stamps(2),
        ),
    ]
    ticket_kinds = [
        ("Adult Ticket", "adult", Decimal("99.00"), 1),
        ("Child Ticket", "child", Decimal("49.50"), 2),
        ("VIP \u2605 Ticket", "vip", Decimal("250.00"), 3),
        ("Fru\u0308h-Bucher", None, None, None),  # decomposed umlaut, on purpose
    ]
    tickets = {
        e.id: [
            TicketFactory(
                event_id=e.id, title=t, participant_type=p, price=price, seq=seq, **stamps(i)
            )
            for i, (t, p, price, seq) in enumerate(ticket_kinds)
        ]
        for e in events
    }
    customers = [
        CustomerFactory(
            first_name="Zo\u00eb",
            last_name="O'Brien",
            email="zoe@example.com",
            post_code="SW1A 1AA",
            **stamps(3),
        ),
        CustomerFactory(
            first_name="Jos\u00e9",
            last_name="\u00d1\u00fa\u00f1ez",
            email="jose@example.es",
            post_code="28013",
            **stamps(4),
        ),
        CustomerFactory(
            first_name="\u062f\u0627\u0646\u0627",
            last_name="\u05db\u05d4\u05df",
            email="dana@example.org",
            post_code=None,
            **stamps(5),
        ),
        CustomerFactory(
            first_name=None, last_name="Smith", email=None, post_code=None, **stamps(6)
        ),
    ]
    groups = {
        events[0].id: [
            GroupFactory(
                event_id=events[0].id,
                customer_id=customers[0].id,
                name="Acme Ltd",
                association="Corporate Partner",
                **stamps(7),
            ),
            GroupFactory(
                event_id=events[0].id,
                customer_id=customers[1].id,
                name="100% Fun_Club",
                association=None,
                **stamps(8),
            ),
            GroupFactory(
                event_id=events[0].id,
                customer_id=None,
                name="Walk-ins",
                association="",
                **stamps(9),
            ),
        ],
        events[1].id: [
            GroupFactory(
                event_id=events[1].id,
                customer_id=customers[2].id,
                name="Caf\u00e9 Crew",
                association="Charity",
                **stamps(10),
            )
        ],
        events[2].id: [
            GroupFactory(
                event_id=events[2].id, customer_id=customers[3].id, name="Gala", **stamps(11)
            )
        ],
    }
    bookings: dict[int, list[Any]] = {e.id: [] for e in events}
    lines: dict[int, list[Any]] = {}
    booking_types = ("participant", "exhibitor", None)
    for index in range(16):
        event_row = events[0] if index < 10 else events[1] if index < 14 else events[2]
        event_groups = groups[event_row.id]
        booking = BookingFactory(
            event_id=event_row.id,
            group_id=event_groups[index % len(event_groups)].id if index % 3 else None,
            booking_type=booking_types[index % 3],
            booking_reference=f"EVT-{index + 1:06d}",
            status=STATUSES[index % len(STATUSES)],
            **stamps(12 + index),
        )
        bookings[event_row.id].append(booking)
        event_tickets = tickets[event_row.id]
        lines[booking.id] = [
            BookingTicketFactory(
                booking_id=booking.id,
                ticket_id=event_tickets[(index + n) % len(event_tickets)].id,
                qty=1 + (index + n) % 4,
                price=event_tickets[(index + n) % len(event_tickets)].price,
                **stamps(30 + index),
            )
            for n in range(1 + index % 3)
        ]

    manager = UserFactory(name="Fuzz Manager", email="manager@fuzz.test")
    reader = UserFactory(name="Bookings Reader \u200f", email="reader@fuzz.test")
    former = UserFactory(name="Former Staff", email="former@fuzz.test")
    assignments = [
        grant(manager.id, events[0].id, dict.fromkeys(EVERY_AREA, "admin")),
        grant(manager.id, events[1].id, dict.fromkeys(EVERY_AREA, "read")),
        grant(reader.id, events[0].id, {"event": "read", "bookings": "read"}),
        grant(former.id, events[0].id, {"event": "read"}, active=False),
        grant(former.id, events[2].id, dict.fromkeys(EVERY_AREA, "admin")),
    ]
    home_event = events[0]
    home_booking = bookings[home_event.id][1]  # one with a group and two lines
    home_group = next(g for g in groups[home_event.id] if g.id == home_booking.group_id)
    all_lines = [line for booking_lines in lines.values() for line in booking_lines]
    all_groups = [g for event_groups in groups.values() for g in event_groups]
    all_tickets = [t for event_tickets in tickets.values() for t in event_tickets]
    all_bookings = [b for event_bookings in bookings.values() for b in event_bookings]
    home = {
        "event_id": home_event.id,
        "booking_id": home_booking.id,
        "line_id": lines[home_booking.id][0].id,
        "group_id": home_group.id,
        "customer_id": home_group.customer_id,
        "role_id": assignments[0].event_role_id,
        "ticket_id": tickets[home_event.id][0].id,
        "event_user_id": assignments[0].id,
    }
    others = {
        "event_id": [e.id for e in events],
        "booking_id": [b.id for b in all_bookings],
        "line_id": [line.id for line in all_lines],
        "group_id": [g.id for g in all_groups],
        "customer_id": [c.id for c in customers],
        "role_id": [a.event_role_id for a in assignments],
        "ticket_id": [t.id for t in all_tickets],
        "event_user_id": [a.id for a in assignments],
    }
    return {
        "tokens": {
            "manager": issue_token(manager.id),
            "bookings reader": issue_token(reader.id, ["event.read", "bookings.read"]),
        },
        "ids": {
            argument: (home[argument], *[i for i in others[argument] if i != home[argument]])
            for argument in home
        },
    }


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def column_samples(resources: Mapping[str, Resource]) -> dict[str, tuple[str, ...]]:
    """Up to SAMPLES_PER_COLUMN distinct values of every column every resource selects."""
    samples: dict[str, tuple[str, ...]] = {}
    connection = db.session.connection()
    for resource in resources.values():
        for column in resource.columns:
            key = column.key
            if key is None:
                continue
            statement = (
                resource.select()
                .with_only_columns(column, maintain_column_froms=True)
                .distinct()
                .limit(SAMPLES_PER_COLUMN)
            )
            texts = [as_text(value) for value in connection.execute(statement).scalars()]
            samples[f"{resource.type}.{key}"] = tuple(t for t in texts if t is not None)
    return samples


@contextmanager
def one_transaction() -> Iterator[None]:
    """The factories commit every row (an fsync each on SQLite); flush them instead, and
    commit once at the end."""
    session = db.session()
    session.commit = session.flush  # type: ignore[method-assign]
    try:
        yield
    finally:
        del session.commit
    session.commit()


def seed_world(found: tuple[Target, ...], secret_key: str) -> World:
    """Seed the rows (in the app context's database) and describe them."""
    with one_transaction():
        rows = seed_rows()
        samples = column_samples(all_resources(found))
    return World(
        tokens=tuple(rows["tokens"].items()),
        ids=tuple((argument, tuple(ids)) for argument, ids in rows["ids"].items()),
        samples=tuple(sorted(samples.items())),
        cursor_key=secret_key.encode(),
    )


def ids_for(world: World, argument: str) -> tuple[int, ...]:
    """The world's ids for a path argument; a new argument gets small ids until it is mapped."""
    return world.ids_by_argument.get(argument, (1, 2, 3))
