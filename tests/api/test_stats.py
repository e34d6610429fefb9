"""`/event/{id}/stats`: the totals rule, row order, filters, and the per-filter-set cache."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.api.conftest import Caller, assert_error
from tests.factories import (
    BookingFactory,
    BookingTicketFactory,
    EventFactory,
    TicketFactory,
    grant,
)

GENERATED_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00")


@pytest.fixture
def world(api: Caller) -> dict[str, int]:
    """Four ticket types (one unsold) and bookings of every status."""
    event_id = api.event_id
    ids = {
        "adult": TicketFactory(
            event_id=event_id, title="Adult Ticket", participant_type="adult", seq=2
        ).id,
        "child": TicketFactory(
            event_id=event_id, title="Child Ticket", participant_type="child", seq=1
        ).id,
        "vip": TicketFactory(
            event_id=event_id, title="Adult_VIP", participant_type="adult", seq=2
        ).id,
        "unsold": TicketFactory(
            event_id=event_id, title="Unsold Pass", participant_type="child", seq=3
        ).id,
    }
    for status, lines in (
        ("confirmed", [("adult", 3), ("child", 1)]),
        ("confirmed", [("adult", 2)]),
        ("provisional", [("adult", 4), ("vip", 1)]),
        ("waiting_list", [("adult", 10), ("vip", 10)]),
        ("cancelled", [("child", 20), ("unsold", 20)]),
    ):
        booking = BookingFactory(event_id=event_id, status=status)
        for ticket, qty in lines:
            BookingTicketFactory(booking_id=booking.id, ticket_id=ids[ticket], qty=qty)
    other_event = EventFactory().id
    ids["foreign"] = TicketFactory(event_id=other_event, title="Adult Ticket").id
    foreign = BookingFactory(event_id=other_event, status="confirmed")
    BookingTicketFactory(booking_id=foreign.id, ticket_id=ids["foreign"], qty=100)
    return ids


def stats(api: Caller, query: Any = None) -> dict[str, Any]:
    return api.ok(f"/event/{api.event_id}/stats", query)


def rows(body: dict[str, Any]) -> list[tuple[int, int, int]]:
    return [
        (row["id"], row["total_confirmed_tickets_sold"], row["total_provisional_tickets_sold"])
        for row in body["stats"]
    ]


def totals(body: dict[str, Any]) -> tuple[int, int]:
    return body["total_confirmed"], body["total_provisional"]


def test_stats_have_one_row_per_ticket_ordered_by_seq_then_id(
    api: Caller, world: dict[str, int]
) -> None:
    body = stats(api)
    assert rows(body) == [
        (world["child"], 1, 0),
        (world["adult"], 5, 4),
        (world["vip"], 0, 1),
        (world["unsold"], 0, 0),
    ]
    assert body["event_id"] == api.event_id
    assert GENERATED_AT.fullmatch(body["generated_at"])
    first = body["stats"][0]
    assert (first["title"], first["participant_type"]) == ("Child Ticket", "child")


def test_stats_total_provisional_counts_confirmed_plus_provisional(
    api: Caller, world: dict[str, int]
) -> None:
    # Confirmed 6; provisional 5; waiting-list and cancelled lines count in neither.
    assert totals(stats(api)) == (6, 11)


def test_stats_of_an_event_without_tickets_are_empty_with_zero_totals(api: Caller) -> None:
    body = stats(api)
    assert body["stats"] == []
    assert totals(body) == (0, 0)


@pytest.mark.parametrize(
    ("query", "expected_rows", "expected_totals"),
    [
        ("ticket=adult", ["adult", "vip"], (5, 10)),
        ("ticket=ADULT%20T", ["adult"], (5, 9)),
        ("ticket=_", ["vip"], (0, 1)),
        ("ticket=%25", [], (0, 0)),
        ("participant_type=child", ["child", "unsold"], (1, 1)),
        ("participant_type=chil", [], (0, 0)),
        ("ticket=adult&participant_type=child", [], (0, 0)),
        ("ticket=pass&participant_type=child", ["unsold"], (0, 0)),
    ],
)
def test_stats_filters_narrow_rows_and_totals(
    api: Caller,
    world: dict[str, int],
    query: str,
    expected_rows: list[str],
    expected_totals: tuple[int, int],
) -> None:
    body = stats(api, query)
    assert [row["id"] for row in body["stats"]] == [world[key] for key in expected_rows]
    assert totals(body) == expected_totals


def test_stats_ignore_empty_ticket_and_participant_type(api: Caller, world: dict[str, int]) -> None:
    body = stats(api, "ticket=&participant_type=")
    assert len(body["stats"]) == 4 and totals(body) == (6, 11)


def test_stats_filter_by_ticket_id(api: Caller, world: dict[str, int]) -> None:
    body = stats(api, {"ticketId": world["adult"]})
    assert rows(body) == [(world["adult"], 5, 4)]
    assert totals(body) == (5, 9)


def test_stats_filter_by_another_event_ticket_id_is_empty(
    api: Caller, world: dict[str, int]
) -> None:
    body = stats(api, {"ticketId": world["foreign"]})
    assert body["stats"] == [] and totals(body) == (0, 0)


@pytest.mark.parametrize("value", ["abc", "0", "-3", "1.5", "", "99999999999999999999"])
def test_stats_refuse_a_ticket_id_that_is_not_a_positive_bigint(
    api: Caller, world: dict[str, int], value: str
) -> None:
    body = assert_error(api.get(f"/event/{api.event_id}/stats", {"ticketId": value}), 422)
    assert "ticketId" in body["errors"]


def sell(api: Caller, ticket_id: int, qty: int) -> None:
    booking = BookingFactory(event_id=api.event_id, status="confirmed")
    BookingTicketFactory(booking_id=booking.id, ticket_id=ticket_id, qty=qty)


def test_stats_are_cached_until_no_cache_recomputes_and_refreshes_them(
    api: Caller, world: dict[str, int]
) -> None:
    first = stats(api)
    assert stats(api) == first
    sell(api, world["child"], 7)
    assert stats(api) == first, "a cached report is served until it expires"
    time.sleep(1.05)  # `generated_at` is to the second: make the recomputation's visible
    fresh = stats(api, "no-cache")
    assert rows(fresh)[0] == (world["child"], 8, 0)
    assert totals(fresh) == (13, 18)
    assert fresh["generated_at"] > first["generated_at"]
    assert stats(api) == fresh, "no-cache refreshes the cache for later calls"


def test_stats_cache_each_filter_set_separately(api: Caller, world: dict[str, int]) -> None:
    children = stats(api, "participant_type=child")
    adults = stats(api, "ticket=adult")
    sell(api, world["child"], 7)
    sell(api, world["adult"], 1)
    assert stats(api, "participant_type=child") == children
    assert stats(api, "ticket=adult") == adults
    unfiltered = stats(api)
    assert totals(unfiltered) == (14, 19), "the unfiltered report was never cached"
    by_id = stats(api, {"ticketId": world["child"]})
    assert rows(by_id) == [(world["child"], 8, 0)]
    assert totals(stats(api, "participant_type=child&no-cache")) == (8, 8)
    assert totals(stats(api, "ticket=adult")) == (5, 10), "other filter sets keep their cache"


def test_stats_cache_is_per_event(api: Caller, world: dict[str, int]) -> None:
    stats(api)
    other = EventFactory()
    ticket = TicketFactory(event_id=other.id)
    grant(api.user_id, other.id, {"event": "read"})
    body = api.ok(f"/event/{other.id}/stats")
    assert body["event_id"] == other.id
    assert [row["id"] for row in body["stats"]] == [ticket.id]


def test_stats_of_an_event_that_does_not_exist_are_a_404(api: Caller) -> None:
    assert_error(api.get("/event/987654/stats"), 404)


def test_stats_cache_a_repeated_participant_type_in_either_order_apart(
    api: Caller, world: dict[str, int]
) -> None:
    """The view reads the first of a repeated parameter (webargs), and so does the key the
    cache is read with before the view runs (eventio.cache.responses): each order its own report."""
    child_first = "participant_type=child&participant_type=adult"
    adult_first = "participant_type=adult&participant_type=child"
    assert totals(stats(api, child_first)) == (1, 1)
    assert totals(stats(api, adult_first)) == (5, 10)
    # Warm now: both answered from the cache, still each its own.
    assert totals(stats(api, child_first)) == (1, 1)
    assert totals(stats(api, adult_first)) == (5, 10)
    assert stats(api, adult_first) == stats(api, "participant_type=adult")
