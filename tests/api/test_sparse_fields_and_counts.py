"""Sparse fieldsets (`fields[type]=a,b`, bare `fields=a,b`) and count includes (`ticketsCount`)."""

from __future__ import annotations

import pytest

from tests.api.conftest import Caller, assert_error, url
from tests.conftest import bearer
from tests.factories import (
    BookingFactory,
    BookingTicketFactory,
    EventFactory,
    EventRoleFactory,
    EventUserFactory,
    GroupFactory,
    TicketFactory,
    UserFactory,
    grant,
    issue_token,
)


def bookings_path(api: Caller) -> str:
    return f"/event/{api.event_id}/bookings"


@pytest.fixture
def world(api: Caller) -> dict[str, int]:
    """Two bookings in a group (one with two ticket lines), one booking alone, one empty group."""
    group = GroupFactory(event_id=api.event_id, name="Acme")
    empty_group = GroupFactory(event_id=api.event_id, name="Empty")
    ticket = TicketFactory(event_id=api.event_id)
    with_lines = BookingFactory(event_id=api.event_id, group_id=group.id, status="confirmed")
    BookingTicketFactory(booking_id=with_lines.id, ticket_id=ticket.id, qty=5)
    BookingTicketFactory(booking_id=with_lines.id, ticket_id=ticket.id, qty=1)
    one_line = BookingFactory(event_id=api.event_id, group_id=group.id, status="provisional")
    BookingTicketFactory(booking_id=one_line.id, ticket_id=ticket.id)
    alone = BookingFactory(event_id=api.event_id, status="waiting_list")
    # Another event's booking pointing at this event's group: never counted here.
    BookingFactory(event_id=EventFactory().id, group_id=group.id)
    return {
        "group": group.id,
        "empty_group": empty_group.id,
        "with_lines": with_lines.id,
        "one_line": one_line.id,
        "alone": alone.id,
    }


def headers_for(api: Caller, permissions: dict[str, str]) -> dict[str, str]:
    user = UserFactory()
    grant(user.id, api.event_id, permissions)
    return bearer(issue_token(user.id))


# Sparse fieldsets


def test_fields_of_the_resource_type_keep_only_those_keys(
    api: Caller, world: dict[str, int]
) -> None:
    data = api.data(bookings_path(api), {"fields[bookings]": "id,status"})
    assert len(data) == 3
    assert all(set(item) == {"id", "status"} for item in data)
    assert {item["status"] for item in data} == {"confirmed", "provisional", "waiting_list"}


def test_bare_fields_is_the_endpoints_own_type(api: Caller, world: dict[str, int]) -> None:
    data = api.data(bookings_path(api), {"fields": "id"})
    bookings = sorted((world["with_lines"], world["one_line"], world["alone"]))
    assert data == [{"id": id_} for id_ in bookings]


def test_fields_of_an_included_type_narrow_the_included_rows_only(
    api: Caller, world: dict[str, int]
) -> None:
    data = api.data(bookings_path(api), {"include": "group", "fields[groups]": "id,name"})
    by_id = {item["id"]: item for item in data}
    assert by_id[world["with_lines"]]["group"] == {"id": world["group"], "name": "Acme"}
    assert by_id[world["alone"]]["group"] is None
    # The booking itself keeps all its fields.
    assert {"booking_reference", "created_at", "group_id"} <= set(by_id[world["alone"]])


def test_fields_of_both_types_keep_the_include_and_its_narrowed_rows(
    api: Caller, world: dict[str, int]
) -> None:
    query = {"include": "group", "fields[bookings]": "id", "fields[groups]": "name"}
    data = api.data(bookings_path(api), query)
    by_id = {item["id"]: item for item in data}
    assert by_id[world["one_line"]] == {"id": world["one_line"], "group": {"name": "Acme"}}


def test_fields_of_a_nested_include_type(api: Caller, world: dict[str, int]) -> None:
    query = {"include": "tickets.ticket", "fields[tickets]": "id,title"}
    data = api.data(bookings_path(api), query)
    lines = next(item for item in data if item["id"] == world["with_lines"])["tickets"]
    assert len(lines) == 2
    assert all(set(line["ticket"]) == {"id", "title"} for line in lines)


def test_unknown_field_is_a_422_naming_the_allowed_ones(api: Caller) -> None:
    body = assert_error(api.get(bookings_path(api), {"fields[bookings]": "id,nope"}), 422)
    assert list(body["errors"]) == ["fields"]
    message = body["errors"]["fields"][0]
    assert "bookings.nope" in message
    assert "bookings.id" in message and "bookings.booking_reference" in message
    assert "bookings.id`" not in message.split("Allowed")[0]


def test_unknown_bare_field_is_a_422(api: Caller) -> None:
    body = assert_error(api.get(bookings_path(api), {"fields": "secret"}), 422)
    assert "bookings.secret" in body["errors"]["fields"][0]


def test_unknown_field_type_is_a_422_naming_the_allowed_types(api: Caller) -> None:
    body = assert_error(api.get(bookings_path(api), {"fields[widgets]": "id"}), 422)
    message = body["errors"]["fields"][0]
    assert "widgets" in message and "bookings" in message and "groups" in message


def test_field_type_outside_the_endpoints_includes_is_a_422(api: Caller) -> None:
    body = assert_error(api.get(bookings_path(api), {"fields[roles]": "id"}), 422)
    assert list(body["errors"]) == ["fields"]


@pytest.mark.parametrize(
    "query", ["fields[bookings]=", "fields[bookings]=id,,status", "fields[]=id"]
)
def test_malformed_fields_is_a_422(api: Caller, query: str) -> None:
    assert_error(api.get(bookings_path(api), query), 422)


def test_single_booking_honours_fields_and_includes(api: Caller, world: dict[str, int]) -> None:
    path = f"{bookings_path(api)}/{world['with_lines']}"
    assert api.data(path, {"fields[bookings]": "id,status"}) == {
        "id": world["with_lines"],
        "status": "confirmed",
    }
    item = api.data(path, {"include": "group", "fields[groups]": "name", "fields": "id"})
    assert item == {"id": world["with_lines"], "group": {"name": "Acme"}}


def test_single_resource_rejects_an_unknown_field(api: Caller, world: dict[str, int]) -> None:
    path = f"/event/{api.event_id}/groups/{world['group']}"
    assert api.data(path, {"fields[groups]": "name"}) == {"name": "Acme"}
    assert_error(api.get(path, {"fields[groups]": "colour"}), 422)


def test_fields_apply_on_other_endpoints(api: Caller, world: dict[str, int]) -> None:
    data = api.data(f"/event/{api.event_id}/users", {"fields": "id,active"})
    assert data and all(set(item) == {"id", "active"} for item in data)


# Count includes


def test_tickets_count_counts_the_lines_of_each_booking(api: Caller, world: dict[str, int]) -> None:
    data = api.data(bookings_path(api), {"include": "ticketsCount"})
    counts = {item["id"]: item["tickets_count"] for item in data}
    assert counts == {world["with_lines"]: 2, world["one_line"]: 1, world["alone"]: 0}
    assert all("tickets" not in item for item in data)


def test_count_include_works_with_the_relation_itself_and_with_fields(
    api: Caller, world: dict[str, int]
) -> None:
    query = {"include": "tickets,ticketsCount", "fields[bookings]": "id"}
    data = api.data(bookings_path(api), query)
    for item in data:
        assert set(item) == {"id", "tickets", "tickets_count"}
        assert item["tickets_count"] == len(item["tickets"])


def test_count_include_on_a_single_booking(api: Caller, world: dict[str, int]) -> None:
    path = f"{bookings_path(api)}/{world['with_lines']}"
    assert api.data(path, {"include": "ticketsCount"})["tickets_count"] == 2


def test_groups_bookings_count_is_scoped_to_the_path_event(
    api: Caller, world: dict[str, int]
) -> None:
    data = api.data(f"/event/{api.event_id}/groups", {"include": "bookingsCount"})
    counts = {item["id"]: item["bookings_count"] for item in data}
    assert counts == {world["group"]: 2, world["empty_group"]: 0}


def test_roles_event_users_count_is_snake_case_and_scoped(api: Caller) -> None:
    busy = EventRoleFactory(event_id=api.event_id)
    idle = EventRoleFactory(event_id=api.event_id)
    EventUserFactory(event_id=api.event_id, event_role_id=busy.id)
    EventUserFactory(event_id=api.event_id, event_role_id=busy.id, active=False)
    EventUserFactory(event_id=EventFactory().id, event_role_id=busy.id)
    data = api.data(f"/event/{api.event_id}/roles", {"include": "eventUsersCount"})
    counts = {item["id"]: item["event_users_count"] for item in data}
    assert counts[busy.id] == 2
    assert counts[idle.id] == 0
    assert len(counts) == 3  # and the manager's own role, with the manager
    assert sorted(counts.values()) == [0, 1, 2]


def test_count_include_of_another_area_needs_that_area(api: Caller, world: dict[str, int]) -> None:
    groups_only = headers_for(api, {"groups": "read"})
    path = url(f"/event/{api.event_id}/groups", {"include": "bookingsCount"})
    body = assert_error(api.client.get(path, headers=groups_only), 403)
    assert "bookings" in body["message"]
    both = headers_for(api, {"groups": "read", "bookings": "read"})
    assert api.client.get(path, headers=both).status_code == 200


def test_roles_event_users_count_needs_the_users_area(api: Caller) -> None:
    roles_only = headers_for(api, {"roles": "read"})
    path = url(f"/event/{api.event_id}/roles", {"include": "eventUsersCount"})
    assert_error(api.client.get(path, headers=roles_only), 403)


def test_count_include_of_the_same_area_needs_nothing_more(
    api: Caller, world: dict[str, int]
) -> None:
    bookings_only = headers_for(api, {"bookings": "read"})
    response = api.client.get(
        url(bookings_path(api), {"include": "ticketsCount"}), headers=bookings_only
    )
    assert response.status_code == 200
    assert {item["tickets_count"] for item in response.get_json()["data"]} == {0, 1, 2}


@pytest.mark.parametrize("include", ["fooCount", "groupCount", "tickets.ticketCount", "Count"])
def test_unknown_count_include_is_a_422_listing_the_count_includes(
    api: Caller, include: str
) -> None:
    body = assert_error(api.get(bookings_path(api), {"include": include}), 422)
    message: str = body["errors"]["include"][0]
    assert include in message
    allowed: list[str] = message.split("Allowed include(s) are `")[1].rstrip("`.").split(", ")
    assert "ticketsCount" in allowed and "tickets.ticket" in allowed
    assert "groupCount" not in allowed
