"""`/event/{id}/roles`: roles of the event, filters, sorts, permissions and holders included."""

from __future__ import annotations

import pytest

from tests.api.conftest import Caller, assert_error, ordered_ids
from tests.factories import (
    EventFactory,
    EventRoleFactory,
    EventUserFactory,
    PermissionFactory,
    UserFactory,
)


@pytest.fixture
def world(api: Caller) -> dict[str, int]:
    """Three roles beside the manager's own, holders of two, and a role of another event."""
    event_id = api.event_id
    ids = {
        "volunteers": EventRoleFactory(event_id=event_id, title="100% Volunteers").id,
        "box": EventRoleFactory(event_id=event_id, title="Box_Office").id,
        "manager": EventRoleFactory(event_id=event_id, title="Event Manager").id,
        "elsewhere": EventRoleFactory(event_id=EventFactory().id, title="Event Manager").id,
    }
    ids["p_event"] = PermissionFactory(
        event_role_id=ids["manager"], area="event", permission="admin"
    ).id
    ids["p_bookings"] = PermissionFactory(
        event_role_id=ids["manager"], area="bookings", permission="write"
    ).id
    ids["p_box"] = PermissionFactory(event_role_id=ids["box"], area="bookings").id
    ids["john"] = UserFactory(name="John Doe", email="john@example.com").id
    ids["mary"] = UserFactory(name="Mary Major").id
    ids["john_manager"] = EventUserFactory(
        user_id=ids["john"], event_id=event_id, event_role_id=ids["manager"]
    ).id
    ids["mary_box"] = EventUserFactory(
        user_id=ids["mary"], event_id=event_id, event_role_id=ids["box"], active=False
    ).id
    return ids


def path(api: Caller) -> str:
    return f"/event/{api.event_id}/roles"


def event_role_titles(api: Caller) -> dict[int, str]:
    return {role["id"]: role["title"] for role in api.data(path(api))}


def test_roles_list_only_the_event_roles(api: Caller, world: dict[str, int]) -> None:
    titles = event_role_titles(api)
    assert world["elsewhere"] not in titles
    assert {world["volunteers"], world["box"], world["manager"]} < set(titles)
    assert len(titles) == 4  # with the manager fixture's own role
    assert titles[world["manager"]] == "Event Manager"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"filter[title]": "MANAGER"}, ["manager"]),
        ({"filter[title]": "_o"}, ["box"]),
        ({"filter[title]": "100%"}, ["volunteers"]),
        ({"filter[title]": "nobody"}, []),
    ],
)
def test_roles_filters_narrow_the_list(
    api: Caller, world: dict[str, int], query: dict[str, str], expected: list[str]
) -> None:
    assert api.ids(path(api), query) == sorted(world[key] for key in expected)


def test_roles_filter_by_id_stays_within_the_event(api: Caller, world: dict[str, int]) -> None:
    assert api.ids(path(api), {"filter[id]": world["box"]}) == [world["box"]]
    pair = f"{world['manager']},{world['volunteers']}"
    assert api.ids(path(api), {"filter[id]": pair}) == sorted(
        [world["manager"], world["volunteers"]]
    )
    assert api.ids(path(api), {"filter[id]": world["elsewhere"]}) == []


@pytest.mark.parametrize("field", ["id", "title"])
@pytest.mark.parametrize("descending", [False, True])
def test_roles_sort_by_each_documented_field(
    api: Caller, world: dict[str, int], field: str, descending: bool
) -> None:
    titles = event_role_titles(api)
    values = titles if field == "title" else {id_: id_ for id_ in titles}
    sort = ("-" if descending else "") + field
    assert api.ids(path(api), {"sort": sort}) == ordered_ids(values, descending)


def test_roles_include_permissions_gives_lists(api: Caller, world: dict[str, int]) -> None:
    data = {r["id"]: r for r in api.data(path(api), {"include": "permissions"})}
    manager = data[world["manager"]]["permissions"]
    assert [p["id"] for p in manager] == [world["p_event"], world["p_bookings"]]
    assert [(p["area"], p["permission"]) for p in manager] == [
        ("event", "admin"),
        ("bookings", "write"),
    ]
    assert all(p["event_role_id"] == world["manager"] for p in manager)
    assert data[world["volunteers"]]["permissions"] == []


def test_roles_include_event_users_and_their_user(api: Caller, world: dict[str, int]) -> None:
    data = {r["id"]: r for r in api.data(path(api), {"include": "eventUsers"})}
    assert [u["id"] for u in data[world["manager"]]["eventUsers"]] == [world["john_manager"]]
    assert [u["id"] for u in data[world["box"]]["eventUsers"]] == [world["mary_box"]]
    assert data[world["volunteers"]]["eventUsers"] == []
    assert "user" not in data[world["manager"]]["eventUsers"][0]
    nested = {r["id"]: r for r in api.data(path(api), {"include": "eventUsers.user"})}
    holder = nested[world["manager"]]["eventUsers"][0]
    assert holder["user"] == {"id": world["john"], "name": "John Doe", "email": "john@example.com"}


def test_roles_include_event_gives_the_event(api: Caller, world: dict[str, int]) -> None:
    for role in api.data(path(api), {"include": "event"}):
        assert role["event"]["id"] == api.event_id


def test_role_shows_one_role_with_the_list_includes(api: Caller, world: dict[str, int]) -> None:
    role = api.data(
        f"{path(api)}/{world['manager']}", {"include": "event,permissions,eventUsers.user"}
    )
    assert (role["id"], role["title"]) == (world["manager"], "Event Manager")
    assert role["event"]["id"] == api.event_id
    assert len(role["permissions"]) == 2
    assert role["eventUsers"][0]["user"]["id"] == world["john"]


def test_role_of_another_event_is_a_404(api: Caller, world: dict[str, int]) -> None:
    assert_error(api.get(f"{path(api)}/{world['elsewhere']}"), 404)
