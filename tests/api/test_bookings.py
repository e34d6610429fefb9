"""`/event/{id}/bookings`: active bookings only, filters, sorts, includes, one booking."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from tests.api.conftest import Caller, assert_error, collated, ordered_ids
from tests.factories import (
    BookingFactory,
    BookingTicketFactory,
    CustomerFactory,
    EventFactory,
    GroupFactory,
    TicketFactory,
)

# key: (booking_type, status, reference, group key, created_at)
BOOKINGS = {
    "b1": ("participant", "confirmed", "BK-010", "g1", datetime(2026, 1, 5, 10, 0)),
    "b2": ("exhibitor", "provisional", "BK-003", "g2", datetime(2026, 1, 3, 9, 0)),
    "b3": ("participant", "waiting_list", "BK-007", None, datetime(2026, 1, 5, 10, 0)),
    "b4": ("participant", "cancelled", "BK-001", "g1", datetime(2026, 1, 1, 8, 0)),
    "b5": ("sponsor", "confirmed", "BK-005", "g1", datetime(2026, 1, 4, 12, 30)),
}
ACTIVE = ("b1", "b2", "b3", "b5")


@pytest.fixture
def world(api: Caller) -> dict[str, int]:
    """Five bookings (one cancelled) of the manager's event, two groups, ticket lines."""
    event_id = api.event_id
    jane = CustomerFactory(first_name="Jane", last_name="Smith", email="jane@acme.com")
    ids = {
        "jane": jane.id,
        "g1": GroupFactory(event_id=event_id, customer_id=jane.id, name="ACME").id,
        "g2": GroupFactory(event_id=event_id, customer_id=None, name="Walk-ins").id,
        "t1": TicketFactory(event_id=event_id, title="Adult Ticket").id,
        "t2": TicketFactory(event_id=event_id, title="Child Ticket").id,
    }
    for key in ("b3", "b1", "b5", "b2", "b4"):
        booking_type, status, reference, group, created_at = BOOKINGS[key]
        ids[key] = BookingFactory(
            event_id=event_id,
            booking_type=booking_type,
            status=status,
            booking_reference=reference,
            group_id=ids[group] if group else None,
            created_at=created_at,
        ).id
    for booking, ticket, qty, price in (
        ("b1", "t1", 2, "198.00"),
        ("b1", "t2", 1, "20.00"),
        ("b2", "t1", 1, "99.00"),
    ):
        line = BookingTicketFactory(
            booking_id=ids[booking], ticket_id=ids[ticket], qty=qty, price=Decimal(price)
        )
        ids[f"{booking}.{ticket}"] = line.id
    ids["elsewhere"] = BookingFactory(event_id=EventFactory().id, status="confirmed").id
    return ids


def path(api: Caller) -> str:
    return f"/event/{api.event_id}/bookings"


def test_bookings_list_only_active_bookings_of_the_event(
    api: Caller, world: dict[str, int]
) -> None:
    data = api.data(path(api))
    assert [b["id"] for b in data] == sorted(world[key] for key in ACTIVE)
    assert {b["status"] for b in data} == {"confirmed", "provisional", "waiting_list"}
    assert all(b["event_id"] == api.event_id for b in data)


def test_bookings_serve_their_fields_in_the_contract_format(
    api: Caller, world: dict[str, int]
) -> None:
    [booking] = api.data(path(api), {"filter[id]": world["b5"]})
    assert booking["booking_type"] == "sponsor"
    assert booking["booking_reference"] == "BK-005"
    assert booking["status"] == "confirmed"
    assert booking["created_at"] == "2026-01-04T12:30:00.000000Z"
    assert "tickets" not in booking and "group" not in booking


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"filter[reference]": "BK-003"}, ["b2"]),
        ({"filter[reference]": "BK-01"}, []),
        ({"filter[reference]": "BK-010,BK-005"}, ["b1", "b5"]),
        ({"filter[reference]": "BK-001"}, []),
        ({"filter[status]": "confirmed"}, ["b1", "b5"]),
        ({"filter[status]": "provisional,waiting_list"}, ["b2", "b3"]),
        ({"filter[status]": "cancelled"}, []),
        ({"filter[status]": "confirmed,cancelled"}, ["b1", "b5"]),
        ({"filter[booking_type]": "participant"}, ["b1", "b3"]),
        ({"filter[booking_type]": "exhibitor,sponsor"}, ["b2", "b5"]),
        ({"filter[status]": "confirmed", "filter[booking_type]": "participant"}, ["b1"]),
    ],
)
def test_bookings_filters_narrow_the_list(
    api: Caller, world: dict[str, int], query: dict[str, str], expected: list[str]
) -> None:
    assert api.ids(path(api), query) == sorted(world[key] for key in expected)


def test_an_exact_filter_compares_as_the_database_collates(
    api: Caller, world: dict[str, int]
) -> None:
    """`Participant` is not `participant` on PostgreSQL and SQLite; MySQL's `_ci`
    collation finds it, as a Laravel application on MySQL does."""
    expected = [k for k in ACTIVE if collated(BOOKINGS[k][0]) == collated("Participant")]
    assert api.ids(path(api), {"filter[booking_type]": "Participant"}) == sorted(
        world[key] for key in expected
    )


def test_bookings_filter_by_id_takes_one_id_or_a_comma_list(
    api: Caller, world: dict[str, int]
) -> None:
    assert api.ids(path(api), {"filter[id]": world["b3"]}) == [world["b3"]]
    pair = f"{world['b5']},{world['b2']}"
    assert api.ids(path(api), {"filter[id]": pair}) == sorted([world["b2"], world["b5"]])


def test_bookings_filter_by_id_does_not_reach_cancelled_or_other_events(
    api: Caller, world: dict[str, int]
) -> None:
    assert api.ids(path(api), {"filter[id]": f"{world['b4']},{world['elsewhere']}"}) == []


def test_bookings_filter_by_group(api: Caller, world: dict[str, int]) -> None:
    assert api.ids(path(api), {"filter[group_id]": world["g1"]}) == sorted(
        [world["b1"], world["b5"]]
    )
    both = f"{world['g1']},{world['g2']}"
    assert api.ids(path(api), {"filter[group_id]": both}) == sorted(
        [world["b1"], world["b2"], world["b5"]]
    )


@pytest.mark.parametrize(
    ("field", "index"), [("created_at", 4), ("status", 1), ("booking_reference", 2)]
)
@pytest.mark.parametrize("descending", [False, True])
def test_bookings_sort_by_each_documented_field(
    api: Caller, world: dict[str, int], field: str, index: int, descending: bool
) -> None:
    values = {world[key]: BOOKINGS[key][index] for key in ACTIVE}
    sort = ("-" if descending else "") + field
    assert api.ids(path(api), {"sort": sort}) == ordered_ids(values, descending)


@pytest.mark.parametrize("descending", [False, True])
def test_bookings_sort_by_id(api: Caller, world: dict[str, int], descending: bool) -> None:
    expected = sorted((world[key] for key in ACTIVE), reverse=descending)
    assert api.ids(path(api), {"sort": "-id" if descending else "id"}) == expected


def test_bookings_sort_by_several_fields_as_the_reference_shows(
    api: Caller, world: dict[str, int]
) -> None:
    # -created_at: b1 and b3 share the newest timestamp; status then puts confirmed first.
    ids = api.ids(path(api), {"sort": "-created_at,status"})
    assert ids == [world["b1"], world["b3"], world["b5"], world["b2"]]


def test_bookings_include_tickets_gives_lists_of_the_booking_lines(
    api: Caller, world: dict[str, int]
) -> None:
    data = {b["id"]: b for b in api.data(path(api), {"include": "tickets"})}
    lines = data[world["b1"]]["tickets"]
    assert [line["id"] for line in lines] == [world["b1.t1"], world["b1.t2"]]
    assert (lines[0]["ticket_id"], lines[0]["qty"], lines[0]["price"]) == (world["t1"], 2, "198.00")
    assert all(line["booking_id"] == world["b1"] for line in lines)
    assert data[world["b3"]]["tickets"] == []
    assert data[world["b5"]]["tickets"] == []
    assert "ticket" not in lines[0]


def test_bookings_include_tickets_ticket_loads_the_lines_and_their_ticket(
    api: Caller, world: dict[str, int]
) -> None:
    data = {b["id"]: b for b in api.data(path(api), {"include": "tickets.ticket"})}
    lines = data[world["b1"]]["tickets"]
    assert [line["ticket"]["id"] for line in lines] == [world["t1"], world["t2"]]
    assert lines[0]["ticket"]["title"] == "Adult Ticket"
    assert data[world["b2"]]["tickets"][0]["ticket"]["id"] == world["t1"]


def test_bookings_include_group_gives_an_object_or_null(api: Caller, world: dict[str, int]) -> None:
    data = {b["id"]: b for b in api.data(path(api), {"include": "group"})}
    assert data[world["b1"]]["group"]["id"] == world["g1"]
    assert data[world["b1"]]["group"]["name"] == "ACME"
    assert data[world["b2"]]["group"]["id"] == world["g2"]
    assert data[world["b3"]]["group"] is None
    assert "customer" not in data[world["b1"]]["group"]


def test_bookings_include_group_customer_loads_the_group_and_its_customer(
    api: Caller, world: dict[str, int]
) -> None:
    data = {b["id"]: b for b in api.data(path(api), {"include": "group.customer"})}
    customer = data[world["b1"]]["group"]["customer"]
    assert customer["id"] == world["jane"]
    assert customer["full_name"] == "Jane Smith"
    assert customer["email_address"] == "jane@acme.com"
    assert data[world["b2"]]["group"]["customer"] is None
    assert data[world["b3"]]["group"] is None


def test_bookings_include_every_documented_relation_at_once(
    api: Caller, world: dict[str, int]
) -> None:
    query = {"include": "tickets,tickets.ticket,group,group.customer"}
    [booking] = api.data(path(api), {**query, "filter[id]": world["b1"]})
    assert booking["tickets"][1]["ticket"]["id"] == world["t2"]
    assert booking["group"]["customer"]["id"] == world["jane"]


def test_bookings_include_group_never_reaches_a_group_of_another_event(
    api: Caller, world: dict[str, int]
) -> None:
    stray = GroupFactory(event_id=EventFactory().id)
    booking = BookingFactory(event_id=api.event_id, group_id=stray.id)
    [item] = api.data(path(api), {"filter[id]": booking.id, "include": "group"})
    assert item["group"] is None


def test_booking_shows_one_booking_whatever_its_status(api: Caller, world: dict[str, int]) -> None:
    booking = api.data(f"{path(api)}/{world['b4']}")
    assert booking["id"] == world["b4"]
    assert booking["status"] == "cancelled"
    assert booking["created_at"] == "2026-01-01T08:00:00.000000Z"


def test_booking_accepts_the_list_includes(api: Caller, world: dict[str, int]) -> None:
    booking = api.data(f"{path(api)}/{world['b1']}", {"include": "tickets.ticket,group.customer"})
    assert [line["ticket"]["id"] for line in booking["tickets"]] == [world["t1"], world["t2"]]
    assert booking["group"]["customer"]["full_name"] == "Jane Smith"


def test_booking_of_another_event_is_a_404(api: Caller, world: dict[str, int]) -> None:
    assert_error(api.get(f"{path(api)}/{world['elsewhere']}"), 404)


def test_booking_that_does_not_exist_is_a_404(api: Caller, world: dict[str, int]) -> None:
    assert_error(api.get(f"{path(api)}/{world['elsewhere'] + 100}"), 404)


def test_include_cancelled_adds_cancelled_bookings_for_incremental_pulls(api: Caller) -> None:
    BookingFactory(event_id=api.event_id, status="confirmed")
    cancelled = BookingFactory(event_id=api.event_id, status="cancelled")
    default = api.ok(f"/event/{api.event_id}/bookings")
    everything = api.ok(f"/event/{api.event_id}/bookings", {"include_cancelled": "1"})
    assert cancelled.id not in [b["id"] for b in default["data"]]
    assert cancelled.id in [b["id"] for b in everything["data"]]
    assert everything["meta"]["total"] == default["meta"]["total"] + 1
