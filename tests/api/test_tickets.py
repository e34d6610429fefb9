"""`/event/{id}/tickets`: filters, sorts, the `event` include, one ticket, other events' tickets."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.api.conftest import Caller, assert_error, ordered_ids
from tests.factories import EventFactory, TicketFactory

TICKETS = {
    "adult": ("Adult Ticket", "adult", Decimal("99.00"), 3),
    "child": ("Child_Ticket", "child", Decimal("5.50"), 1),
    "family": ("Family 100% Pack", "family", Decimal("100.00"), 2),
    "vip": ("Adult VIP", "adult", Decimal("20.00"), 2),
}


@pytest.fixture
def tickets(api: Caller) -> dict[str, int]:
    ids = {}
    for key in ("family", "vip", "adult", "child"):
        title, participant_type, price, seq = TICKETS[key]
        ticket = TicketFactory(
            event_id=api.event_id,
            title=title,
            participant_type=participant_type,
            price=price,
            seq=seq,
        )
        ids[key] = ticket.id
    TicketFactory(event_id=EventFactory().id, title="Adult Other", participant_type="adult")
    return ids


def test_tickets_list_only_the_event_tickets_with_their_fields(
    api: Caller, tickets: dict[str, int]
) -> None:
    data = api.data(f"/event/{api.event_id}/tickets")
    assert [t["id"] for t in data] == sorted(tickets.values())
    vip = next(t for t in data if t["id"] == tickets["vip"])
    assert vip["event_id"] == api.event_id
    assert vip["title"] == "Adult VIP"
    assert vip["participant_type"] == "adult"
    assert vip["price"] == "20.00"
    assert "event" not in vip


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"filter[title]": "adult"}, ["adult", "vip"]),
        ({"filter[title]": "TICKET"}, ["adult", "child"]),
        ({"filter[title]": "_t"}, ["child"]),
        ({"filter[title]": "100%"}, ["family"]),
        ({"filter[title]": "Other"}, []),
        ({"filter[participant_type]": "adult"}, ["adult", "vip"]),
        ({"filter[participant_type]": "adul"}, []),
        ({"filter[participant_type]": "child,family"}, ["child", "family"]),
        ({"filter[title]": "adult", "filter[participant_type]": "adult,child"}, ["adult", "vip"]),
    ],
)
def test_tickets_filters_narrow_the_list(
    api: Caller, tickets: dict[str, int], query: dict[str, str], expected: list[str]
) -> None:
    ids = api.ids(f"/event/{api.event_id}/tickets", query)
    assert ids == sorted(tickets[key] for key in expected)


def test_tickets_filter_by_id_takes_one_id_or_a_comma_list(
    api: Caller, tickets: dict[str, int]
) -> None:
    path = f"/event/{api.event_id}/tickets"
    assert api.ids(path, {"filter[id]": tickets["vip"]}) == [tickets["vip"]]
    pair = f"{tickets['family']},{tickets['child']}"
    assert api.ids(path, {"filter[id]": pair}) == sorted([tickets["family"], tickets["child"]])


@pytest.mark.parametrize(("field", "index"), [("title", 0), ("price", 2), ("seq", 3)])
@pytest.mark.parametrize("descending", [False, True])
def test_tickets_sort_by_each_documented_field(
    api: Caller, tickets: dict[str, int], field: str, index: int, descending: bool
) -> None:
    values = {tickets[key]: spec[index] for key, spec in TICKETS.items()}
    sort = ("-" if descending else "") + field
    ids = api.ids(f"/event/{api.event_id}/tickets", {"sort": sort})
    assert ids == ordered_ids(values, descending)


@pytest.mark.parametrize("descending", [False, True])
def test_tickets_sort_by_id(api: Caller, tickets: dict[str, int], descending: bool) -> None:
    ids = api.ids(f"/event/{api.event_id}/tickets", {"sort": "-id" if descending else "id"})
    assert ids == sorted(tickets.values(), reverse=descending)


def test_tickets_sort_by_price_is_numeric_not_textual(api: Caller, tickets: dict[str, int]) -> None:
    data = api.data(f"/event/{api.event_id}/tickets", {"sort": "price"})
    assert [t["price"] for t in data] == ["5.50", "20.00", "99.00", "100.00"]


def test_tickets_include_event_gives_each_ticket_its_event(
    api: Caller, tickets: dict[str, int]
) -> None:
    data = api.data(f"/event/{api.event_id}/tickets", {"include": "event"})
    for ticket in data:
        assert isinstance(ticket["event"], dict)
        assert ticket["event"]["id"] == api.event_id


def test_ticket_shows_one_ticket_with_its_event(api: Caller, tickets: dict[str, int]) -> None:
    ticket = api.data(f"/event/{api.event_id}/tickets/{tickets['child']}", {"include": "event"})
    assert ticket["id"] == tickets["child"]
    assert ticket["title"] == "Child_Ticket"
    assert ticket["price"] == "5.50"
    assert ticket["event"]["id"] == api.event_id


def test_ticket_of_another_event_is_a_404(api: Caller) -> None:
    other = TicketFactory(event_id=EventFactory().id)
    assert_error(api.get(f"/event/{api.event_id}/tickets/{other.id}"), 404)


def test_ticket_that_does_not_exist_is_a_404(api: Caller, tickets: dict[str, Any]) -> None:
    assert_error(api.get(f"/event/{api.event_id}/tickets/{max(tickets.values()) + 100}"), 404)
