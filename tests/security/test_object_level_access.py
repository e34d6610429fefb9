"""API1:2023 Broken Object Level Authorization, for every route about an event.

Every route the app serves under `/api/v2/event/…` is asked, by every kind of token, at
both events and at a missing one, with each of its row ids replaced in turn by a row of
the other event, another row of the same event (a line of another booking, another
booking), and a row that does not exist. The answer each must get comes from one model
of docs/authentication.md's order of checks (abilities 403, event 404, role 403, rows
404), so a route added to the app is in the matrix without a line written here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from tests.security.conftest import (
    API,
    KINDS,
    MISSING_ID,
    ROUTES,
    ROW_PARENT,
    Caller,
    EventKey,
    EventRoute,
    TokenKind,
    World,
    answer_of,
    documented_areas,
    event_routes,
    expected_answer,
    report,
    rule_shape,
)


@dataclass(frozen=True)
class Variant:
    """One path of a route, the event it is about (None: missing) and whether its rows
    all hang where the path says."""

    path: str
    ids: dict[str, int]
    event: EventKey | None
    rows_belong: bool


def variants(world: World, route: EventRoute) -> Iterator[Variant]:
    for key, other in (("a", "b"), ("b", "a")):
        base = world.own[key]
        yield Variant(route.path(base), base, key, True)
        for name in route.row_parameters:
            candidates = (world.own[other][name], world.other[key][name], world.other[other][name])
            for candidate in (*candidates, MISSING_ID):
                ids = {**base, name: candidate}
                yield Variant(route.path(ids), ids, key, world.rows_belong(route, ids))
    ids = {**world.own["a"], "event_id": world.missing_event}
    yield Variant(route.path(ids), ids, None, False)


def body_problems(route: EventRoute, variant: Variant, body: Any) -> Iterator[str]:
    """A 200's rows are those the path names: of its event, its booking, its group…"""
    event_id = variant.ids["event_id"]
    if route.spec is None:  # the stats report
        if body.get("event_id") != event_id:
            yield f"{variant.path}: stats of event {body.get('event_id')}"
        return
    data = body["data"]
    items = data if isinstance(data, list) else [data]
    for item in items:
        if item.get("event_id", event_id) != event_id:
            yield f"{variant.path}: a row of event {item['event_id']}: {item}"
        for name in route.row_parameters:
            if item.get(name, variant.ids[name]) != variant.ids[name]:
                yield f"{variant.path}: {name} {item[name]} in {item}"
    if route.listing == "single" and data["id"] != variant.ids[route.parameters[-1]]:
        yield f"{variant.path}: answered row {data['id']}"


def test_every_event_route_is_guarded_by_its_documented_areas(app: Flask) -> None:
    """The matrix reads the areas from the app, so they must be the documented ones."""
    assert event_routes(app) == ROUTES
    documented = documented_areas()
    problems = []
    for route in ROUTES:
        if not route.areas:
            problems.append(f"{route}: not authorised per event (no areas in its declaration)")
        elif documented.get(rule_shape(route.rule)) != route.areas:
            wanted = documented.get(rule_shape(route.rule))
            problems.append(f"{route}: areas {route.areas}, docs/authentication.md {wanted}")
    report(problems)


def test_row_ids_collide_across_the_two_events(world: World) -> None:
    """The world is useful only if an id of B could pass for an id of A: of each kind of
    row the matrix uses, B's ids fall between A's."""
    for name in ROW_PARENT:
        a = {world.own["a"][name], world.other["a"][name]}
        b = {world.own["b"][name], world.other["b"][name]}
        assert min(a) < min(b) < max(a), (name, a, b)


@pytest.mark.parametrize("kind", KINDS, ids=[kind.name for kind in KINDS])
def test_every_route_answers_each_kind_of_token_as_the_order_of_checks_says(
    world: World, kind: TokenKind
) -> None:
    caller = world.caller(kind)
    problems = []
    for route in ROUTES:
        for variant in variants(world, route):
            wanted = expected_answer(kind, route.areas, variant.event, variant.rows_belong)
            response = caller.get(variant.path)
            got = answer_of(response)
            if got != wanted:
                text = response.get_data(as_text=True)[:200]
                problems.append(f"{variant.path}: wanted {wanted!r}, got {got!r} {text}")
            elif got == 200:
                problems.extend(body_problems(route, variant, response.get_json()))
    problems.extend(events_list_problems(world, kind, caller))
    report(problems)


def events_list_problems(world: World, kind: TokenKind, caller: Caller) -> Iterator[str]:
    """`GET /events` lists exactly the events whose role reads `event`, for every kind."""
    response = caller.get("/events")
    if not kind.can("event.read"):
        if answer_of(response) != "event.read":
            yield f"/events: wanted 403 event.read, got {response.status_code}"
        return
    readable = sorted(world.events[key] for key in ("a", "b") if kind.reads(key, "event"))
    listed = [event["id"] for event in response.get_json()["data"]]
    if listed != readable:
        yield f"/events: listed {listed}, wanted {readable}"


def test_rows_of_another_parent_are_404_even_to_an_admin_of_both_events(world: World) -> None:
    """The matrix's foreign rows are foreign indeed: a row of the other event, and a line
    of another booking of the same event, are 404 to a caller who may read everything."""
    caller = world.caller(next(kind for kind in KINDS if kind.name == "star-token-admin-at-both"))
    line_rule = next(r for r in ROUTES if r.row_parameters == ("booking_id", "line_id"))
    another_bookings_line = {**world.own["a"], "line_id": world.other["a"]["line_id"]}
    assert not world.rows_belong(line_rule, another_bookings_line)
    assert answer_of(caller.get(line_rule.path(another_bookings_line))) == 404
    for route in ROUTES:
        for name in route.row_parameters:
            foreign = {**world.own["a"], name: world.own["b"][name]}
            assert not world.rows_belong(route, foreign), (route, name)
            assert answer_of(caller.get(route.path(foreign))) == 404, (route, name)


def test_the_only_api_routes_without_an_event_are_user_events_and_the_docs(app: Flask) -> None:
    """Beyond the event routes above, /api/v2 serves `/user` (the caller's own row only),
    `/events` (checked for every kind of token above), the API's documentation and its
    index (`/api/v2` itself: links only, the same for everyone)."""
    others = {
        rule.rule.removeprefix(API)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(API) and not rule.rule.startswith(f"{API}/event/")
    }
    assert {rule for rule in others if not rule.startswith("/docs")} == {
        "/events",
        "/user",
        "/openapi.json",
        "",
    }
