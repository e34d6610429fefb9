"""API3:2023 Broken Object Property Level Authorization: includes, counts, sparse fields,
exports and cursors never show an area the caller may not read, nor a row of another event.

The includes of every route are read from the app's own declarations (`query_spec`), so
an include added later is checked here too; the areas they reach are held against
docs/authentication.md's "Include permissions" table.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import TestResponse

from eventio.querybuilder.builder import COUNT_SUFFIX
from eventio.querybuilder.resource import Resource
from tests.security.conftest import (
    ADMIN,
    AREAS,
    MARK_B,
    READ,
    ROUTES,
    Caller,
    EventRoute,
    TokenKind,
    World,
    ability,
    answer_of,
    report,
    rule_shape,
    walk,
)

ADMIN_AT_BOTH = TokenKind("admin-at-both", ("*",), {"a": ADMIN, "b": ADMIN})
LISTS = [route for route in ROUTES if route.listing == "paginated"]
QUERIED = [route for route in ROUTES if route.spec is not None]
EXPORTS = ("csv", "ndjson")


def every_include(route: EventRoute) -> list[str]:
    assert route.spec is not None
    return [*route.spec.allowed_includes, *route.spec.count_includes]


def reached_areas(resource: Resource, include: str) -> list[str]:
    """The areas of the rows an include (or a count include) reaches, in path order."""
    areas = []
    for name in include.removesuffix(COUNT_SUFFIX).split("."):
        resource = resource.relations[name].target
        areas.append(resource.area)
    return list(dict.fromkeys(areas))


def extra_areas(route: EventRoute, include: str) -> list[str]:
    assert route.spec is not None
    return [a for a in reached_areas(route.spec.resource, include) if a not in route.areas]


def documented_include_areas() -> dict[tuple[str, str], tuple[str, ...]]:
    """docs/authentication.md's "Include permissions" table: (endpoint, include) -> areas."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "authentication.md"
    text = docs.read_text().split("### Include permissions", 1)[1].split("\n\n**", 1)[0]
    table: dict[tuple[str, str], tuple[str, ...]] = {}
    endpoint = ""
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[1].startswith("`"):
            continue
        if cells[0]:
            endpoint = re.sub(r"\{\w+\}", "<id>", cells[0].strip("`"))
        for include in re.findall(r"`([^`]+)`", cells[1]):
            table[(endpoint, include)] = tuple(re.findall(r"`(\w+)`", cells[2]))
    return table


def documented_endpoint(route: EventRoute, documented: set[str]) -> str:
    """The table's row for a route: its own, or its list's for a single resource."""
    shape = rule_shape(route.rule)
    return shape if shape in documented else shape.removesuffix("/<id>")


def route_areas_only(route: EventRoute) -> TokenKind:
    """A caller holding exactly the route's areas at event A, ability and role."""
    abilities = tuple(ability(area) for area in route.areas)
    return TokenKind("route-areas-only", abilities, {"a": dict.fromkeys(route.areas, "read")})


# --- Areas reached by includes -----------------------------------------------------------


def test_every_include_reaching_another_area_is_the_documented_one() -> None:
    documented = documented_include_areas()
    endpoints = {endpoint for endpoint, _ in documented}
    problems = []
    for route in QUERIED:
        endpoint = documented_endpoint(route, endpoints)
        for include in every_include(route):
            extra = tuple(extra_areas(route, include))
            wanted = documented.get((endpoint, include), ())
            if set(extra) != set(wanted):
                problems.append(f"{route} include={include}: reaches {extra}, documented {wanted}")
    report(problems)


@pytest.mark.parametrize("route", QUERIED, ids=str)
def test_an_include_reaching_an_area_the_caller_lacks_is_403_in_every_format(
    world: World, route: EventRoute
) -> None:
    """A caller holding exactly the route's areas asks for each include and count include
    alone: 200 when it stays in those areas, otherwise a 403 naming the
    first area it reaches beyond them; exports answer the same, never a partial stream."""
    caller = world.caller(route_areas_only(route))
    formats = ("json", *EXPORTS) if route.listing == "paginated" else ("json",)
    problems = []
    for include in every_include(route):
        extra = extra_areas(route, include)
        wanted = ability(extra[0]) if extra else 200
        for chosen in formats:
            path = f"{route.path(world.own['a'])}?include={include}&format={chosen}"
            got = answer_of(caller.get(path))  # a refused export is the JSON error body
            if got != wanted:
                problems.append(f"{path}: wanted {wanted!r}, got {got!r}")
    report(problems)


@pytest.mark.parametrize("area", AREAS)
def test_a_role_without_an_area_hides_it_from_every_include_and_count(
    world: World, area: str
) -> None:
    """With every ability but a role lacking `area`, any include reaching it is a 403
    naming the area (not a silently empty relation that would still say it exists)."""
    kind = TokenKind("role-without-" + area, ("*",), {"a": {a: "read" for a in AREAS if a != area}})
    caller = world.caller(kind)
    problems = []
    for route in QUERIED:
        if area in route.areas:
            continue
        for include in every_include(route):
            if area not in extra_areas(route, include):
                continue
            path = f"{route.path(world.own['a'])}?include={include}"
            got = answer_of(caller.get(path))
            if got != area:
                problems.append(f"{path}: wanted 403 naming {area!r}, got {got!r}")
    report(problems)


# --- Sparse fields ------------------------------------------------------------------------


def own_keys(route: EventRoute) -> set[str]:
    assert route.spec is not None
    return set(route.spec.resource.field_names)


@pytest.mark.parametrize("route", QUERIED, ids=str)
def test_sparse_fields_of_another_type_never_add_a_relation(
    world: World, route: EventRoute
) -> None:
    """`fields[customers]=email_address` narrows included customers; without the include
    it adds nothing, whatever the caller may read."""
    assert route.spec is not None
    caller = world.caller(route_areas_only(route))
    resource = route.spec.resource
    reachable = {
        relation.target.type: relation.target
        for include in route.spec.allowed_includes
        for relation in relations_of(resource, include)
    }
    problems = []
    for type_name, target in reachable.items():
        if type_name == resource.type:
            continue
        path = f"{route.path(world.own['a'])}?fields[{type_name}]={','.join(target.field_names)}"
        response = caller.get(path)
        if response.status_code != 200:
            problems.append(f"{path}: {response.status_code}")
            continue
        data = response.get_json()["data"]
        for item in data if isinstance(data, list) else [data]:
            if not set(item) <= own_keys(route):
                problems.append(f"{path}: keys {sorted(set(item) - own_keys(route))}")
    report(problems)


def relations_of(resource: Resource, include: str) -> Iterator[Any]:
    for name in include.split("."):
        relation = resource.relations[name]
        yield relation
        resource = relation.target


def test_sparse_fields_of_an_area_refused_for_an_include_do_not_reopen_it(world: World) -> None:
    """Groups but not customers: the `group` include is served, and asking for customer
    fields on top neither adds a customer nor turns `group.customer` into a 200."""
    caller = world.caller(
        TokenKind("bookings-and-groups", ("bookings.read", "groups.read"), {"a": READ})
    )
    base = f"/event/{world.events['a']}/bookings"
    fields = "fields[customers]=id,full_name,email_address"
    body = caller.get(f"{base}?include=group&{fields}").get_json()
    assert any(item["group"] for item in body["data"]), body
    assert all({"customer", "email_address"}.isdisjoint(row) for row in walk(body["data"]))
    assert answer_of(caller.get(f"{base}?include=group.customer&{fields}")) == "customers.read"
    assert answer_of(caller.get(f"{base}?include=group.customer&fields[groups]=id")) == (
        "customers.read"
    )


# --- Rows of another event ----------------------------------------------------------------


def belonging_paths(world: World, route: EventRoute) -> Iterator[str]:
    """The route's path for every row of event A its last parameter can name."""
    ids = world.own["a"]
    if not route.row_parameters:
        yield route.path(ids)
        return
    last = route.parameters[-1]
    parent = route.parameters[-2]
    for row_id, owners in world.owners[last].items():
        for owner in owners:
            candidate = {**ids, last: row_id, parent: owner}
            under_a = parent != "event_id" or owner == ids[parent]
            if under_a and world.rows_belong(route, candidate):
                yield route.path(candidate)


def rows_in(resource: Resource, node: Any) -> Iterator[tuple[str, int]]:
    """(table, id) of every row in a serialised item and its includes, typed by relation."""
    for item in node if isinstance(node, list) else [node]:
        if not isinstance(item, dict):
            continue
        if "id" in item:
            yield resource.type, item["id"]
        for name, relation in resource.relations.items():
            if name in item:
                yield from rows_in(relation.target, item[name])


def leaks(world: World, route: EventRoute, path: str, response: TestResponse) -> Iterator[str]:
    """What a 200 under event A must not hold: text of event B's rows, a token secret,
    or (by table and id) a row only event B reaches."""
    if response.status_code != 200:
        yield f"{path}: {response.status_code} {response.get_data(as_text=True)[:200]}"
        return
    text = response.get_data(as_text=True)
    if MARK_B in text:
        found = re.findall(rf"[^,{{}}\n]*{MARK_B}[^,{{}}\n]*", text)
        yield f"{path}: text of event B: {found[:3]}"
    if any(secret in text for secret in world.secrets):
        yield f"{path}: a token secret"
    if route.spec is None:
        return
    resource = route.spec.resource
    if response.mimetype == "text/csv":
        items: Any = [{"id": int(row["id"])} for row in csv.DictReader(io.StringIO(text))]
    elif response.mimetype == "application/x-ndjson":
        items = [json.loads(line) for line in text.splitlines()]
    else:
        items = response.get_json()["data"]
    for table, row_id in rows_in(resource, items):
        if row_id in world.only_b.get(table, set()):
            yield f"{path}: {table} {row_id}, a row of event B"


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_no_answer_under_an_event_holds_a_row_of_the_other_event(
    world: World, route: EventRoute
) -> None:
    """An admin of both events asks every row of event A with every include and count at
    once: rows linked oddly across the events (a line of A on a ticket of B, a booking of
    A in a group of B, an assignment at A to a role of B…) must not pull B in."""
    caller = world.caller(ADMIN_AT_BOTH)
    query = ""
    if route.spec is not None:
        query = f"?include={','.join(every_include(route))}"
        if route.listing == "paginated":
            query += "&include_cancelled=1&per_page=1000"
    problems = []
    for path in belonging_paths(world, route):
        problems.extend(leaks(world, route, path + query, caller.get(path + query)))
        if route.listing == "paginated":
            for chosen in EXPORTS:
                exported = f"{path}{query}&format={chosen}"
                problems.extend(leaks(world, route, exported, caller.get(exported)))
    report(problems)


def test_events_carry_bookings_and_counts_only_where_the_caller_reads_bookings(
    world: World,
) -> None:
    """`/events` never answers 403 for an include: it empties the bookings (and zeroes
    their count) of each event where the token or the role does not read bookings."""
    bookings_at_a_only = {"a": {"event": "read", "bookings": "read"}, "b": {"event": "read"}}
    cases: list[tuple[TokenKind, set[str]]] = [
        (TokenKind("bookings-at-a", ("*",), bookings_at_a_only), {"a"}),
        (TokenKind("no-bookings-ability", ("event.read",), {"a": ADMIN, "b": ADMIN}), set()),
        (TokenKind("bookings-ability-at-both", ("*",), {"a": ADMIN, "b": ADMIN}), {"a", "b"}),
    ]
    problems = []
    for kind, readable in cases:
        caller = world.caller(kind)
        for chosen in ("json", "ndjson"):
            path = f"/events?include=bookings,bookingsCount&include_cancelled=1&format={chosen}"
            for event in listed(caller, path):
                key = world.event_key(event["id"])
                assert key is not None
                shows = bool(event["bookings"]) or event["bookings_count"] > 0
                if shows != (key in readable):
                    problems.append(f"{kind.name} {chosen}: event {key} {event['bookings_count']}")
                if any(b["event_id"] != event["id"] for b in event["bookings"]):
                    problems.append(f"{kind.name} {chosen}: bookings of another event")
    report(problems)


def listed(caller: Caller, path: str) -> list[dict[str, Any]]:
    response = caller.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    if response.mimetype == "application/x-ndjson":
        return [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    return list(response.get_json()["data"])


# --- Cursors -------------------------------------------------------------------------------


def first_cursor(caller: Caller, path: str) -> str:
    body = caller.get(f"{path}&cursor=&per_page=1").get_json()
    cursor = body["meta"]["next_cursor"]
    assert cursor, body
    return str(cursor)


def test_a_cursor_replayed_on_another_event_shows_only_that_events_rows(world: World) -> None:
    caller = world.caller(ADMIN_AT_BOTH)
    a, b = world.events["a"], world.events["b"]
    cursor = first_cursor(caller, f"/event/{a}/bookings?sort=id")
    response = caller.get(f"/event/{b}/bookings?sort=id&per_page=100&cursor={cursor}")
    if response.status_code == 200:
        assert {row["event_id"] for row in response.get_json()["data"]} <= {b}
    else:
        assert answer_of(response) == 422


def test_a_cursor_replayed_with_another_filter_shows_only_rows_of_that_filter(
    world: World,
) -> None:
    caller = world.caller(ADMIN_AT_BOTH)
    a = world.events["a"]
    cursor = first_cursor(caller, f"/event/{a}/bookings?sort=id&filter[status]=confirmed")
    path = f"/event/{a}/bookings?sort=id&filter[status]=provisional&per_page=100&cursor={cursor}"
    response = caller.get(path)
    if response.status_code == 200:
        assert {row["status"] for row in response.get_json()["data"]} <= {"provisional"}
    else:
        assert answer_of(response) == 422


def test_a_cursor_replayed_by_another_token_is_authorised_afresh(world: World) -> None:
    """A cursor is no capability: a token without access to the event is refused as
    without it, and one with access sees exactly what it would see anyway."""
    minted_by = world.caller(ADMIN_AT_BOTH)
    a = world.events["a"]
    cursor = first_cursor(minted_by, f"/event/{a}/bookings?sort=id")
    outsider = world.caller(TokenKind("admin-at-b", ("*",), {"b": ADMIN}))
    assert answer_of(outsider.get(f"/event/{a}/bookings?sort=id&cursor={cursor}")) == "bookings"
    reader = world.caller(TokenKind("read-at-a", ("bookings.read",), {"a": READ}))
    replayed = reader.get(f"/event/{a}/bookings?sort=id&per_page=1&cursor={cursor}")
    original = minted_by.get(f"/event/{a}/bookings?sort=id&per_page=1&cursor={cursor}")
    assert replayed.get_json()["data"] == original.get_json()["data"]
