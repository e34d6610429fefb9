"""One row by key: its to-one includes ride along in its own statement, scoped as ever."""

from __future__ import annotations

from typing import Any

import pytest

from eventio.db.extensions import db
from tests.api.conftest import Caller
from tests.conftest import ALL_AREAS, StatementCounter
from tests.factories import (
    BookingFactory,
    BookingTicketFactory,
    CustomerFactory,
    EventFactory,
    GroupFactory,
    TicketFactory,
    grant,
)


def statements_for(api: Caller, counter: StatementCounter, path: str, query: Any) -> int:
    before = counter.count
    api.ok(path, query)
    return counter.count - before


def test_one_booking_with_its_group_and_customer_is_one_statement_after_the_token(
    api: Caller, booking: int, count_statements: StatementCounter
) -> None:
    api.ok("/user")  # writes last_used_at, once a minute
    path = f"/event/{api.event_id}/bookings/{booking}"
    # The token with the event access; the booking, its group and the group's customer.
    assert statements_for(api, count_statements, path, {"include": "group.customer"}) == 2
    # The lines are many: a statement of their own.
    query = {"include": "tickets,group.customer"}
    assert statements_for(api, count_statements, path, query) == 3
    joined = count_statements.statements[-2]
    assert "JOIN groups AS" in joined and "JOIN customers AS" in joined, joined


@pytest.mark.parametrize(
    "query",
    [
        {"include": "group"},
        {"include": "group.customer"},
        {"include": "tickets,group.customer"},
        {"include": "group.customer,tickets.ticket"},
        {
            "include": "group.customer",
            "fields[groups]": "name",
            "fields[customers]": "email_address",
        },
        {"include": "group.customer,ticketsCount", "fields[bookings]": "status"},
        {"include": "tickets.ticket,group", "fields[tickets]": "title"},
    ],
)
def test_one_booking_is_the_same_item_its_list_gives(api: Caller, query: dict[str, str]) -> None:
    ticket = TicketFactory(event_id=api.event_id).id
    with_customer = GroupFactory(event_id=api.event_id, customer_id=CustomerFactory().id).id
    without_customer = GroupFactory(event_id=api.event_id, customer_id=None).id
    bookings = [
        BookingFactory(event_id=api.event_id, group_id=with_customer).id,
        BookingFactory(event_id=api.event_id, group_id=without_customer).id,
        BookingFactory(event_id=api.event_id, group_id=None).id,
    ]
    for booking in bookings:
        BookingTicketFactory(booking_id=booking, ticket_id=ticket)
    # A sparse fieldset may leave `id` out: the list is matched by its order.
    page = api.data(f"/event/{api.event_id}/bookings", {**query, "sort": "id"})
    assert len(page) == len(bookings)
    for booking, listed in zip(bookings, page, strict=True):
        one = api.data(f"/event/{api.event_id}/bookings/{booking}", query)
        assert one == listed
        assert list(one) == list(listed)  # the same keys, in the same order
    first, second, third = page
    if "customer" in query["include"]:
        assert first["group"]["customer"] is not None
        assert second["group"]["customer"] is None
    assert third["group"] is None


def test_a_joined_group_of_another_event_is_not_shown(api: Caller) -> None:
    """A booking whose group belongs to another event shows no group, as its list does."""
    elsewhere = GroupFactory(event_id=EventFactory().id, customer_id=CustomerFactory().id).id
    booking = BookingFactory(event_id=api.event_id, group_id=elsewhere).id
    db.session.commit()
    one = api.data(f"/event/{api.event_id}/bookings/{booking}", {"include": "group.customer"})
    assert one["group_id"] == elsewhere
    assert one["group"] is None


def test_the_joins_built_for_one_event_are_never_reused_for_another(api: Caller) -> None:
    """The joins are built once per scope: the event of the path is part of the key."""
    other = EventFactory().id
    grant(api.user_id, other, dict.fromkeys(ALL_AREAS, "admin"))
    group_at_other = GroupFactory(event_id=other, customer_id=CustomerFactory().id).id
    here = BookingFactory(event_id=api.event_id, group_id=group_at_other).id
    there = BookingFactory(event_id=other, group_id=group_at_other).id
    db.session.commit()
    include = {"include": "group.customer"}
    for _ in range(2):
        assert api.data(f"/event/{api.event_id}/bookings/{here}", include)["group"] is None
        group = api.data(f"/event/{other}/bookings/{there}", include)["group"]
        assert group["id"] == group_at_other and group["customer"]


def test_one_group_joins_its_customer(api: Caller, count_statements: StatementCounter) -> None:
    customer = CustomerFactory()
    group = GroupFactory(event_id=api.event_id, customer_id=customer.id).id
    api.ok("/user")
    path = f"/event/{api.event_id}/groups/{group}"
    assert statements_for(api, count_statements, path, {"include": "customer"}) == 2
    body = api.data(path, {"include": "customer"})
    assert body["customer"]["id"] == customer.id
    assert body["customer"]["email_address"] == customer.email


def test_a_booking_line_joins_its_ticket_its_event_and_its_booking(
    api: Caller, count_statements: StatementCounter
) -> None:
    """A resource that is itself a join (a line reads its ticket's title) takes the joins
    after its own: one statement after the token, the same item its list gives."""
    ticket = TicketFactory(event_id=api.event_id).id
    booking = BookingFactory(event_id=api.event_id).id
    line = BookingTicketFactory(booking_id=booking, ticket_id=ticket).id
    api.ok("/user")
    lines = f"/event/{api.event_id}/bookings/{booking}/tickets"
    query = {"include": "ticket.event,booking"}
    assert statements_for(api, count_statements, f"{lines}/{line}", query) == 2
    one = api.data(f"{lines}/{line}", query)
    assert one == api.data(lines, query)[0]
    assert one["ticket_title"] == one["ticket"]["title"]
    assert one["ticket"]["event"]["id"] == api.event_id
    assert one["booking"]["id"] == booking
