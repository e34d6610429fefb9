"""`/event/{id}/bookings/{id}/tickets`: a booking's lines, filters, sorts, includes, one line."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.api.conftest import Caller, assert_error, ordered_ids
from tests.factories import BookingFactory, BookingTicketFactory, EventFactory, TicketFactory

# key: (ticket key, qty, price)
LINES = {
    "l1": ("child", 3, Decimal("30.00")),
    "l2": ("adult", 1, Decimal("99.00")),
    "l3": ("adult", 2, Decimal("198.00")),
    "l4": ("child", 1, Decimal("10.00")),
}


@pytest.fixture
def world(api: Caller) -> dict[str, int]:
    """A booking with four lines over two tickets; a sibling booking and another event's."""
    event_id = api.event_id
    ids = {
        "adult": TicketFactory(
            event_id=event_id, title="Adult Ticket", participant_type="adult"
        ).id,
        "child": TicketFactory(
            event_id=event_id, title="Child Ticket", participant_type="child"
        ).id,
        "booking": BookingFactory(event_id=event_id).id,
        "sibling": BookingFactory(event_id=event_id).id,
    }
    for key, (ticket, qty, price) in LINES.items():
        ids[key] = BookingTicketFactory(
            booking_id=ids["booking"], ticket_id=ids[ticket], qty=qty, price=price
        ).id
    ids["sibling_line"] = BookingTicketFactory(booking_id=ids["sibling"], ticket_id=ids["adult"]).id
    other_event = EventFactory().id
    ids["foreign"] = BookingFactory(event_id=other_event).id
    ids["foreign_line"] = BookingTicketFactory(
        booking_id=ids["foreign"], ticket_id=TicketFactory(event_id=other_event).id
    ).id
    return ids


def lines_path(api: Caller, booking_id: int) -> str:
    return f"/event/{api.event_id}/bookings/{booking_id}/tickets"


def test_booking_tickets_list_only_the_booking_lines_with_ticket_details(
    api: Caller, world: dict[str, int]
) -> None:
    data = api.data(lines_path(api, world["booking"]))
    assert [line["id"] for line in data] == [world[key] for key in ("l1", "l2", "l3", "l4")]
    first = data[0]
    assert first["booking_id"] == world["booking"]
    assert first["ticket_id"] == world["child"]
    assert first["ticket_title"] == "Child Ticket"
    assert first["participant_type"] == "child"
    assert first["qty"] == 3
    assert first["price"] == "30.00"
    assert "booking" not in first and "ticket" not in first


def test_booking_tickets_filter_by_id_and_by_ticket(api: Caller, world: dict[str, int]) -> None:
    path = lines_path(api, world["booking"])
    assert api.ids(path, {"filter[id]": world["l3"]}) == [world["l3"]]
    assert api.ids(path, {"filter[id]": f"{world['l4']},{world['l1']}"}) == [
        world["l1"],
        world["l4"],
    ]
    assert api.ids(path, {"filter[id]": world["sibling_line"]}) == []
    assert api.ids(path, {"filter[ticket_id]": world["adult"]}) == [world["l2"], world["l3"]]
    both = f"{world['adult']},{world['child']}"
    assert len(api.ids(path, {"filter[ticket_id]": both})) == 4


@pytest.mark.parametrize(("field", "index"), [("ticket_id", 0), ("qty", 1), ("price", 2)])
@pytest.mark.parametrize("descending", [False, True])
def test_booking_tickets_sort_by_each_documented_field(
    api: Caller, world: dict[str, int], field: str, index: int, descending: bool
) -> None:
    values = {
        world[key]: (world[spec[0]] if index == 0 else spec[index]) for key, spec in LINES.items()
    }
    sort = ("-" if descending else "") + field
    ids = api.ids(lines_path(api, world["booking"]), {"sort": sort})
    assert ids == ordered_ids(values, descending)


@pytest.mark.parametrize("descending", [False, True])
def test_booking_tickets_sort_by_id(api: Caller, world: dict[str, int], descending: bool) -> None:
    expected = sorted((world[key] for key in LINES), reverse=descending)
    ids = api.ids(lines_path(api, world["booking"]), {"sort": "-id" if descending else "id"})
    assert ids == expected


def test_booking_tickets_include_booking_and_ticket_give_objects(
    api: Caller, world: dict[str, int]
) -> None:
    data = api.data(lines_path(api, world["booking"]), {"include": "booking,ticket"})
    for line in data:
        assert line["booking"]["id"] == world["booking"]
        assert line["ticket"]["id"] == line["ticket_id"]
        assert "event" not in line["ticket"]
    assert data[0]["ticket"]["title"] == "Child Ticket"


def test_booking_tickets_include_ticket_event_loads_the_ticket_and_its_event(
    api: Caller, world: dict[str, int]
) -> None:
    data = api.data(lines_path(api, world["booking"]), {"include": "ticket.event"})
    for line in data:
        assert line["ticket"]["id"] == line["ticket_id"]
        assert line["ticket"]["event"]["id"] == api.event_id


def test_booking_tickets_of_a_cancelled_booking_are_listed(api: Caller) -> None:
    booking = BookingFactory(event_id=api.event_id, status="cancelled")
    line = BookingTicketFactory(
        booking_id=booking.id, ticket_id=TicketFactory(event_id=api.event_id).id
    )
    assert api.ids(lines_path(api, booking.id)) == [line.id]


def test_booking_tickets_of_another_event_booking_are_a_404(
    api: Caller, world: dict[str, int]
) -> None:
    assert_error(api.get(lines_path(api, world["foreign"])), 404)
    assert_error(api.get(f"{lines_path(api, world['foreign'])}/{world['foreign_line']}"), 404)


def test_booking_ticket_shows_one_line_with_the_list_includes(
    api: Caller, world: dict[str, int]
) -> None:
    line = api.data(
        f"{lines_path(api, world['booking'])}/{world['l3']}", {"include": "booking,ticket.event"}
    )
    assert line["id"] == world["l3"]
    assert (line["qty"], line["price"], line["ticket_title"]) == (2, "198.00", "Adult Ticket")
    assert line["booking"]["id"] == world["booking"]
    assert line["ticket"]["event"]["id"] == api.event_id


def test_booking_ticket_of_another_booking_is_a_404(api: Caller, world: dict[str, int]) -> None:
    assert_error(api.get(f"{lines_path(api, world['booking'])}/{world['sibling_line']}"), 404)
    assert_error(api.get(f"{lines_path(api, world['booking'])}/{world['foreign_line']}"), 404)
