"""`/events` and `/event/{id}`: which events are listed, filters, sorts, includes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.api.conftest import Caller, assert_error, ordered_ids
from tests.conftest import ALL_AREAS, bearer
from tests.factories import (
    BookingFactory,
    EventFactory,
    TicketFactory,
    UserFactory,
    grant,
    issue_token,
)

ADMIN = dict.fromkeys(ALL_AREAS, "admin")


@dataclass
class EventsWorld:
    caller: Caller
    alpha: int
    bravo: int
    gamma: int
    delta: int
    hidden: list[int]
    values: dict[str, dict[int, Any]]


@pytest.fixture
def world(client: FlaskClient) -> EventsWorld:
    """Four readable events (bravo's role reads only `event`), three the caller cannot list."""
    user = UserFactory()
    specs = {
        "alpha": ("alpha-fest", "Alpha Festival", date(2026, 3, 1), date(2026, 3, 3)),
        "bravo": ("bravo-expo", "Bravo 100% Expo", date(2026, 1, 10), date(2026, 1, 12)),
        "gamma": ("gamma-fest", "Gamma_Fest", date(2026, 2, 5), date(2026, 2, 6)),
        "delta": ("delta-meet", "Delta 1000 Expo", date(2026, 2, 5), date(2026, 2, 7)),
    }
    # Created out of order, so that id order is not the order of any sort.
    rows = {}
    for key in ("gamma", "alpha", "delta", "bravo"):
        slug, name, start, end = specs[key]
        rows[key] = EventFactory(slug=slug, name=name, start_date=start, end_date=end)
    for key in ("alpha", "gamma", "delta"):
        grant(user.id, rows[key].id, ADMIN)
    grant(user.id, rows["bravo"].id, {"event": "read"})
    no_assignment = EventFactory(name="Echo Expo")
    inactive = EventFactory(name="Foxtrot Expo")
    grant(user.id, inactive.id, ADMIN, active=False)
    no_event_area = EventFactory(name="Hotel Expo")
    grant(user.id, no_event_area.id, {"bookings": "read"})
    ids = {key: row.id for key, row in rows.items()}
    values: dict[str, dict[int, Any]] = {
        field: {ids[key]: spec[index] for key, spec in specs.items()}
        for index, field in enumerate(("slug", "name", "start_date", "end_date"))
    }
    values["id"] = {id_: id_ for id_ in ids.values()}
    caller = Caller(client, bearer(issue_token(user.id)), ids["alpha"], user.id)
    return EventsWorld(
        caller, **ids, hidden=[no_assignment.id, inactive.id, no_event_area.id], values=values
    )


def test_events_lists_only_events_whose_event_area_the_active_role_reads(
    world: EventsWorld,
) -> None:
    listed = world.caller.ids("/events")
    assert listed == sorted([world.alpha, world.bravo, world.gamma, world.delta])
    assert not set(listed) & set(world.hidden)


def test_events_serve_dates_as_plain_days(world: EventsWorld) -> None:
    [event] = world.caller.data("/events", {"filter[id]": world.bravo})
    assert event["start_date"] == "2026-01-10" and event["end_date"] == "2026-01-12"
    assert event["slug"] == "bravo-expo" and event["name"] == "Bravo 100% Expo"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"filter[slug]": "bravo-expo"}, ["bravo"]),
        ({"filter[slug]": "bravo"}, []),
        ({"filter[slug]": "gamma-fest,alpha-fest"}, ["alpha", "gamma"]),
        ({"filter[name]": "expo"}, ["bravo", "delta"]),
        ({"filter[name]": "ALPHA fest"}, ["alpha"]),
        ({"filter[name]": "100%"}, ["bravo"]),
        ({"filter[name]": "a_f"}, ["gamma"]),
        ({"filter[name]": "Echo"}, []),
        ({"filter[start_date]": "2026-02-05"}, ["gamma", "delta"]),
        ({"filter[start_date]": "2026-01-10,2026-03-01"}, ["alpha", "bravo"]),
        ({"filter[end_date]": "2026-02-07"}, ["delta"]),
        ({"filter[end_date]": "2026-02-06,2026-01-12"}, ["bravo", "gamma"]),
        ({"filter[name]": "expo", "filter[start_date]": "2026-02-05"}, ["delta"]),
    ],
)
def test_events_filters_narrow_the_list(
    world: EventsWorld, query: dict[str, str], expected: list[str]
) -> None:
    ids = {key: getattr(world, key) for key in ("alpha", "bravo", "gamma", "delta")}
    assert world.caller.ids("/events", query) == sorted(ids[key] for key in expected)


def test_events_filter_by_id_takes_one_id_or_a_comma_list(world: EventsWorld) -> None:
    assert world.caller.ids("/events", {"filter[id]": world.gamma}) == [world.gamma]
    pair = f"{world.delta},{world.alpha}"
    assert world.caller.ids("/events", {"filter[id]": pair}) == sorted([world.alpha, world.delta])


def test_events_filter_by_id_never_reaches_an_event_the_caller_cannot_list(
    world: EventsWorld,
) -> None:
    assert world.caller.ids("/events", {"filter[id]": world.hidden[0]}) == []


@pytest.mark.parametrize("field", ["id", "slug", "name", "start_date", "end_date"])
@pytest.mark.parametrize("descending", [False, True])
def test_events_sort_by_each_documented_field(
    world: EventsWorld, field: str, descending: bool
) -> None:
    sort = ("-" if descending else "") + field
    assert world.caller.ids("/events", {"sort": sort}) == ordered_ids(
        world.values[field], descending
    )


def test_events_sort_by_several_fields_in_turn(world: EventsWorld) -> None:
    ids = world.caller.ids("/events", {"sort": "start_date,-end_date"})
    assert ids == [world.bravo, world.delta, world.gamma, world.alpha]


def test_events_include_tickets_gives_each_event_its_own_tickets(world: EventsWorld) -> None:
    first = TicketFactory(event_id=world.alpha, title="Day pass")
    second = TicketFactory(event_id=world.alpha, title="Week pass")
    TicketFactory(event_id=world.hidden[0])
    data = world.caller.data("/events", {"include": "tickets"})
    by_id = {event["id"]: event for event in data}
    assert [t["id"] for t in by_id[world.alpha]["tickets"]] == [first.id, second.id]
    assert all(t["event_id"] == world.alpha for t in by_id[world.alpha]["tickets"])
    assert by_id[world.gamma]["tickets"] == []


def test_events_include_bookings_only_where_the_caller_reads_bookings(
    world: EventsWorld,
) -> None:
    own = BookingFactory(event_id=world.alpha)
    BookingFactory(event_id=world.bravo)  # bravo's role reads `event` only
    data = world.caller.data("/events", {"include": "bookings"})
    by_id = {event["id"]: event for event in data}
    assert [b["id"] for b in by_id[world.alpha]["bookings"]] == [own.id]
    assert by_id[world.bravo]["bookings"] == []
    assert by_id[world.delta]["bookings"] == []


def test_events_without_include_carry_no_relations(world: EventsWorld) -> None:
    for event in world.caller.data("/events"):
        assert "tickets" not in event and "bookings" not in event


def test_event_shows_one_event(world: EventsWorld) -> None:
    event = world.caller.data(f"/event/{world.delta}")
    assert event["id"] == world.delta
    assert event["name"] == "Delta 1000 Expo"
    assert event["start_date"] == "2026-02-05"


def test_event_accepts_the_list_includes(world: EventsWorld) -> None:
    ticket = TicketFactory(event_id=world.alpha)
    booking = BookingFactory(event_id=world.alpha)
    event = world.caller.data(f"/event/{world.alpha}", {"include": "tickets,bookings"})
    assert [t["id"] for t in event["tickets"]] == [ticket.id]
    assert [b["id"] for b in event["bookings"]] == [booking.id]


def test_event_that_does_not_exist_is_a_404(world: EventsWorld) -> None:
    assert_error(world.caller.get("/event/987654"), 404)


def test_events_partial_name_filter_ignores_case_beyond_ascii(world: EventsWorld) -> None:
    cafe = EventFactory(name="Café Müller Gala")
    grant(world.caller.user_id, cafe.id, {"event": "read"})
    assert world.caller.ids("/events", {"filter[name]": "CAFÉ MÜLLER"}) == [cafe.id]
