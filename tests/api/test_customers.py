"""`/event/{id}/customers`: customers with a group at the event, filters, sorts, includes."""

from __future__ import annotations

import pytest

from tests.api.conftest import Caller, assert_error, ordered_ids
from tests.factories import BookingFactory, CustomerFactory, EventFactory, GroupFactory

# key: (first_name, last_name, email, post_code)
CUSTOMERS = {
    "jane": ("Jane", "Smith", "jane@acme.com", "SW1A 1AA"),
    "bob": ("Bob", "Jones", "bob_1000@example.com", "EC1A 1BB"),
    "alice": ("Alice", "Zed", "alice100%@mail.test", "N1 9GU"),
}


@pytest.fixture
def world(api: Caller) -> dict[str, int]:
    """Three customers with groups at the event (Jane also elsewhere), two without."""
    event_id = api.event_id
    other_event = EventFactory().id
    ids: dict[str, int] = {}
    for key in ("bob", "jane", "alice"):
        first, last, email, post_code = CUSTOMERS[key]
        ids[key] = CustomerFactory(
            first_name=first, last_name=last, email=email, post_code=post_code
        ).id
    ids["jane_main"] = GroupFactory(event_id=event_id, customer_id=ids["jane"]).id
    ids["jane_second"] = GroupFactory(event_id=event_id, customer_id=ids["jane"]).id
    ids["jane_elsewhere"] = GroupFactory(event_id=other_event, customer_id=ids["jane"]).id
    ids["bob_group"] = GroupFactory(event_id=event_id, customer_id=ids["bob"]).id
    ids["alice_group"] = GroupFactory(event_id=event_id, customer_id=ids["alice"]).id
    ids["zoe"] = CustomerFactory(first_name="Zoe", last_name="Adams").id
    GroupFactory(event_id=other_event, customer_id=ids["zoe"])
    ids["loner"] = CustomerFactory(first_name="Lone", last_name="Adams").id
    ids["booking"] = BookingFactory(event_id=event_id, group_id=ids["jane_main"]).id
    ids["stray"] = BookingFactory(event_id=other_event, group_id=ids["jane_main"]).id
    ids["elsewhere_booking"] = BookingFactory(
        event_id=other_event, group_id=ids["jane_elsewhere"]
    ).id
    return ids


def path(api: Caller) -> str:
    return f"/event/{api.event_id}/customers"


def test_customers_list_each_customer_with_a_group_at_the_event_once(
    api: Caller, world: dict[str, int]
) -> None:
    data = api.data(path(api))
    assert [c["id"] for c in data] == sorted(world[key] for key in CUSTOMERS)
    jane = next(c for c in data if c["id"] == world["jane"])
    assert jane["full_name"] == "Jane Smith"
    assert jane["email_address"] == "jane@acme.com"
    assert jane["post_code"] == "SW1A 1AA"
    assert "groups" not in jane


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"filter[email]": "ACME"}, ["jane"]),
        ({"filter[email]": "100%"}, ["alice"]),
        ({"filter[email]": "_1"}, ["bob"]),
        ({"filter[email]": "example.com"}, ["bob"]),
        ({"filter[first_name]": "ja"}, ["jane"]),
        ({"filter[first_name]": "Zoe"}, []),
        ({"filter[last_name]": "S"}, ["bob", "jane"]),
        ({"filter[last_name]": "adams"}, []),
        ({"filter[post_code]": "sw1a"}, ["jane"]),
        ({"filter[post_code]": "1"}, ["alice", "bob", "jane"]),
        ({"filter[post_code]": "1a 1"}, ["bob", "jane"]),
        ({"filter[first_name]": "a", "filter[last_name]": "z"}, ["alice"]),
    ],
)
def test_customers_filters_narrow_the_list(
    api: Caller, world: dict[str, int], query: dict[str, str], expected: list[str]
) -> None:
    assert api.ids(path(api), query) == sorted(world[key] for key in expected)


def test_customers_filter_by_id_stays_within_the_event(api: Caller, world: dict[str, int]) -> None:
    assert api.ids(path(api), {"filter[id]": world["bob"]}) == [world["bob"]]
    pair = f"{world['alice']},{world['jane']}"
    assert api.ids(path(api), {"filter[id]": pair}) == sorted([world["alice"], world["jane"]])
    assert api.ids(path(api), {"filter[id]": f"{world['zoe']},{world['loner']}"}) == []


@pytest.mark.parametrize(("field", "index"), [("first_name", 0), ("last_name", 1), ("email", 2)])
@pytest.mark.parametrize("descending", [False, True])
def test_customers_sort_by_each_documented_field(
    api: Caller, world: dict[str, int], field: str, index: int, descending: bool
) -> None:
    values = {world[key]: spec[index] for key, spec in CUSTOMERS.items()}
    sort = ("-" if descending else "") + field
    assert api.ids(path(api), {"sort": sort}) == ordered_ids(values, descending)


@pytest.mark.parametrize("descending", [False, True])
def test_customers_sort_by_id(api: Caller, world: dict[str, int], descending: bool) -> None:
    expected = sorted((world[key] for key in CUSTOMERS), reverse=descending)
    assert api.ids(path(api), {"sort": "-id" if descending else "id"}) == expected


def test_customers_include_groups_shows_only_the_groups_at_the_event(
    api: Caller, world: dict[str, int]
) -> None:
    data = {c["id"]: c for c in api.data(path(api), {"include": "groups"})}
    jane_groups = [g["id"] for g in data[world["jane"]]["groups"]]
    assert jane_groups == [world["jane_main"], world["jane_second"]]
    assert all(g["event_id"] == api.event_id for g in data[world["jane"]]["groups"])
    assert [g["id"] for g in data[world["bob"]]["groups"]] == [world["bob_group"]]


def test_customers_include_groups_event_loads_groups_and_the_path_event(
    api: Caller, world: dict[str, int]
) -> None:
    data = {c["id"]: c for c in api.data(path(api), {"include": "groups.event"})}
    groups = data[world["jane"]]["groups"]
    assert [g["id"] for g in groups] == [world["jane_main"], world["jane_second"]]
    assert all(g["event"]["id"] == api.event_id for g in groups)


def test_customers_include_groups_bookings_shows_only_bookings_of_the_event(
    api: Caller, world: dict[str, int]
) -> None:
    data = {c["id"]: c for c in api.data(path(api), {"include": "groups.bookings"})}
    groups = {g["id"]: g for g in data[world["jane"]]["groups"]}
    assert [b["id"] for b in groups[world["jane_main"]]["bookings"]] == [world["booking"]]
    assert groups[world["jane_second"]]["bookings"] == []
    assert world["jane_elsewhere"] not in groups


def test_customer_shows_one_customer_with_the_event_groups(
    api: Caller, world: dict[str, int]
) -> None:
    customer = api.data(f"{path(api)}/{world['jane']}", {"include": "groups.bookings"})
    assert customer["id"] == world["jane"]
    assert customer["full_name"] == "Jane Smith"
    assert [g["id"] for g in customer["groups"]] == [world["jane_main"], world["jane_second"]]
    assert [b["id"] for b in customer["groups"][0]["bookings"]] == [world["booking"]]


@pytest.mark.parametrize("key", ["zoe", "loner"])
def test_customer_without_a_group_at_the_event_is_a_404(
    api: Caller, world: dict[str, int], key: str
) -> None:
    assert_error(api.get(f"{path(api)}/{world[key]}"), 404)
