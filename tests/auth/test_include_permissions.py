"""Includes that reach another area need its ability and role permission too; /events excepted."""

from __future__ import annotations

from typing import Any

import pytest

from eventio.auth.permissions import AREAS
from eventio.db.extensions import db
from tests.auth.conftest import (
    ADMIN_EVERYWHERE,
    ROUTE_AREAS,
    Expected,
    MakeCaller,
    World,
    abilities_for,
    assert_forbidden,
    check,
    ok,
    saved,
)
from tests.factories import (
    BookingFactory,
    CustomerFactory,
    EventUserFactory,
    GroupFactory,
    UserFactory,
)

EVENT = "/event/<id:event_id>"
BOOKINGS = (f"{EVENT}/bookings", f"{EVENT}/bookings/<id:booking_id>")
LINES = (f"{EVENT}/bookings/<id:booking_id>/tickets", f"{BOOKINGS[1]}/tickets/<id:line_id>")
GROUPS = (f"{EVENT}/groups", f"{EVENT}/groups/<id:group_id>")
GROUP_BOOKINGS = f"{EVENT}/groups/<id:group_id>/bookings"
CUSTOMERS = (f"{EVENT}/customers", f"{EVENT}/customers/<id:customer_id>")
ROLES = (f"{EVENT}/roles", f"{EVENT}/roles/<id:role_id>")
USERS = (f"{EVENT}/users", f"{EVENT}/users/<id:event_user_id>")
TICKETS = (f"{EVENT}/tickets", f"{EVENT}/tickets/<id:ticket_id>")

# (rule, include, the areas beyond the route's own that it reaches), list and single alike.
CROSS_AREA: list[tuple[str, str, tuple[str, ...]]] = [
    (EVENT, "bookings", ("bookings",)),
    (EVENT, "bookingsCount", ("bookings",)),
    *[
        (rule, include, extra)
        for rule in BOOKINGS
        for include, extra in (
            ("tickets.ticket", ("event",)),
            ("group", ("groups",)),
            ("group.customer", ("groups", "customers")),
        )
    ],
    *[(rule, include, ("event",)) for rule in LINES for include in ("ticket", "ticket.event")],
    *[
        (rule, include, extra)
        for rule in GROUPS
        for include, extra in (
            ("customer", ("customers",)),
            ("bookings", ("bookings",)),
            ("bookings.tickets", ("bookings",)),
            ("bookingsCount", ("bookings",)),
            ("event", ("event",)),
        )
    ],
    (GROUP_BOOKINGS, "tickets.ticket", ("event",)),
    *[
        (rule, include, extra)
        for rule in CUSTOMERS
        for include, extra in (
            ("groups", ("groups",)),
            ("groupsCount", ("groups",)),
            ("groups.event", ("groups", "event")),
            ("groups.bookings", ("groups", "bookings")),
        )
    ],
    *[
        (rule, include, extra)
        for rule in ROLES
        for include, extra in (
            ("event", ("event",)),
            ("eventUsers", ("users",)),
            ("eventUsers.user", ("users",)),
            ("eventUsersCount", ("users",)),
        )
    ],
    *[
        (rule, include, extra)
        for rule in USERS
        for include, extra in (
            ("event", ("event",)),
            ("role", ("roles",)),
            ("role.permissions", ("roles",)),
        )
    ],
]
# (rule, include, missing area): every area an include reaches, taken away on its own.
CROSS_AREA_MISSING = [
    (rule, include, area) for rule, include, extra in CROSS_AREA for area in extra
]
# Includes that stay in the route's own area: the route's permission is enough.
SAME_AREA: list[tuple[str, str]] = [
    (EVENT, "tickets"),
    (EVENT, "ticketsCount"),
    *[(rule, "event") for rule in TICKETS],
    *[(rule, include) for rule in BOOKINGS for include in ("tickets", "ticketsCount")],
    *[(rule, "booking") for rule in LINES],
    (GROUP_BOOKINGS, "tickets"),
    *[(rule, include) for rule in ROLES for include in ("permissions", "permissionsCount")],
    *[(rule, "user") for rule in USERS],
]


def case_id(value: Any) -> str:
    return value.removeprefix(EVENT) or "/event" if isinstance(value, str) else str(value)


def with_include(path: str, include: str) -> str:
    return f"{path}?include={include}"


def assert_included(body: dict[str, Any], include: str) -> None:
    """The included path is there, down to its last relation (the first item at each list)."""
    node: Any = body["data"]
    if include.endswith("Count"):
        name = include.removesuffix("Count")
        key = "".join(f"_{c.lower()}" if c.isupper() else c for c in name) + "_count"
        items = node if isinstance(node, list) else [node]
        assert items and all(isinstance(item.get(key), int) for item in items), body
        return
    for part in include.split("."):
        if isinstance(node, list):
            assert node, (include, body)
            node = node[0]
        assert isinstance(node, dict) and part in node, (include, part, body)
        node = node[part]
    assert node, (include, body)


@pytest.mark.parametrize(("rule", "include", "extra"), CROSS_AREA, ids=case_id)
def test_an_include_with_its_areas_and_abilities_is_200(
    make_caller: MakeCaller, world: World, rule: str, include: str, extra: tuple[str, ...]
) -> None:
    areas = (*ROUTE_AREAS[rule], *extra)
    caller = make_caller(abilities_for(areas), {world.a.event: dict.fromkeys(areas, "read")})
    assert_included(ok(caller.get(with_include(world.a.path(rule), include))), include)


def reaching(world: World, area: str) -> dict[str, Expected]:
    """Every include that reaches `area` (on every route it is allowed on), and 200 for
    the same routes without it."""
    expected: dict[str, Expected] = {}
    for rule, include, missing in CROSS_AREA_MISSING:
        if missing == area:
            expected[world.a.path(rule)] = 200
            expected[with_include(world.a.path(rule), include)] = area
    return expected


@pytest.mark.parametrize("area", AREAS)
def test_an_include_without_the_role_area_it_reaches_is_403_naming_it(
    make_caller: MakeCaller, world: World, area: str
) -> None:
    caller = make_caller(["*"], {world.a.event: {a: "admin" for a in AREAS if a != area}})
    check(caller, reaching(world, area))


@pytest.mark.parametrize("area", AREAS)
def test_an_include_without_the_ability_of_the_area_it_reaches_is_403_naming_it(
    make_caller: MakeCaller, world: World, area: str
) -> None:
    held = [ability for ability in abilities_for(AREAS) if ability != f"{area}.read"]
    caller = make_caller(held, {world.a.event: ADMIN_EVERYWHERE})
    expected = {
        path: answer if answer == 200 else f"{answer}.read"
        for path, answer in reaching(world, area).items()
    }
    check(caller, expected)


@pytest.mark.parametrize(("rule", "include"), SAME_AREA, ids=case_id)
def test_an_include_in_the_route_area_needs_nothing_more(
    make_caller: MakeCaller, world: World, rule: str, include: str
) -> None:
    areas = ROUTE_AREAS[rule]
    caller = make_caller(abilities_for(areas), {world.a.event: dict.fromkeys(areas, "read")})
    assert_included(ok(caller.get(with_include(world.a.path(rule), include))), include)


@pytest.mark.parametrize(
    ("rule", "include", "missing"),
    [
        (BOOKINGS[0], "group.customer", "customers"),
        (GROUPS[0], "customer", "customers"),
        (CUSTOMERS[0], "groups.bookings", "bookings"),
        (ROLES[0], "eventUsers.user", "users"),
    ],
    ids=case_id,
)
def test_exports_check_includes_too(
    make_caller: MakeCaller, world: World, rule: str, include: str, missing: str
) -> None:
    granted = {area: "admin" for area in AREAS if area != missing}
    caller = make_caller(["*"], {world.a.event: granted})
    path = with_include(world.a.path(rule), include)
    assert_forbidden(caller.get(f"{path}&format=ndjson"), missing)


@pytest.fixture
def shared_customer(world: World) -> dict[str, int]:
    """A customer with a group and a booking at both events."""
    customer = saved(CustomerFactory)
    ids = {"customer": customer.id}
    for key, event_id in (("a", world.a.event), ("b", world.b.event)):
        group = saved(GroupFactory, event_id=event_id, customer_id=customer.id)
        ids[f"group_{key}"] = group.id
        ids[f"booking_{key}"] = saved(BookingFactory, event_id=event_id, group_id=group.id).id
    db.session.commit()
    return ids


def test_included_groups_and_bookings_stay_in_the_event_of_the_path(
    make_caller: MakeCaller, world: World, shared_customer: dict[str, int]
) -> None:
    caller = make_caller(["*"], {world.a.event: ADMIN_EVERYWHERE, world.b.event: ADMIN_EVERYWHERE})
    path = f"/event/{world.a.event}/customers/{shared_customer['customer']}"
    customer = ok(caller.get(with_include(path, "groups.bookings")))["data"]
    assert [group["id"] for group in customer["groups"]] == [shared_customer["group_a"]]
    assert [b["id"] for b in customer["groups"][0]["bookings"]] == [shared_customer["booking_a"]]


def test_an_assignment_to_a_role_of_another_event_is_not_included(
    make_caller: MakeCaller, world: World
) -> None:
    """An event user at `b` pointing to `a`'s role is not among that role's holders under `a`,
    and the role of `b` is not shown for an assignment at `a` pointing to it."""
    crossing_into_a = saved(
        EventUserFactory,
        user_id=saved(UserFactory).id,
        event_id=world.b.event,
        event_role_id=world.a.role,
    )
    crossing_into_b = saved(
        EventUserFactory,
        user_id=saved(UserFactory).id,
        event_id=world.a.event,
        event_role_id=world.b.role,
    )
    db.session.commit()
    caller = make_caller(["*"], {world.a.event: ADMIN_EVERYWHERE})
    role = ok(caller.get(f"/event/{world.a.event}/roles/{world.a.role}?include=eventUsers"))
    assert crossing_into_a.id not in [holder["id"] for holder in role["data"]["eventUsers"]]
    held = ok(caller.get(f"/event/{world.a.event}/users/{crossing_into_b.id}?include=role"))
    assert held["data"]["role"] is None
