"""Includes are eager-loaded: a request's SQL statements do not grow with the page size."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Caller
from tests.conftest import StatementCounter
from tests.factories import (
    BookingFactory,
    BookingTicketFactory,
    CustomerFactory,
    GroupFactory,
    TicketFactory,
)

INCLUDE = "tickets.ticket,group.customer"


@pytest.fixture
def sixty_bookings(api: Caller) -> None:
    """60 bookings, each with its own group and customer and two ticket lines."""
    tickets = [TicketFactory(event_id=api.event_id).id for _ in range(3)]
    for n in range(60):
        customer = CustomerFactory().id
        group = GroupFactory(event_id=api.event_id, customer_id=customer).id
        booking = BookingFactory(event_id=api.event_id, group_id=group).id
        for ticket in (tickets[n % 3], tickets[(n + 1) % 3]):
            BookingTicketFactory(booking_id=booking, ticket_id=ticket)


def count_for(
    api: Caller, counter: StatementCounter, query: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    before = counter.count
    body = api.ok(f"/event/{api.event_id}/bookings", query)
    return counter.count - before, body


def test_bookings_with_nested_includes_issue_the_same_few_statements_at_any_page_size(
    api: Caller, sixty_bookings: None, count_statements: StatementCounter
) -> None:
    # A first request writes the token's `last_used_at` (at most once a minute), so it
    # is made before counting.
    api.ok("/user")
    small, small_body = count_for(api, count_statements, {"include": INCLUDE, "per_page": 5})
    large, large_body = count_for(api, count_statements, {"include": INCLUDE, "per_page": 50})
    assert len(small_body["data"]) == 5 and len(large_body["data"]) == 50
    assert all(len(b["tickets"]) == 2 and b["group"]["customer"] for b in large_body["data"])
    assert all(line["ticket"] for b in large_body["data"] for line in b["tickets"])
    assert small == large
    # 1: the token, its user and the caller's permissions at the path's event, in one
    # 1: the count; 1: the page of bookings
    # 2: one per relation level holding many rows or starting a branch: the lines (with
    #    each line's ticket joined in) and the groups (with each group's customer joined in)
    assert large == 5, count_statements.statements[-large:]


def test_bookings_without_includes_issue_three_statements(
    api: Caller, sixty_bookings: None, count_statements: StatementCounter
) -> None:
    api.ok("/user")
    statements, _ = count_for(api, count_statements, {"per_page": 50})
    # Auth and event access, count, page.
    assert statements == 3, count_statements.statements[-statements:]
