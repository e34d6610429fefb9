"""`flask demo`: a deterministic world of the brief's shape, holding the reference's rows."""

from __future__ import annotations

import hashlib
from collections import Counter
from decimal import Decimal
from itertools import pairwise

import pytest
from sqlalchemy import func, select, text

from eventio.cli.demo import DEMO_TABLES
from eventio.db.extensions import db
from eventio.models import Booking, BookingTicket, Customer, Event, Group, Ticket
from tests.cli.conftest import Run
from tests.conftest import TABLES
from tests.factories import EventFactory, UserFactory

BOOKINGS = 2000


def digest() -> str:
    """A hash of every demo row, table by table in id order."""
    sha = hashlib.sha256()
    with db.engine.connect() as connection:
        for table in DEMO_TABLES:
            for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY id")):
                sha.update(repr(tuple(row)).encode())
    return sha.hexdigest()


def empty() -> None:
    db.session.remove()
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES:
                connection.execute(text(f"DELETE FROM {table}"))


def load(run: Run, *args: object) -> str:
    result = run("demo", "--bookings", BOOKINGS, *args)
    assert result.exit_code == 0, result.output
    return result.output


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_same_seed_same_rows_other_seed_other_rows(run: Run) -> None:
    load(run, "--seed", 7)
    first = digest()
    empty()
    load(run, "--seed", 7)
    assert digest() == first
    empty()
    load(run, "--seed", 8)
    assert digest() != first


def test_summary_counts_every_table(run: Run) -> None:
    output = load(run)
    assert "Demo world loaded in" in output
    for table in DEMO_TABLES:
        line = next(line for line in output.splitlines() if line.split()[:1] == [table])
        assert int(line.split()[1]) == db.session.scalar(text(f"SELECT count(*) FROM {table}"))


def test_reference_world_rows_are_present(run: Run) -> None:
    load(run)
    event = db.session.get(Event, 1)
    assert event is not None
    assert (event.slug, event.name) == ("conference-2026", "Annual Conference 2026")
    assert (str(event.start_date), str(event.end_date)) == ("2026-06-15", "2026-06-17")
    ticket = db.session.get(Ticket, 1)
    assert ticket is not None
    assert (ticket.event_id, ticket.title, ticket.participant_type, ticket.price, ticket.seq) == (
        1,
        "Adult Ticket",
        "adult",
        Decimal("99.00"),
        1,
    )
    booking = db.session.get(Booking, 1)
    assert booking is not None
    assert (booking.event_id, booking.group_id, booking.booking_reference) == (1, 1, "EVT-ABC123")
    assert (booking.booking_type, booking.status) == ("participant", "confirmed")
    assert str(booking.created_at) == "2026-01-10 14:30:00"
    lines = db.session.scalars(select(BookingTicket).where(BookingTicket.booking_id == 1)).all()
    assert [(line.id, line.ticket_id, line.qty, line.price) for line in lines] == [
        (1, 1, 2, Decimal("198.00"))
    ]
    group, customer = db.session.get(Group, 1), db.session.get(Customer, 1)
    assert group is not None and customer is not None
    assert (group.event_id, group.customer_id, group.name) == (1, 1, "ACME Corp")
    assert (customer.first_name, customer.last_name, customer.email) == (
        "Jane",
        "Smith",
        "jane@acme.com",
    )
    role = db.session.execute(text("SELECT event_id, title FROM event_roles WHERE id = 1")).one()
    assert tuple(role) == (1, "Event Manager")
    held = db.session.execute(
        text("SELECT area, permission FROM event_role_permissions WHERE event_role_id = 1")
    ).all()
    assert sorted(map(tuple, held)) == [("bookings", "write"), ("event", "admin")]
    john = db.session.execute(
        text(
            "SELECT u.id, u.name, u.email, eu.event_id, eu.event_role_id, eu.active FROM users u"
            " JOIN event_users eu ON eu.user_id = u.id WHERE u.id = 1"
        )
    ).all()
    assert [tuple(row) for row in john] == [(1, "John Doe", "john@example.com", 1, 1, True)]


def test_shape_of_the_bookings(run: Run) -> None:
    load(run)
    columns = (Booking.event_id, Booking.status, Booking.booking_type, Booking.created_at)
    bookings = db.session.execute(select(*columns).order_by(Booking.id)).all()
    assert len(bookings) == BOOKINGS
    statuses = Counter(row.status for row in bookings)
    expected = {"confirmed": 0.70, "provisional": 0.15, "waiting_list": 0.05, "cancelled": 0.10}
    for status, share in expected.items():
        assert statuses[status] / BOOKINGS == pytest.approx(share, abs=0.03), status
    by_event = Counter(row.event_id for row in bookings)
    assert by_event[1] / BOOKINGS == pytest.approx(0.60, abs=0.03)
    assert len(by_event) == 20
    assert all(by_event[e] > by_event[e + 5] for e in (2, 3, 4)), "some medium events"
    types = Counter(row.booking_type for row in bookings)
    assert types["participant"] / BOOKINGS > 0.8 and types["exhibitor"] and types["speaker"]
    stamps = [row.created_at for row in bookings]
    assert all(a < b for a, b in pairwise(stamps)), "ids rise with time"
    references = {ref for (ref,) in db.session.execute(select(Booking.booking_reference))}
    assert len(references) == BOOKINGS
    assert all(len(ref) == 10 and ref.startswith("EVT-") for ref in references)

    assert count(BookingTicket) / BOOKINGS == pytest.approx(1.8, abs=0.1)
    assert BOOKINGS / count(Group) == pytest.approx(4, abs=0.4)
    assert count(Customer) / count(Group) == pytest.approx(0.75, abs=0.08)


def test_rows_hang_together(run: Run) -> None:
    load(run)
    mismatched = {
        "group of another event": "SELECT count(*) FROM bookings b JOIN groups g"
        " ON g.id = b.group_id WHERE g.event_id <> b.event_id",
        "ticket of another event": "SELECT count(*) FROM booking_tickets bt JOIN bookings b"
        " ON b.id = bt.booking_id JOIN tickets t ON t.id = bt.ticket_id"
        " WHERE t.event_id <> b.event_id",
        "line price not qty x price": "SELECT count(*) FROM booking_tickets bt JOIN tickets t"
        " ON t.id = bt.ticket_id WHERE bt.price <> bt.qty * t.price OR bt.qty NOT BETWEEN 1 AND 4",
        "line without booking": "SELECT count(*) FROM booking_tickets bt"
        " LEFT JOIN bookings b ON b.id = bt.booking_id WHERE b.id IS NULL",
        "booking without line": "SELECT count(*) FROM bookings b WHERE NOT EXISTS"
        " (SELECT 1 FROM booking_tickets bt WHERE bt.booking_id = b.id)",
        "event without 5 tickets": "SELECT count(*) FROM events e WHERE"
        " (SELECT count(*) FROM tickets t WHERE t.event_id = e.id) <> 5",
        "updated before created": "SELECT count(*) FROM bookings WHERE updated_at < created_at",
    }
    for problem, statement in mismatched.items():
        assert db.session.scalar(text(statement)) == 0, problem
    seqs = db.session.execute(text("SELECT DISTINCT seq FROM tickets ORDER BY seq")).scalars()
    assert list(seqs) == [1, 2, 3, 4, 5]
    kinds = set(db.session.execute(text("SELECT participant_type FROM tickets")).scalars())
    assert kinds == {"adult", "child", "student", "concession", "vip"}
    shared = db.session.scalar(
        text(
            "SELECT count(*) FROM (SELECT customer_id FROM groups WHERE customer_id IS NOT NULL"
            " GROUP BY customer_id HAVING count(*) > 1) s"
        )
    )
    assert shared, "some customers have several groups"


def test_new_rows_get_ids_after_the_demos(run: Run) -> None:
    load(run)
    created = run("users", "create", "After Demo", "after@example.com")
    assert created.exit_code == 0, created.output
    assert int(created.stdout) == 6


def test_if_empty_leaves_a_database_with_events_alone(run: Run) -> None:
    EventFactory(name="Somebody's event")
    result = run("demo", "--if-empty", "--bookings", BOOKINGS)
    assert result.exit_code == 0
    assert "demo skipped" in result.output and "events" in result.output
    assert count(Event) == 1 and count(Booking) == 0


def test_if_empty_loads_an_empty_database(run: Run) -> None:
    load(run, "--if-empty")
    assert count(Booking) == BOOKINGS


def test_refuses_to_write_into_a_database_with_rows(run: Run) -> None:
    UserFactory()
    result = run("demo", "--bookings", BOOKINGS)
    assert result.exit_code == 1
    assert "already has rows in users" in result.output
    assert count(Event) == 0


def test_refuses_fewer_than_one_booking(run: Run) -> None:
    assert run("demo", "--bookings", 0).exit_code == 2
