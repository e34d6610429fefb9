"""The demo's bookings, streamed in chunks with their groups, customers and ticket lines."""

from __future__ import annotations

import random
import string
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, TypeVar

from eventio.cli.demo_world import EVENT_SHARES, STAMPS, Table, TicketType, cents

T = TypeVar("T")

FIRST_AT = datetime(2026, 1, 10, 14, 30, 0)  # booking 1, the reference's, is the oldest
LAST_AT = datetime(2026, 6, 10, 0, 0, 0)
GROUPED = 0.75  # share of bookings in a group; groups of 1-5 make one group per 4 bookings
NO_CUSTOMER, NEW_CUSTOMER = 0.05, 0.75  # per group; the rest reuse an earlier customer


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = words(
    "Oliver Amelia George Isla Harry Ava Noah Mia Jack Ivy Leo Freya Arthur Lily Muhammad "
    "Florence Oscar Sophia Charlie Grace Jacob Evie Thomas Poppy Henry Ella Alfie Rosie "
    "Theo Willow Aisha Priya Kofi Mei Lukas Sofia Mateo Zara Hiro Ananya"
)
LAST_NAMES = words(
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "
    "Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson "
    "Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Khan Chen"
)
COMPANIES = words(
    "Northwind Contoso Globex Initech Umbrella Hooli Vandelay Wonka Tyrell Cyberdyne Soylent "
    "Aperture Monarch Prestige Virtucon Sterling Oceanic Gringotts Wayfarer Lumen Brightside "
    "Redwood Bluebell Kestrel Harbour Meridian Summit Foxglove Ironbridge Silverline"
)
COMPANY_SUFFIXES = ("Ltd", "Group", "Partners", "Holdings", "& Co", "Trust", "plc")
TOWNS = words(
    "Bath Leeds York Bristol Cardiff Oxford Exeter Norwich Brighton Durham Chester Derby "
    "Lincoln Perth Dundee Preston Reading Swindon Truro Wells"
)
POSTCODE_AREAS = words("SW1A EC1A W1 N1 E14 SE1 M1 B1 LS1 BS1 CF10 OX1 EH1 G1 NE1 BA1")
DOMAINS = ("example.com", "example.org", "mail.test", "inbox.test")


@dataclass(frozen=True)
class Weighted(Generic[T]):
    """Values drawn with fixed weights by one `random()` and a bisection."""

    values: tuple[T, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, pairs: Sequence[tuple[T, float]]) -> Weighted[T]:
        total, cumulative = 0.0, []
        for _, weight in pairs:
            total += weight
            cumulative.append(total)
        return cls(tuple(v for v, _ in pairs), tuple(c / total for c in cumulative[:-1]))

    def pick(self, rng: random.Random) -> T:
        return self.values[bisect(self.cumulative, rng.random())]


STATUSES = Weighted.of(
    [("confirmed", 70), ("provisional", 15), ("waiting_list", 5), ("cancelled", 10)]
)
BOOKING_TYPES = Weighted.of([("participant", 90), ("exhibitor", 6), ("speaker", 4)])
LINE_COUNTS = Weighted.of([(1, 40), (2, 40), (3, 20)])  # 1.8 lines per booking
QUANTITIES = Weighted.of([(1, 50), (2, 30), (3, 12), (4, 8)])
TICKET_MIX = Weighted.of([(0, 50), (1, 15), (2, 15), (3, 12), (4, 8)])  # by seq - 1
GROUP_KINDS = Weighted.of([("company", 50), ("family", 25), ("school", 15), ("club", 10)])


class References:
    """Unique `EVT-XXXXXX` references: an affine bijection of the booking id modulo 36^6,
    anchored so that booking 1 is the reference's `EVT-ABC123`."""

    ALPHABET = string.digits + string.ascii_uppercase
    SPACE = 36**6

    def __init__(self, rng: random.Random) -> None:
        step = rng.randrange(self.SPACE // 3, self.SPACE) | 1
        while step % 3 == 0:  # coprime with 36^6 = 2^12 * 3^12
            step += 2
        self.step = step
        self.offset = (int("ABC123", 36) - step) % self.SPACE

    def __call__(self, booking_id: int) -> str:
        n = (self.step * booking_id + self.offset) % self.SPACE
        code = []
        for _ in range(6):
            n, digit = divmod(n, 36)
            code.append(self.ALPHABET[digit])
        return "EVT-" + "".join(reversed(code))


CUSTOMER_COLUMNS = ("id", "first_name", "last_name", "email", "post_code", *STAMPS)
GROUP_COLUMNS = ("id", "event_id", "customer_id", "name", "association", *STAMPS)
BOOKING_COLUMNS = (
    "id",
    "event_id",
    "group_id",
    "booking_type",
    "booking_reference",
    "status",
    *STAMPS,
)
LINE_COLUMNS = ("id", "booking_id", "ticket_id", "qty", "price", *STAMPS)


@dataclass
class Chunk:
    """The rows of a run of bookings, in the order foreign keys need them written."""

    customers: Table = field(default_factory=lambda: Table("customers", CUSTOMER_COLUMNS))
    groups: Table = field(default_factory=lambda: Table("groups", GROUP_COLUMNS))
    bookings: Table = field(default_factory=lambda: Table("bookings", BOOKING_COLUMNS))
    lines: Table = field(default_factory=lambda: Table("booking_tickets", LINE_COLUMNS))

    def tables(self) -> list[Table]:
        return [self.customers, self.groups, self.bookings, self.lines]


class BookingGenerator:
    """Bookings 1..total with ids rising with `created_at`, as chunks of rows."""

    def __init__(
        self, rng: random.Random, total: int, tickets: dict[int, list[TicketType]]
    ) -> None:
        self.rng = rng
        self.total = total
        self.tickets = tickets
        self.events = Weighted.of(list(zip(sorted(tickets), EVENT_SHARES, strict=True)))
        self.reference = References(rng)
        # ticket id -> the line price for quantities 1..4
        self.prices: dict[int, tuple[Decimal, ...]] = {
            t.id: tuple(cents(t.price_cents * qty) for qty in range(5))
            for ticket_types in tickets.values()
            for t in ticket_types
        }
        self.open_groups: dict[int, list[int]] = {}  # event id -> [group id, places left]
        self.customers = self.groups = self.lines = 0

    def chunks(self, size: int) -> Iterator[Chunk]:
        chunk = self.reference_world()
        span = (LAST_AT - FIRST_AT).total_seconds()
        gap = max(1.0, span / self.total)  # mean seconds between two bookings
        offset = 0.0
        for booking_id in range(2, self.total + 1):
            if len(chunk.bookings.rows) >= size:
                yield chunk
                chunk = Chunk()
            offset += 1.0 + self.rng.random() * 2 * (gap - 1.0)
            self.booking(chunk, booking_id, FIRST_AT + timedelta(seconds=int(offset)))
        yield chunk

    def reference_world(self) -> Chunk:
        """Customer 1 Jane Smith, her group 1 "ACME Corp" and booking 1 `EVT-ABC123`."""
        at = FIRST_AT
        chunk = Chunk()
        chunk.customers.rows.append((1, "Jane", "Smith", "jane@acme.com", "SW1A 1AA", at, at))
        chunk.groups.rows.append((1, 1, 1, "ACME Corp", "Corporate Partner", at, at))
        chunk.bookings.rows.append((1, 1, 1, "participant", "EVT-ABC123", "confirmed", at, at))
        chunk.lines.rows.append((1, 1, 1, 2, self.prices[1][2], at, at))
        self.customers = self.groups = self.lines = 1
        self.open_groups[1] = [1, 3]
        return chunk

    def booking(self, chunk: Chunk, booking_id: int, at: datetime) -> None:
        rng = self.rng
        event_id = self.events.pick(rng)
        group_id = self.group(chunk, event_id, at) if rng.random() < GROUPED else None
        status = STATUSES.pick(rng)
        updated = at
        if status in ("cancelled", "provisional"):  # changed later, before bookings close
            updated = min(at + timedelta(hours=rng.randrange(1, 480)), max(at, LAST_AT))
        chunk.bookings.rows.append(
            (
                booking_id,
                event_id,
                group_id,
                BOOKING_TYPES.pick(rng),
                self.reference(booking_id),
                status,
                at,
                updated,
            )
        )
        tickets = self.tickets[event_id]
        seqs = [TICKET_MIX.pick(rng)]
        for _ in range(LINE_COUNTS.pick(rng) - 1):
            seq = rng.randrange(len(tickets))
            while seq in seqs:
                seq = rng.randrange(len(tickets))
            seqs.append(seq)
        for seq in seqs:
            ticket_id, qty = tickets[seq].id, QUANTITIES.pick(rng)
            self.lines += 1
            chunk.lines.rows.append(
                (self.lines, booking_id, ticket_id, qty, self.prices[ticket_id][qty], at, at)
            )

    def group(self, chunk: Chunk, event_id: int, at: datetime) -> int:
        """The event's open group while it has places, else a new one of 1-5 bookings."""
        open_group = self.open_groups.get(event_id)
        if open_group is not None and open_group[1] > 0:
            open_group[1] -= 1
            return open_group[0]
        rng = self.rng
        self.groups += 1
        self.open_groups[event_id] = [self.groups, rng.randrange(5)]
        customer_id = self.customer(chunk, at)
        chunk.groups.rows.append((self.groups, event_id, customer_id, *self.group_name(), at, at))
        return self.groups

    def group_name(self) -> tuple[str, str | None]:
        rng = self.rng
        kind = GROUP_KINDS.pick(rng)
        if kind == "company":
            name = f"{rng.choice(COMPANIES)} {rng.choice(COMPANY_SUFFIXES)}"
            return name, "Corporate Partner"
        if kind == "family":
            return f"The {rng.choice(LAST_NAMES)} Family", None
        if kind == "school":
            return f"{rng.choice(TOWNS)} {rng.choice(('Academy', 'High School'))}", "School"
        return f"{rng.choice(TOWNS)} {rng.choice(('Athletic', 'Sports', 'Social'))} Club", "Club"

    def customer(self, chunk: Chunk, at: datetime) -> int | None:
        """A new customer, or one who has booked before, or (rarely) none."""
        rng = self.rng
        draw = rng.random()
        if draw < NO_CUSTOMER:
            return None
        if draw >= NO_CUSTOMER + NEW_CUSTOMER:
            return rng.randrange(1, self.customers + 1)
        self.customers += 1
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}.{self.customers}@{rng.choice(DOMAINS)}".lower()
        chunk.customers.rows.append((self.customers, first, last, email, self.post_code(), at, at))
        return self.customers

    def post_code(self) -> str:
        rng = self.rng
        letters = rng.choice(string.ascii_uppercase) + rng.choice(string.ascii_uppercase)
        return f"{rng.choice(POSTCODE_AREAS)} {rng.randrange(1, 10)}{letters}"


def counts(generator: BookingGenerator) -> dict[str, Any]:
    return {
        "customers": generator.customers,
        "groups": generator.groups,
        "bookings": generator.total,
        "booking_tickets": generator.lines,
    }
