"""What the access tests share: two events whose ids interleave, token kinds, and the
model of docs/authentication.md's order of checks that says what each caller must get.

Rows of both events are written turn by turn (a ticket of A, one of B, another of A…),
so an id of one event is always a plausible id under the other. Every text of a row only
event B holds carries `MARK_B`, so a body under event A can be searched for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from eventio import create_app
from eventio.api.declaration import declaration_of
from eventio.auth.guard import utcnow
from eventio.db.extensions import db
from eventio.models import STATUSES
from eventio.oauth.clients import create_client
from eventio.querybuilder import QuerySpec
from tests.auth.conftest import role_at, saved, token_for
from tests.conftest import ALL_AREAS as AREAS
from tests.conftest import bearer
from tests.factories import (
    BookingFactory,
    BookingTicketFactory,
    CustomerFactory,
    EventFactory,
    EventRoleFactory,
    EventUserFactory,
    GroupFactory,
    PermissionFactory,
    TicketFactory,
    UserFactory,
)

API = "/api/v2"
MARK_B = "zzB"
MISSING_ID = 10**12
UNAUTHENTICATED = b'{"message":"Unauthenticated."}'
PARAMETER = re.compile(r"<id:(\w+)>")
# The row a route parameter names, and the parameter naming the row it belongs to.
ROW_PARENT = {
    "ticket_id": "event_id",
    "booking_id": "event_id",
    "line_id": "booking_id",
    "group_id": "event_id",
    "customer_id": "event_id",  # a customer belongs to the events of its groups
    "role_id": "event_id",
    "event_user_id": "event_id",
}
EventKey = str  # "a" (the event mostly asked about) or "b" (the other one)
Expected = int | str  # a status, or the ability or area a 403 must name


# --- Routes, read from the app --------------------------------------------------------


@dataclass(frozen=True)
class EventRoute:
    """A `/api/v2/event/<id:event_id>/…` route, as the app declares it."""

    rule: str  # without the /api/v2 prefix
    parameters: tuple[str, ...]
    areas: tuple[str, ...]
    spec: QuerySpec | None  # None for a route outside the query language (stats)
    listing: str  # "paginated" or "single"

    @property
    def row_parameters(self) -> tuple[str, ...]:
        return self.parameters[1:]

    def path(self, ids: Mapping[str, int]) -> str:
        return PARAMETER.sub(lambda match: str(ids[match.group(1)]), self.rule)

    def __str__(self) -> str:
        return PARAMETER.sub(
            lambda match: "{" + match.group(1).removesuffix("_id") + "}", self.rule
        )


def event_routes(app: Flask) -> tuple[EventRoute, ...]:
    """Every route about one event; a new one is in every matrix built from this list."""
    routes = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(f"{API}/event/"):
            continue
        declaration = declaration_of(app.view_functions[rule.endpoint])
        routes.append(
            EventRoute(
                rule=rule.rule.removeprefix(API),
                parameters=tuple(PARAMETER.findall(rule.rule)),
                areas=declaration.areas,
                spec=declaration.query,
                listing=declaration.listing or "",
            )
        )
    return tuple(routes)


# Read once when the tests are collected, from an app that never touches a database.
ROUTES = event_routes(create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "REDIS_URL": None}))


def documented_areas() -> dict[str, tuple[str, ...]]:
    """docs/authentication.md's "Areas per endpoint" table, keyed by route rule."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "authentication.md"
    table: dict[str, tuple[str, ...]] = {}
    for line in docs.read_text().splitlines():
        match = re.match(r"\| `GET (/event/\{id\}[^`]*)` \| (.*) \|$", line)
        if match is None:
            continue
        documented, areas = match.groups()
        short, _, optional = documented.partition("[")
        for path in (short, short + optional.rstrip("]")):
            rule = re.sub(r"\{(\w+)\}", "<id>", path)
            table[rule] = tuple(re.findall(r"`(\w+)`", areas))
    return table


def rule_shape(rule: str) -> str:
    return PARAMETER.sub("<id>", rule)


# --- Token kinds and the expected answer ------------------------------------------------


# docs/authentication.md: `write` and `admin` include `read`; abilities are plain strings.
READING_LEVELS = ("read", "write", "admin")


def ability(area: str) -> str:
    return f"{area}.read"


ADMIN = dict.fromkeys(AREAS, "admin")
READ = dict.fromkeys(AREAS, "read")
WRITE = dict.fromkeys(AREAS, "write")
READ_ABILITIES = tuple(ability(area) for area in AREAS)
OTHER_ABILITIES = ("bookings.write", "event.admin", "groups.write")  # plain strings: no read


@dataclass(frozen=True)
class TokenKind:
    """A kind of caller: its token's abilities, and its user's roles at events A and B."""

    name: str
    abilities: tuple[str, ...]
    roles: Mapping[EventKey, Mapping[str, str]] = field(default_factory=dict)
    # "active", "inactive", or "foreign-role" (assigned at the event to a role of the other)
    assignment: str = "active"
    oauth: bool = False  # the token comes from POST /oauth/token

    def can(self, wanted: str) -> bool:
        return "*" in self.abilities or wanted in self.abilities

    def reads(self, event: EventKey, area: str) -> bool:
        if self.assignment != "active":
            return False
        return self.roles.get(event, {}).get(area) in READING_LEVELS


KINDS = [
    TokenKind("star-token-admin-at-a", ("*",), {"a": ADMIN}),
    TokenKind("read-abilities-read-role-at-a", READ_ABILITIES, {"a": READ}),
    TokenKind("read-abilities-write-role-at-a", READ_ABILITIES, {"a": WRITE}),
    TokenKind("star-token-admin-at-both", ("*",), {"a": ADMIN, "b": ADMIN}),
    TokenKind("admin-at-the-other-event-only", ("*",), {"b": ADMIN}),
    TokenKind("no-assignment-anywhere", ("*",), {}),
    TokenKind("inactive-assignment-at-a", ("*",), {"a": ADMIN}, assignment="inactive"),
    TokenKind("assigned-at-a-to-a-role-of-b", ("*",), {"a": ADMIN}, assignment="foreign-role"),
    TokenKind("bookings-ability-only", ("bookings.read",), {"a": ADMIN}),
    TokenKind("no-abilities", (), {"a": ADMIN}),
    TokenKind("write-and-admin-abilities", OTHER_ABILITIES, {"a": ADMIN}),
    TokenKind("groups-role-only", ("*",), {"a": {"groups": "read"}}),
    TokenKind(
        "event-and-bookings-at-a-users-at-b",
        ("*",),
        {"a": {"event": "read", "bookings": "read"}, "b": {"users": "admin"}},
    ),
    TokenKind(
        "oauth-client-read-role-at-a",
        ("event.read", "bookings.read", "groups.read"),
        {"a": READ},
        oauth=True,
    ),
    TokenKind("oauth-client-of-a-user-without-assignment", ("*",), {}, oauth=True),
]


def expected_answer(
    kind: TokenKind, areas: Sequence[str], event: EventKey | None, rows_belong: bool
) -> Expected:
    """docs/authentication.md's order of checks: abilities (403), the event (404), the
    role (403), the rows of the path (404)."""
    for area in areas:
        if not kind.can(ability(area)):
            return ability(area)
    if event is None:
        return 404
    for area in areas:
        if not kind.reads(event, area):
            return area
    return 200 if rows_belong else 404


def answer_of(response: TestResponse) -> Expected:
    """The answer in the model's terms, once its body is checked against the contract:
    a status, or for a 403 what its message names as missing."""
    if response.status_code == 200:
        response.get_data()  # a streamed export is read to its end, closing its cursor
        return 200
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:200]
    body = response.get_json()
    keys = {"message", "errors"} if response.status_code == 422 else {"message"}
    assert isinstance(body, dict) and set(body) == keys, body
    if response.status_code != 403:
        return response.status_code
    named = re.search(r"`([^`]+)` ability|permission on `([^`]+)`", body["message"])
    assert named, body
    return named.group(1) or named.group(2)


# --- The world ------------------------------------------------------------------------


def label(event: EventKey) -> str:
    return "A" if event == "a" else MARK_B


@dataclass(frozen=True)
class Line:
    """A booking ticket line, with what the stats need to count it."""

    id: int
    booking_event: int
    status: str
    ticket: int
    qty: int


@dataclass(frozen=True)
class Ticket:
    id: int
    event: int
    title: str
    participant_type: str


@dataclass
class World:
    """Events A and B full of interleaved rows, odd cross-event links, and callers."""

    client: FlaskClient
    events: dict[EventKey, int]
    own: dict[EventKey, dict[str, int]]  # the ids a path under each event uses
    other: dict[EventKey, dict[str, int]]  # a second row of each kind at each event
    owners: dict[str, dict[int, set[int]]]  # parameter -> row id -> ids it belongs to
    only_b: dict[str, set[int]]  # resource type -> ids of rows only event B reaches
    tickets: list[Ticket]
    bookings: dict[int, tuple[int, str]]  # id -> (event id, status)
    lines: list[Line]
    secrets: list[str] = field(default_factory=list)  # every plain token issued

    @property
    def missing_event(self) -> int:
        return max(self.events.values()) + 1000

    def event_key(self, event_id: int) -> EventKey | None:
        return next((key for key, id_ in self.events.items() if id_ == event_id), None)

    def rows_belong(self, route: EventRoute, ids: Mapping[str, int]) -> bool:
        """Every row of the path is one of the row it hangs under (a line of its booking,
        a booking of its event, a customer with a group at its event…)."""
        return all(
            ids[ROW_PARENT[name]] in self.owners[name].get(ids[name], set())
            for name in route.row_parameters
        )

    def caller(self, kind: TokenKind) -> Caller:
        """A new user made as the kind says, and a token of theirs."""
        user_id = saved(UserFactory).id
        for event, permissions in kind.roles.items():
            event_id = self.events[event]
            if kind.assignment == "foreign-role":
                role = saved(EventRoleFactory, event_id=self.events["b" if event == "a" else "a"])
                for area, level in permissions.items():
                    saved(PermissionFactory, event_role_id=role.id, area=area, permission=level)
                saved(EventUserFactory, user_id=user_id, event_id=event_id, event_role_id=role.id)
            else:
                role_at(user_id, event_id, permissions, active=kind.assignment == "active")
        if kind.oauth:
            db.session.commit()
            token = self.oauth_token(user_id, list(kind.abilities))
        else:
            token = token_for(user_id, list(kind.abilities))
            db.session.commit()
        self.secrets.append(token.split("|", 1)[1])
        return Caller(self.client, user_id, token)

    def oauth_token(self, user_id: int, abilities: list[str]) -> str:
        """A token fetched the way a partner system does, from POST /oauth/token."""
        new = create_client(db.session, user_id, "partner", abilities, utcnow())
        response = self.client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": new.client_id,
                "client_secret": new.secret,
            },
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        self.secrets.append(new.secret)
        return str(response.get_json()["access_token"])


def fresh_globals(app: Flask) -> AbstractContextManager[Any]:
    """An app context of its own for one test-client request. The test's app context
    (tests/conftest.py) would otherwise be reused by every request, sharing one `g`
    between them, where production gives each request a fresh one."""
    return app.app_context()


@dataclass(frozen=True)
class Caller:
    client: FlaskClient
    user_id: int
    token: str

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> TestResponse:
        with fresh_globals(self.client.application):
            response = self.client.get(
                API + path, headers={**bearer(self.token), **(headers or {})}
            )
            response.get_data()  # a streamed export runs inside the context, as it would
        return response


def build_world(client: FlaskClient) -> World:
    """Two events written turn by turn, with every kind of row, and odd links between them."""
    keys = ("a", "b")
    events = {
        key: saved(EventFactory, name=f"Event {label(key)}", slug=f"event-{label(key).lower()}").id
        for key in keys
    }
    owners: dict[str, dict[int, set[int]]] = {name: {} for name in ROW_PARENT}
    only_b: dict[str, set[int]] = {}
    rows: dict[str, dict[EventKey, list[int]]] = {}

    def keep(kind: str, key: EventKey, row_id: int, owner: int, resource: str) -> None:
        rows.setdefault(kind, {"a": [], "b": []})[key].append(row_id)
        owners[kind].setdefault(row_id, set()).add(owner)
        if key == "b":
            only_b.setdefault(resource, set()).add(row_id)

    tickets: list[Ticket] = []
    for turn, (kind, price) in enumerate((("adult", "99.00"), ("child", "49.00"))):
        for key in keys:
            title = f"{label(key)} {kind.title()} Pass"
            row = saved(
                TicketFactory,
                event_id=events[key],
                title=title,
                participant_type=kind,
                price=Decimal(price),
                seq=turn,
            )
            tickets.append(Ticket(row.id, events[key], title, kind))
            keep("ticket_id", key, row.id, events[key], "tickets")
    ticket_ids = {key: [t.id for t in tickets if t.event == events[key]] for key in keys}

    only_here = {}
    for key in keys:
        only_here[key] = saved(
            CustomerFactory,
            first_name=label(key),
            last_name="Customer",
            email=f"only-{label(key).lower()}@example.com",
        ).id
        if key == "b":
            only_b.setdefault("customers", set()).add(only_here[key])
    shared = saved(CustomerFactory, first_name="Shared", last_name="Customer").id

    groups: dict[EventKey, list[int]] = {"a": [], "b": []}
    for turn, customer in enumerate((only_here, dict.fromkeys(keys, shared))):
        for key in keys:
            group = saved(
                GroupFactory,
                event_id=events[key],
                customer_id=customer[key],
                name=f"{label(key)} Group {turn}",
                association=f"{label(key)} Association",
            )
            groups[key].append(group.id)
            keep("group_id", key, group.id, events[key], "groups")
            owners["customer_id"].setdefault(customer[key], set()).add(events[key])

    lines: list[Line] = []
    bookings: dict[int, tuple[int, str]] = {}

    def booking(key: EventKey, status: str, group: int, reference: str) -> int:
        row_id = saved(
            BookingFactory,
            event_id=events[key],
            group_id=group,
            status=status,
            booking_reference=reference,
        ).id
        keep("booking_id", key, row_id, events[key], "bookings")
        bookings[row_id] = (events[key], status)
        return row_id

    def line(key: EventKey, booking_id: int, status: str, ticket: int, qty: int) -> None:
        row_id = saved(BookingTicketFactory, booking_id=booking_id, ticket_id=ticket, qty=qty).id
        keep("line_id", key, row_id, booking_id, "booking_tickets")
        lines.append(Line(row_id, events[key], status, ticket, qty))

    for number, status in enumerate(STATUSES):
        made = {
            key: booking(key, status, groups[key][number % 2], f"{label(key)}-{status}")
            for key in keys
        }
        for position in range(2):
            for key in keys:
                qty = 1 + number + 4 * position + (10 if key == "b" else 0)
                line(key, made[key], status, ticket_ids[key][position], qty)

    # Rows linked oddly across the two events, which no answer may follow.
    odd_booking = booking("a", "confirmed", groups["b"][0], "A-with-a-group-of-B")
    line("a", odd_booking, "confirmed", ticket_ids["b"][0], 7)
    b_booking = booking("b", "confirmed", groups["a"][0], f"{MARK_B}-with-a-group-of-A")
    line("b", b_booking, "confirmed", ticket_ids["a"][0], 11)

    roles: dict[EventKey, list[int]] = {"a": [], "b": []}
    for turn in range(2):
        for key in keys:
            role = saved(EventRoleFactory, event_id=events[key], title=f"{label(key)} Role {turn}")
            permission = saved(
                PermissionFactory, event_role_id=role.id, area=AREAS[turn], permission="read"
            )
            if key == "b":
                only_b.setdefault("event_role_permissions", set()).add(permission.id)
            roles[key].append(role.id)
            keep("role_id", key, role.id, events[key], "event_roles")
    holders: dict[EventKey, list[int]] = {"a": [], "b": []}

    def holder(key: EventKey, role: int, name: str) -> None:
        user = saved(UserFactory, name=name, email=f"{name.lower().replace(' ', '-')}@example.com")
        if key == "b":
            only_b.setdefault("users", set()).add(user.id)
        row = saved(EventUserFactory, user_id=user.id, event_id=events[key], event_role_id=role)
        holders[key].append(row.id)
        keep("event_user_id", key, row.id, events[key], "event_users")

    for turn in range(2):
        for key in keys:
            holder(key, roles[key][turn], f"{label(key)} Holder {turn}")
    holder("a", roles["b"][0], "A Holder of a role of B")
    holder("b", roles["a"][0], f"{MARK_B} Holder of a role of A")
    only_b["events"] = {events["b"]}
    db.session.commit()

    own, other = {}, {}
    for key in keys:
        first_booking = rows["booking_id"][key][0]
        booking_lines = [ln.id for ln in lines if ln.id in rows["line_id"][key]]
        own[key] = {
            "event_id": events[key],
            "ticket_id": ticket_ids[key][0],
            "booking_id": first_booking,
            "line_id": booking_lines[0],
            "group_id": groups[key][0],
            "customer_id": only_here[key],
            "role_id": roles[key][0],
            "event_user_id": holders[key][0],
        }
        other[key] = {
            "event_id": events[key],
            "ticket_id": ticket_ids[key][1],
            "booking_id": rows["booking_id"][key][1],
            # A line of another booking of the same event.
            "line_id": booking_lines[2],
            "group_id": groups[key][1],
            "customer_id": shared,
            "role_id": roles[key][1],
            "event_user_id": holders[key][1],
        }
    return World(client, events, own, other, owners, only_b, tickets, bookings, lines)


@pytest.fixture
def world(client: FlaskClient) -> World:
    return build_world(client)


@pytest.fixture(autouse=True)
def fresh_rate_limits(app: Flask) -> Iterator[None]:
    """Many requests, and many 401s, from one address: each test starts with a full budget."""
    limiter = app.extensions.get("eventio.ratelimit")
    if limiter is not None:
        limiter.reset()
    yield


def report(problems: Iterable[str]) -> None:
    """Fail with every problem found, not just the first."""
    found = list(problems)
    assert not found, f"{len(found)} problem(s):\n" + "\n".join(found[:60])


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every object in a JSON document."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)
