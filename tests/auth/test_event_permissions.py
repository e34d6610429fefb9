"""Every route about an event against abilities, role levels, assignments and foreign ids.

Each test asks every route of `ROUTE_AREAS` (the reference's "Requires:" lines) and
reports every route that answers otherwise, so one world serves the whole matrix.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from eventio.auth.permissions import AREAS
from eventio.db.extensions import db
from tests.auth.conftest import (
    ADMIN_EVERYWHERE,
    API,
    ROUTE_AREAS,
    Expected,
    MakeCaller,
    World,
    abilities_for,
    check,
    error_body,
    parameters,
    role_at,
    saved,
)
from tests.factories import EventRoleFactory, EventUserFactory, PermissionFactory

RULES = sorted(ROUTE_AREAS)
ALL_ABILITIES = abilities_for(AREAS)
# (rule, a parameter naming a row under the event): where another event's row must be a 404.
ROW_PARAMETERS = [(rule, name) for rule in RULES for name in parameters(rule)[1:]]


def everywhere(world: World, answer: Callable[[str], Expected]) -> dict[str, Expected]:
    """Every route's path at event `a`, with the answer expected there."""
    return {world.a.path(rule): answer(rule) for rule in RULES}


def first_missing(rule: str, held: set[str], suffix: str = "") -> Expected:
    """200 when every area of the route is held, else the first one missing (+ suffix)."""
    missing = [area for area in ROUTE_AREAS[rule] if area not in held]
    return f"{missing[0]}{suffix}" if missing else 200


def test_every_event_route_is_in_the_matrix(app: Flask) -> None:
    rules = {
        rule.rule.removeprefix(API)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(f"{API}/event/")
    }
    assert rules == set(ROUTE_AREAS)


@pytest.mark.parametrize("level", ["read", "write", "admin"])
def test_every_route_is_200_at_every_level_with_exact_abilities(
    make_caller: MakeCaller, world: World, level: str
) -> None:
    caller = make_caller(ALL_ABILITIES, {world.a.event: dict.fromkeys(AREAS, level)})
    check(caller, everywhere(world, lambda rule: 200))


def test_every_route_is_200_for_a_star_token_with_read(
    make_caller: MakeCaller, world: World
) -> None:
    caller = make_caller(["*"], {world.a.event: dict.fromkeys(AREAS, "read")})
    check(caller, everywhere(world, lambda rule: 200))


@pytest.mark.parametrize("level", ["read", "write", "admin"])
@pytest.mark.parametrize("area", AREAS)
def test_one_area_with_its_ability_opens_exactly_the_routes_of_that_area(
    make_caller: MakeCaller, world: World, area: str, level: str
) -> None:
    caller = make_caller([f"{area}.read"], {world.a.event: {area: level}})
    # Another area's route fails on the token's ability first.
    check(caller, everywhere(world, lambda rule: first_missing(rule, {area}, ".read")))


@pytest.mark.parametrize("area", AREAS)
def test_a_token_without_an_ability_is_403_naming_it_even_when_the_role_allows(
    make_caller: MakeCaller, world: World, area: str
) -> None:
    held = [ability for ability in ALL_ABILITIES if ability != f"{area}.read"]
    caller = make_caller(held, {world.a.event: ADMIN_EVERYWHERE})
    check(caller, everywhere(world, lambda rule: first_missing(rule, set(AREAS) - {area}, ".read")))


@pytest.mark.parametrize("area", AREAS)
def test_a_role_without_an_area_is_403_naming_it(
    make_caller: MakeCaller, world: World, area: str
) -> None:
    caller = make_caller(["*"], {world.a.event: {a: "admin" for a in AREAS if a != area}})
    check(caller, everywhere(world, lambda rule: first_missing(rule, set(AREAS) - {area})))


@pytest.mark.parametrize(
    "held",
    [
        ["bookings.write", "event.write", "groups.admin"],
        ["*.read", "read", "bookings"],
        ["Event.Read", "BOOKINGS.READ", " groups.read"],
    ],
    ids=["write-abilities", "wildcards-and-fragments", "other-spellings"],
)
def test_abilities_are_plain_strings(
    make_caller: MakeCaller, world: World, held: list[str]
) -> None:
    caller = make_caller(held, {world.a.event: ADMIN_EVERYWHERE})
    check(caller, everywhere(world, lambda rule: first_missing(rule, set(), ".read")))


def test_an_unknown_permission_level_grants_nothing(make_caller: MakeCaller, world: World) -> None:
    caller = make_caller(["*"], {world.a.event: dict.fromkeys(AREAS, "owner")})
    check(caller, everywhere(world, lambda rule: first_missing(rule, set())))


def test_an_inactive_assignment_is_403(make_caller: MakeCaller, world: World) -> None:
    caller = make_caller(["*"], {world.a.event: ADMIN_EVERYWHERE}, active=False)
    check(caller, everywhere(world, lambda rule: first_missing(rule, set())))


@pytest.mark.parametrize("area", AREAS)
def test_an_inactive_assignment_adds_nothing_to_an_active_one(
    make_caller: MakeCaller, world: World, area: str
) -> None:
    caller = make_caller(["*"], {world.a.event: ADMIN_EVERYWHERE}, active=False)
    role_at(caller.user_id, world.a.event, {a: "read" for a in AREAS if a != area})
    db.session.commit()
    check(caller, everywhere(world, lambda rule: first_missing(rule, set(AREAS) - {area})))


def test_active_assignments_at_the_event_combine(make_caller: MakeCaller, world: World) -> None:
    caller = make_caller(["*"])
    for area in AREAS:
        role_at(caller.user_id, world.a.event, {area: "read"})
    db.session.commit()
    check(caller, everywhere(world, lambda rule: 200))


def test_a_role_at_another_event_is_403(make_caller: MakeCaller, world: World) -> None:
    caller = make_caller(["*"], {world.b.event: ADMIN_EVERYWHERE})
    check(caller, everywhere(world, lambda rule: first_missing(rule, set())))
    check(caller, {world.b.path(rule): 200 for rule in RULES})


def test_an_assignment_at_the_event_to_a_role_of_another_event_is_403(
    make_caller: MakeCaller, world: World
) -> None:
    caller = make_caller(["*"])
    foreign_role = saved(EventRoleFactory, event_id=world.b.event)
    for area in AREAS:
        saved(PermissionFactory, event_role_id=foreign_role.id, area=area, permission="admin")
    saved(
        EventUserFactory,
        user_id=caller.user_id,
        event_id=world.a.event,
        event_role_id=foreign_role.id,
        active=True,
    )
    db.session.commit()
    check(caller, everywhere(world, lambda rule: first_missing(rule, set())))
    check(caller, {world.b.path(rule): first_missing(rule, set()) for rule in RULES})


def test_a_missing_event_is_404_naming_it(make_caller: MakeCaller, world: World) -> None:
    caller = make_caller(["*"], {world.a.event: ADMIN_EVERYWHERE})
    missing = world.b.event + 1000
    check(caller, {world.a.path(rule, event_id=missing): 404 for rule in RULES})
    body = error_body(caller.get(f"/event/{missing}/bookings"), 404)
    assert str(missing) in body["message"]


def test_a_missing_event_without_the_ability_is_403(make_caller: MakeCaller, world: World) -> None:
    caller = make_caller([], {world.a.event: ADMIN_EVERYWHERE})
    missing = world.b.event + 1000
    check(
        caller,
        {
            world.a.path(rule, event_id=missing): first_missing(rule, set(), ".read")
            for rule in RULES
        },
    )


def test_a_row_of_another_event_is_404(make_caller: MakeCaller, world: World) -> None:
    caller = make_caller(["*"], {world.a.event: ADMIN_EVERYWHERE, world.b.event: ADMIN_EVERYWHERE})
    foreign = world.b.ids()
    check(
        caller, {world.a.path(rule, **{name: foreign[name]}): 404 for rule, name in ROW_PARAMETERS}
    )
    check(caller, {world.a.path(rule): 200 for rule, _ in ROW_PARAMETERS})


def test_a_missing_row_is_404(make_caller: MakeCaller, world: World) -> None:
    caller = make_caller(["*"], {world.a.event: ADMIN_EVERYWHERE})
    check(caller, {world.a.path(rule, **{name: 10**12}): 404 for rule, name in ROW_PARAMETERS})


def test_a_ticket_line_of_another_booking_of_the_event_is_404(
    make_caller: MakeCaller, world: World
) -> None:
    caller = make_caller(["bookings.read"], {world.a.event: {"bookings": "read"}})
    rule = "/event/<id:event_id>/bookings/<id:booking_id>/tickets/<id:line_id>"
    check(caller, {world.a.path(rule, line_id=world.other_line_at_a): 404})


@pytest.mark.parametrize("area", AREAS)
def test_without_the_area_any_row_id_is_403_not_404(
    make_caller: MakeCaller, world: World, area: str
) -> None:
    """A caller without access learns nothing of what is inside the event."""
    caller = make_caller(["*"], {world.a.event: {a: "admin" for a in AREAS if a != area}})
    expected: dict[str, Expected] = {}
    for rule, name in ROW_PARAMETERS:
        if area in ROUTE_AREAS[rule]:
            for row_id in (world.a.ids()[name], world.b.ids()[name], 10**12):
                expected[world.a.path(rule, **{name: row_id})] = area
    check(caller, expected)


@pytest.mark.parametrize("accept", ["text/csv", "application/x-ndjson"])
def test_export_formats_are_authorised_like_json(
    make_caller: MakeCaller, world: World, accept: str
) -> None:
    """Authorised first: a route that does not serve the format answers 406 only to a
    caller who may read it, and a 403 to anyone else, as in JSON."""
    caller = make_caller(["*"], {world.a.event: {"event": "admin"}})

    def answer(rule: str) -> Expected:
        expected = first_missing(rule, {"event"})
        return 406 if expected == 200 and not serves(rule, accept) else expected

    check(caller, everywhere(world, answer), Accept=accept)


def serves(rule: str, media_type: str) -> bool:
    """Lists stream CSV and NDJSON, the stats report is CSV too; one row (a rule ending in
    its id) is JSON only."""
    if rule.endswith("/stats"):
        return media_type == "text/csv"
    return not rule.endswith(">")
