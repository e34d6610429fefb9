"""`/event/{id}/groups` and a group's bookings: filters, sorts, includes, cancelled bookings."""

from __future__ import annotations

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

# key: (name, association, customer key)
GROUPS = {
    "g1": ("ACME Corp", "Corporate Partner", "jane"),
    "g2": ("Beta_Club", "100% Partner", "bob"),
    "g3": ("Charlie 1000 Club", "1000 Schools", None),
    "g4": ("acme west", "Corporate Friend", "jane"),
}


@pytest.fixture
def world(api: Caller) -> dict[str, int]:
    """Four groups of the event, one of another event; bookings of every status."""
    event_id = api.event_id
    other_event = EventFactory().id
    ids = {
        "jane": CustomerFactory(first_name="Jane", last_name="Smith").id,
        "bob": CustomerFactory(first_name="Bob", last_name="Jones").id,
        "ticket": TicketFactory(event_id=event_id, title="Adult Ticket").id,
    }
    for key in ("g3", "g1", "g4", "g2"):
        name, association, customer = GROUPS[key]
        ids[key] = GroupFactory(
            event_id=event_id,
            name=name,
            association=association,
            customer_id=ids[customer] if customer else None,
        ).id
    ids["elsewhere"] = GroupFactory(event_id=other_event, customer_id=ids["jane"]).id
    for key, group, status, booking_type in (
        ("confirmed", "g1", "confirmed", "participant"),
        ("cancelled", "g1", "cancelled", "participant"),
        ("waiting", "g1", "waiting_list", "exhibitor"),
        ("provisional", "g2", "provisional", "participant"),
    ):
        ids[key] = BookingFactory(
            event_id=event_id, group_id=ids[group], status=status, booking_type=booking_type
        ).id
    # Inconsistent but possible data: a booking of another event naming group g1.
    ids["stray"] = BookingFactory(event_id=other_event, group_id=ids["g1"]).id
    ids["line"] = BookingTicketFactory(booking_id=ids["confirmed"], ticket_id=ids["ticket"]).id
    return ids


def groups_path(api: Caller) -> str:
    return f"/event/{api.event_id}/groups"


def test_groups_list_only_the_event_groups_with_their_fields(
    api: Caller, world: dict[str, int]
) -> None:
    data = api.data(groups_path(api))
    assert [g["id"] for g in data] == sorted(world[key] for key in GROUPS)
    first = next(g for g in data if g["id"] == world["g1"])
    assert first["event_id"] == api.event_id
    assert (first["name"], first["association"]) == ("ACME Corp", "Corporate Partner")
    assert "customer" not in first and "bookings" not in first


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"filter[name]": "acme"}, ["g1", "g4"]),
        ({"filter[name]": "CLUB"}, ["g2", "g3"]),
        ({"filter[name]": "_c"}, ["g2"]),
        ({"filter[name]": "Nowhere"}, []),
        ({"filter[association]": "partner"}, ["g1", "g2"]),
        ({"filter[association]": "100%"}, ["g2"]),
        ({"filter[association]": "corporate f"}, ["g4"]),
        ({"filter[name]": "acme", "filter[association]": "partner"}, ["g1"]),
    ],
)
def test_groups_filters_narrow_the_list(
    api: Caller, world: dict[str, int], query: dict[str, str], expected: list[str]
) -> None:
    assert api.ids(groups_path(api), query) == sorted(world[key] for key in expected)


def test_groups_filter_by_id_and_by_customer(api: Caller, world: dict[str, int]) -> None:
    path = groups_path(api)
    assert api.ids(path, {"filter[id]": world["g2"]}) == [world["g2"]]
    assert api.ids(path, {"filter[id]": f"{world['g3']},{world['g1']}"}) == sorted(
        [world["g1"], world["g3"]]
    )
    assert api.ids(path, {"filter[id]": world["elsewhere"]}) == []
    assert api.ids(path, {"filter[customer_id]": world["jane"]}) == sorted(
        [world["g1"], world["g4"]]
    )
    both = f"{world['jane']},{world['bob']}"
    assert api.ids(path, {"filter[customer_id]": both}) == sorted(
        [world["g1"], world["g2"], world["g4"]]
    )


@pytest.mark.parametrize(("field", "index"), [("name", 0), ("association", 1)])
@pytest.mark.parametrize("descending", [False, True])
def test_groups_sort_by_each_documented_field(
    api: Caller, world: dict[str, int], field: str, index: int, descending: bool
) -> None:
    values = {world[key]: collated(spec[index]) for key, spec in GROUPS.items()}
    sort = ("-" if descending else "") + field
    assert api.ids(groups_path(api), {"sort": sort}) == ordered_ids(values, descending)


@pytest.mark.parametrize("descending", [False, True])
def test_groups_sort_by_id(api: Caller, world: dict[str, int], descending: bool) -> None:
    expected = sorted((world[key] for key in GROUPS), reverse=descending)
    assert api.ids(groups_path(api), {"sort": "-id" if descending else "id"}) == expected


def test_groups_include_customer_gives_an_object_or_null(
    api: Caller, world: dict[str, int]
) -> None:
    data = {g["id"]: g for g in api.data(groups_path(api), {"include": "customer"})}
    assert data[world["g1"]]["customer"]["id"] == world["jane"]
    assert data[world["g1"]]["customer"]["full_name"] == "Jane Smith"
    assert data[world["g2"]]["customer"]["id"] == world["bob"]
    assert data[world["g3"]]["customer"] is None


def test_groups_include_bookings_gives_lists_of_the_event_bookings_only(
    api: Caller, world: dict[str, int]
) -> None:
    data = {g["id"]: g for g in api.data(groups_path(api), {"include": "bookings"})}
    g1 = [b["id"] for b in data[world["g1"]]["bookings"]]
    assert world["confirmed"] in g1 and world["waiting"] in g1
    assert world["stray"] not in g1
    assert all(b["event_id"] == api.event_id for b in data[world["g1"]]["bookings"])
    assert [b["id"] for b in data[world["g2"]]["bookings"]] == [world["provisional"]]
    assert data[world["g3"]]["bookings"] == []


def test_groups_include_bookings_tickets_loads_bookings_and_their_lines(
    api: Caller, world: dict[str, int]
) -> None:
    data = {g["id"]: g for g in api.data(groups_path(api), {"include": "bookings.tickets"})}
    bookings = {b["id"]: b for b in data[world["g1"]]["bookings"]}
    assert [line["id"] for line in bookings[world["confirmed"]]["tickets"]] == [world["line"]]
    assert bookings[world["waiting"]]["tickets"] == []


def test_groups_include_event_gives_the_event(api: Caller, world: dict[str, int]) -> None:
    for group in api.data(groups_path(api), {"include": "event"}):
        assert group["event"]["id"] == api.event_id


def test_group_shows_one_group_with_the_list_includes(api: Caller, world: dict[str, int]) -> None:
    group = api.data(
        f"{groups_path(api)}/{world['g2']}", {"include": "customer,bookings.tickets,event"}
    )
    assert group["id"] == world["g2"]
    assert group["name"] == "Beta_Club"
    assert group["customer"]["id"] == world["bob"]
    assert [b["id"] for b in group["bookings"]] == [world["provisional"]]
    assert group["bookings"][0]["tickets"] == []
    assert group["event"]["id"] == api.event_id


def test_group_of_another_event_is_a_404(api: Caller, world: dict[str, int]) -> None:
    assert_error(api.get(f"{groups_path(api)}/{world['elsewhere']}"), 404)


def group_bookings(api: Caller, world: dict[str, int], group: str = "g1") -> str:
    return f"{groups_path(api)}/{world[group]}/bookings"


def test_group_bookings_list_the_active_bookings_of_the_group(
    api: Caller, world: dict[str, int]
) -> None:
    assert api.ids(group_bookings(api, world)) == sorted([world["confirmed"], world["waiting"]])
    assert api.ids(group_bookings(api, world, "g2")) == [world["provisional"]]
    assert api.ids(group_bookings(api, world, "g3")) == []


@pytest.mark.parametrize("flag", ["include_cancelled", "include_cancelled=1"])
def test_group_bookings_with_include_cancelled_add_the_cancelled_ones(
    api: Caller, world: dict[str, int], flag: str
) -> None:
    expected = sorted([world["confirmed"], world["cancelled"], world["waiting"]])
    assert api.ids(group_bookings(api, world), flag) == expected


def test_group_bookings_never_show_a_booking_of_another_event(
    api: Caller, world: dict[str, int]
) -> None:
    assert world["stray"] not in api.ids(group_bookings(api, world), "include_cancelled")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("filter[status]=confirmed", ["confirmed"]),
        ("filter[status]=cancelled", []),
        ("filter[status]=cancelled&include_cancelled", ["cancelled"]),
        ("filter[status]=confirmed,waiting_list", ["confirmed", "waiting"]),
        ("filter[booking_type]=exhibitor", ["waiting"]),
        ("filter[booking_type]=participant&include_cancelled", ["confirmed", "cancelled"]),
    ],
)
def test_group_bookings_filters_narrow_the_list(
    api: Caller, world: dict[str, int], query: str, expected: list[str]
) -> None:
    assert api.ids(group_bookings(api, world), query) == sorted(world[key] for key in expected)


def test_group_bookings_filter_by_id(api: Caller, world: dict[str, int]) -> None:
    path = group_bookings(api, world)
    assert api.ids(path, {"filter[id]": world["waiting"]}) == [world["waiting"]]
    assert api.ids(path, {"filter[id]": world["provisional"]}) == []


def test_group_bookings_include_tickets_and_their_ticket(
    api: Caller, world: dict[str, int]
) -> None:
    data = {b["id"]: b for b in api.data(group_bookings(api, world), {"include": "tickets"})}
    assert [line["id"] for line in data[world["confirmed"]]["tickets"]] == [world["line"]]
    assert data[world["waiting"]]["tickets"] == []
    nested = api.data(group_bookings(api, world), {"include": "tickets.ticket"})
    line = next(b for b in nested if b["id"] == world["confirmed"])["tickets"][0]
    assert line["ticket"]["id"] == world["ticket"]


def test_group_bookings_of_another_event_group_are_a_404(
    api: Caller, world: dict[str, int]
) -> None:
    assert_error(api.get(group_bookings(api, world, "elsewhere")), 404)
