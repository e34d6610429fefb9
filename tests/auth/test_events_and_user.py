"""`/events` (which events, the `event.read` ability, the bookings exception) and `/user`."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from eventio.db.extensions import db
from tests.auth.conftest import (
    ADMIN_EVERYWHERE,
    Caller,
    Expected,
    MakeCaller,
    check,
    ok,
    role_at,
    saved,
    token_for,
)
from tests.factories import (
    BookingFactory,
    EventFactory,
    EventRoleFactory,
    EventUserFactory,
    PermissionFactory,
    UserFactory,
)

EVENT_NAMES = (
    "reads_bookings",
    "event_only",
    "mixed",
    "inactive",
    "other_areas",
    "unknown_level",
    "cross",
    "unassigned",
)


@dataclass(frozen=True)
class EventsWorld:
    """One user's assignments: the first three events may be listed, the others not; each
    event has a confirmed and a cancelled booking. `roles` is the active role per event."""

    user_id: int
    events: dict[str, int]
    bookings: dict[int, list[int]]
    roles: dict[str, int | None]

    @property
    def listed(self) -> list[int]:
        return sorted(self.events[name] for name in EVENT_NAMES[:3])

    @property
    def hidden(self) -> list[int]:
        return [self.events[name] for name in EVENT_NAMES[3:]]


@pytest.fixture
def events_world() -> EventsWorld:
    user_id = saved(UserFactory).id
    events = {name: saved(EventFactory).id for name in EVENT_NAMES}
    bookings = {
        event_id: [
            saved(BookingFactory, event_id=event_id, status=status).id
            for status in ("confirmed", "cancelled")
        ]
        for event_id in events.values()
    }

    def assign(name: str, permissions: dict[str, str], active: bool = True) -> int:
        return role_at(user_id, events[name], permissions, active=active).event_role_id

    roles: dict[str, int | None] = dict.fromkeys(EVENT_NAMES)
    roles["reads_bookings"] = assign("reads_bookings", {"event": "read", "bookings": "read"})
    roles["event_only"] = assign("event_only", {"event": "write"})
    # Active: event admin only; inactive: bookings, which must add nothing.
    roles["mixed"] = assign("mixed", {"event": "admin"})
    assign("mixed", {"bookings": "admin"}, active=False)
    assign("inactive", ADMIN_EVERYWHERE, active=False)
    roles["other_areas"] = assign(
        "other_areas", {a: "admin" for a in ADMIN_EVERYWHERE if a != "event"}
    )
    roles["unknown_level"] = assign("unknown_level", {"event": "owner"})
    # An assignment at `cross` to a role of `reads_bookings`: grants nothing at either.
    foreign = saved(EventRoleFactory, event_id=events["reads_bookings"])
    saved(PermissionFactory, event_role_id=foreign.id, area="event", permission="admin")
    saved(EventUserFactory, user_id=user_id, event_id=events["cross"], event_role_id=foreign.id)
    db.session.commit()
    return EventsWorld(user_id, events, bookings, roles)


def caller_of(client: FlaskClient, world: EventsWorld, abilities: list[str]) -> Caller:
    """A token of the world's user with `abilities`."""
    token = token_for(world.user_id, abilities)
    db.session.commit()
    return Caller(client, world.user_id, token)


def ids(body: dict[str, list[dict[str, int]]]) -> list[int]:
    return [item["id"] for item in body["data"]]


def test_events_lists_only_events_whose_active_role_reads_event(
    client: FlaskClient, events_world: EventsWorld
) -> None:
    caller = caller_of(client, events_world, ["*"])
    assert ids(ok(caller.get("/events"))) == events_world.listed
    # Not even when asked for by id.
    for hidden in events_world.hidden:
        assert ids(ok(caller.get(f"/events?filter[id]={hidden}"))) == []


@pytest.mark.parametrize(
    ("abilities", "expected"),
    [
        (["*"], 200),
        (["event.read"], 200),
        (["bookings.read", "event.read"], 200),
        ([], "event.read"),
        (["bookings.read"], "event.read"),
        (["event.write", "event.admin"], "event.read"),
    ],
)
def test_events_needs_the_event_read_ability(
    client: FlaskClient, events_world: EventsWorld, abilities: list[str], expected: Expected
) -> None:
    caller = caller_of(client, events_world, abilities)
    check(caller, {"/events": expected, "/events?include=bookings": expected})


@pytest.mark.parametrize(
    ("abilities", "readable"),
    [(["*"], True), (["event.read", "bookings.read"], True), (["event.read"], False)],
)
def test_events_include_bookings_only_where_the_caller_may_read_them(
    client: FlaskClient, events_world: EventsWorld, abilities: list[str], readable: bool
) -> None:
    caller = caller_of(client, events_world, abilities)
    expected: dict[int, list[int]] = {event_id: [] for event_id in events_world.listed}
    counts = dict.fromkeys(events_world.listed, 0)
    if readable:
        expected[events_world.events["reads_bookings"]] = events_world.bookings[
            events_world.events["reads_bookings"]
        ]
        counts[events_world.events["reads_bookings"]] = 2
    body = ok(caller.get("/events?include=bookings,bookingsCount"))
    assert {e["id"]: [b["id"] for b in e["bookings"]] for e in body["data"]} == expected
    assert {e["id"]: e["bookings_count"] for e in body["data"]} == counts
    export = caller.get("/events?include=bookings&format=ndjson")
    assert export.status_code == 200, export.get_data(as_text=True)
    rows = [json.loads(line) for line in export.get_data(as_text=True).splitlines() if line]
    assert {e["id"]: [b["id"] for b in e["bookings"]] for e in rows} == expected


@pytest.mark.parametrize("abilities", [[], ["bookings.read"], ["*"]])
def test_user_needs_no_ability(make_caller: MakeCaller, abilities: list[str]) -> None:
    caller = make_caller(abilities)
    assert ok(caller.get("/user"))["data"]["id"] == caller.user_id


@pytest.mark.parametrize("abilities", [[], ["*"]])
def test_user_event_role_is_the_active_role_at_that_event_or_null(
    client: FlaskClient, events_world: EventsWorld, abilities: list[str]
) -> None:
    caller = caller_of(client, events_world, abilities)
    shown = {}
    for name, event_id in {**events_world.events, "missing": 10**12}.items():
        role = ok(caller.get(f"/user?eventId={event_id}"))["event_role"]
        assert role is None or set(role) >= {"id", "title"}, role
        shown[name] = None if role is None else role["id"]
    assert shown == {**events_world.roles, "missing": None}
