"""`/event/{id}/users`: user assignments of the event, the `active` filter, sorts, includes."""

from __future__ import annotations

from typing import Any

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
    """Three assignments beside the manager's (one inactive), ids in no sort's order."""
    event_id = api.event_id
    ids = {
        "ann": UserFactory(name="Ann Able", email="ann@example.com").id,
        "ben": UserFactory(name="Ben Bold").id,
        "cat": UserFactory(name="Cat Cole").id,
        "steward": EventRoleFactory(event_id=event_id, title="Steward").id,
        "cashier": EventRoleFactory(event_id=event_id, title="Cashier").id,
    }
    ids["p_steward"] = PermissionFactory(event_role_id=ids["steward"], area="event").id
    for key, user, role, active in (
        ("cat_steward", "cat", "steward", True),
        ("ann_cashier", "ann", "cashier", False),
        ("ben_steward", "ben", "steward", True),
    ):
        ids[key] = EventUserFactory(
            user_id=ids[user], event_id=event_id, event_role_id=ids[role], active=active
        ).id
    elsewhere = EventFactory().id
    ids["elsewhere"] = EventUserFactory(
        user_id=ids["ann"],
        event_id=elsewhere,
        event_role_id=EventRoleFactory(event_id=elsewhere).id,
    ).id
    return ids


def path(api: Caller) -> str:
    return f"/event/{api.event_id}/users"


def assignments(api: Caller) -> dict[int, dict[str, Any]]:
    return {item["id"]: item for item in api.data(path(api))}


def test_event_users_list_the_event_assignments_with_their_fields(
    api: Caller, world: dict[str, int]
) -> None:
    data = assignments(api)
    assert world["elsewhere"] not in data
    assert len(data) == 4  # with the manager fixture's own assignment
    ann = data[world["ann_cashier"]]
    assert ann["user_id"] == world["ann"]
    assert ann["event_id"] == api.event_id
    assert ann["event_role_id"] == world["cashier"]
    assert ann["active"] is False
    assert data[world["cat_steward"]]["active"] is True
    assert "user" not in ann and "role" not in ann


@pytest.mark.parametrize("value", ["false", "0", "FALSE"])
def test_event_users_filter_active_false_lists_inactive_assignments(
    api: Caller, world: dict[str, int], value: str
) -> None:
    assert api.ids(path(api), {"filter[active]": value}) == [world["ann_cashier"]]


@pytest.mark.parametrize("value", ["true", "1", "True"])
def test_event_users_filter_active_true_lists_active_assignments(
    api: Caller, world: dict[str, int], value: str
) -> None:
    ids = api.ids(path(api), {"filter[active]": value})
    assert world["ann_cashier"] not in ids
    assert {world["cat_steward"], world["ben_steward"]} < set(ids)
    assert len(ids) == 3


@pytest.mark.parametrize("value", ["yes", "2", "truth", "t"])
def test_event_users_filter_active_refuses_other_values(
    api: Caller, world: dict[str, int], value: str
) -> None:
    body = assert_error(api.get(path(api), {"filter[active]": value}), 422)
    assert "filter" in body["errors"]


def test_event_users_filter_by_id_user_and_role(api: Caller, world: dict[str, int]) -> None:
    assert api.ids(path(api), {"filter[id]": world["ben_steward"]}) == [world["ben_steward"]]
    assert api.ids(path(api), {"filter[id]": world["elsewhere"]}) == []
    assert api.ids(path(api), {"filter[user_id]": world["ann"]}) == [world["ann_cashier"]]
    both = f"{world['cat']},{world['ben']}"
    assert api.ids(path(api), {"filter[user_id]": both}) == sorted(
        [world["cat_steward"], world["ben_steward"]]
    )
    assert api.ids(path(api), {"filter[event_role_id]": world["steward"]}) == sorted(
        [world["cat_steward"], world["ben_steward"]]
    )
    query = {"filter[event_role_id]": world["steward"], "filter[active]": "0"}
    assert api.ids(path(api), query) == []


@pytest.mark.parametrize("field", ["id", "user_id", "event_role_id", "active"])
@pytest.mark.parametrize("descending", [False, True])
def test_event_users_sort_by_each_documented_field(
    api: Caller, world: dict[str, int], field: str, descending: bool
) -> None:
    values = {id_: item[field] for id_, item in assignments(api).items()}
    sort = ("-" if descending else "") + field
    ids = api.ids(path(api), {"sort": sort})
    assert ids == ordered_ids(values, descending)


def test_event_users_include_user_event_role_and_its_permissions(
    api: Caller, world: dict[str, int]
) -> None:
    data = api.data(path(api), {"include": "user,event,role.permissions"})
    by_id = {item["id"]: item for item in data}
    ann = by_id[world["ann_cashier"]]
    assert ann["user"] == {"id": world["ann"], "name": "Ann Able", "email": "ann@example.com"}
    assert ann["event"]["id"] == api.event_id
    assert (ann["role"]["id"], ann["role"]["title"]) == (world["cashier"], "Cashier")
    assert ann["role"]["permissions"] == []
    steward = by_id[world["cat_steward"]]["role"]
    assert [p["id"] for p in steward["permissions"]] == [world["p_steward"]]


def test_event_users_include_role_alone_carries_no_permissions(
    api: Caller, world: dict[str, int]
) -> None:
    for item in api.data(path(api), {"include": "role"}):
        assert isinstance(item["role"], dict)
        assert "permissions" not in item["role"]


def test_event_user_shows_one_assignment_with_the_list_includes(
    api: Caller, world: dict[str, int]
) -> None:
    item = api.data(f"{path(api)}/{world['ben_steward']}", {"include": "user,role.permissions"})
    assert item["id"] == world["ben_steward"]
    assert item["user"]["name"] == "Ben Bold"
    assert item["role"]["permissions"][0]["area"] == "event"


def test_event_user_of_another_event_is_a_404(api: Caller, world: dict[str, int]) -> None:
    assert_error(api.get(f"{path(api)}/{world['elsewhere']}"), 404)
