"""The caches (stats per event and filter set, large list totals) answer no one they should
not, and never one question with another's numbers (API1 and API3:2023).

Expected numbers are computed here from the rows the world wrote; sales added after the
cache is warm tell a cached answer (old numbers) from a fresh one (new numbers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask

from eventio.db.extensions import db
from tests.api.conftest import collated
from tests.factories import BookingFactory, BookingTicketFactory
from tests.security.conftest import (
    ADMIN,
    KINDS,
    MARK_B,
    EventKey,
    Line,
    TokenKind,
    World,
    answer_of,
    expected_answer,
    report,
)

ADMIN_AT_BOTH = TokenKind("admin-at-both", ("*",), {"a": ADMIN, "b": ADMIN})
Filters = Mapping[str, Any]


def filter_sets(world: World, event: EventKey) -> list[Filters]:
    """The reference's stats parameters, alone and together, including pairs a careless
    cache key would confuse (`ticket=1` and `ticketId=1`, `ticket=adult` and
    `participant_type=adult`)."""
    own = [t.id for t in world.tickets if t.event == world.events[event]]
    foreign = next(t.id for t in world.tickets if t.event != world.events[event])
    return [
        {},
        {"ticketId": own[0]},
        {"ticketId": own[1]},
        {"ticketId": foreign},
        {"ticket": str(own[0])},
        {"ticket": "adult"},
        {"ticket": "ADULT"},
        {"ticket": "pass"},
        {"ticket": MARK_B},
        {"ticket": "%"},
        {"participant_type": "adult"},
        {"participant_type": "child"},
        {"participant_type": "Child"},
        {"ticket": "pass", "participant_type": "child"},
        {"ticketId": own[0], "participant_type": "child"},
        {"ticketId": own[0], "ticket": "adult"},
    ]


def expected_stats(world: World, event: EventKey, filters: Filters) -> dict[str, Any]:
    """The report as behaviour.md defines it, computed from the world's rows."""
    event_id = world.events[event]
    tickets = [
        t
        for t in world.tickets
        if t.event == event_id
        and filters.get("ticketId", t.id) == t.id
        and str(filters.get("ticket", "")).lower() in t.title.lower()
        and collated(filters.get("participant_type", t.participant_type))
        == collated(t.participant_type)
    ]

    def sold(ticket: int, status: str) -> int:
        return sum(
            line.qty
            for line in world.lines
            if line.ticket == ticket and line.status == status and line.booking_event == event_id
        )

    stats = [
        {
            "id": t.id,
            "participant_type": t.participant_type,
            "title": t.title,
            "total_confirmed_tickets_sold": sold(t.id, "confirmed"),
            "total_provisional_tickets_sold": sold(t.id, "provisional"),
        }
        for t in tickets
    ]
    confirmed = sum(s["total_confirmed_tickets_sold"] for s in stats)
    provisional = sum(s["total_provisional_tickets_sold"] for s in stats)
    return {
        "event_id": event_id,
        "stats": stats,
        "total_confirmed": confirmed,
        "total_provisional": confirmed + provisional,
    }


def stats_path(world: World, event: EventKey, filters: Filters, *flags: str) -> str:
    query = urlencode(filters) + "".join(f"&{flag}" for flag in flags)
    return f"/event/{world.events[event]}/stats?{query.lstrip('&')}"


def numbers(body: dict[str, Any]) -> dict[str, Any]:
    return {key: body[key] for key in ("event_id", "stats", "total_confirmed", "total_provisional")}


def sell_more(world: World) -> None:
    """A confirmed and a provisional booking more at each event, on every ticket."""
    for event_id in world.events.values():
        for status, qty in (("confirmed", 100), ("provisional", 1000)):
            booking = BookingFactory(event_id=event_id, status=status)
            for ticket in (t for t in world.tickets if t.event == event_id):
                line = BookingTicketFactory(booking_id=booking.id, ticket_id=ticket.id, qty=qty)
                world.lines.append(Line(line.id, event_id, status, ticket.id, qty))
    db.session.commit()


def test_each_filter_set_is_cached_apart_with_its_own_numbers(world: World) -> None:
    """Warm every filter set of both events, sell more, then each cached answer still
    holds its own old numbers, `no-cache` the new ones, and the cache is refreshed."""
    caller = world.caller(ADMIN_AT_BOTH)
    cases = [(event, filters) for event in ("a", "b") for filters in filter_sets(world, event)]
    problems = []

    def check(event: EventKey, filters: Filters, *flags: str, wanted: dict[str, Any]) -> None:
        path = stats_path(world, event, filters, *flags)
        response = caller.get(path)
        if response.status_code != 200:
            problems.append(f"{path}: {response.status_code}")
        elif numbers(response.get_json()) != wanted:
            problems.append(f"{path}: {numbers(response.get_json())}, wanted {wanted}")

    before = {(e, repr(f)): expected_stats(world, e, f) for e, f in cases}
    for event, filters in cases:
        check(event, filters, wanted=before[event, repr(filters)])
    sell_more(world)
    after = {(e, repr(f)): expected_stats(world, e, f) for e, f in cases}
    # Every filter set that shows a ticket can tell a cached answer from a fresh one.
    assert all(before[key] != after[key] for key in before if before[key]["stats"])
    for event, filters in cases:
        check(event, filters, wanted=before[event, repr(filters)])
    for event, filters in cases:
        check(event, filters, "no-cache", wanted=after[event, repr(filters)])
        check(event, filters, wanted=after[event, repr(filters)])
    report(problems)


def test_the_numbers_leave_out_rows_linked_oddly_to_the_other_event(world: World) -> None:
    """A line of a booking of A on a ticket of B, and of B on a ticket of A, count nowhere."""
    caller = world.caller(ADMIN_AT_BOTH)
    ticket_event = {ticket.id: ticket.event for ticket in world.tickets}
    odd = [line for line in world.lines if ticket_event[line.ticket] != line.booking_event]
    assert {line.booking_event for line in odd} == set(world.events.values())
    for event in ("a", "b"):
        event_id = world.events[event]
        body = caller.get(stats_path(world, event, {})).get_json()
        assert numbers(body) == expected_stats(world, event, {})
        assert body["total_confirmed"] == sum(
            line.qty
            for line in world.lines
            if line.booking_event == event_id
            and line.status == "confirmed"
            and ticket_event[line.ticket] == event_id
        )


@pytest.mark.parametrize("kind", KINDS, ids=[kind.name for kind in KINDS])
def test_a_warm_cache_answers_only_whom_the_order_of_checks_lets_in(
    world: World, kind: TokenKind
) -> None:
    """Stats of both events are cached by an admin; every kind of token then asks for
    them (and with the cached ETag): the answer is the model's, and a refused caller
    gets the error body, never the numbers nor a 304 for them."""
    admin = world.caller(ADMIN_AT_BOTH)
    cached = {}
    for event in ("a", "b"):
        for filters in filter_sets(world, event)[:4]:
            path = stats_path(world, event, filters)
            response = admin.get(path)
            assert response.status_code == 200
            cached[path] = (event, response.headers.get("ETag"))
    caller = world.caller(kind)
    problems = []
    for path, (event, etag) in cached.items():
        wanted = expected_answer(kind, ("event",), event, True)
        for headers in ({}, {"If-None-Match": etag or '"none"'}):
            response = caller.get(path, headers)
            if wanted == 200 and response.status_code in (200, 304):
                continue
            got = answer_of(response)
            if got != wanted:
                problems.append(f"{path} {headers}: wanted {wanted!r}, got {got!r}")
    missing = f"/event/{world.missing_event}/stats"
    if answer_of(caller.get(missing)) != expected_answer(kind, ("event",), None, False):
        problems.append(f"{missing}: {caller.get(missing).status_code}")
    report(problems)


def test_large_list_totals_are_cached_per_caller_and_filter(
    app: Flask, monkeypatch: pytest.MonkeyPatch, world: World
) -> None:
    """The list total cache (COUNT_CACHE_MIN_ROWS and up) never gives one caller's or one
    filter's total to another: /events differs by caller, bookings by filter."""
    monkeypatch.setitem(app.config, "COUNT_CACHE_MIN_ROWS", 1)
    both = world.caller(ADMIN_AT_BOTH)
    only_a = world.caller(TokenKind("admin-at-a", ("*",), {"a": ADMIN}))
    a = world.events["a"]
    statuses = [status for event, status in world.bookings.values() if event == a]
    active = [status for status in statuses if status != "cancelled"]
    queries = {
        "": len(active),
        "filter[status]=confirmed": active.count("confirmed"),
        "filter[status]=cancelled": 0,
        "include_cancelled=1": len(statuses),
        "include_cancelled=1&filter[status]=cancelled": statuses.count("cancelled"),
        "include_cancelled=1&filter[status]=confirmed,cancelled": statuses.count("confirmed") + 1,
    }
    problems = []
    for _ in range(2):  # the second round answers from the cache
        for caller, wanted in ((both, 2), (only_a, 1)):
            total = caller.get("/events").get_json()["meta"]["total"]
            if total != wanted:
                problems.append(f"/events: total {total}, wanted {wanted}")
        for query, wanted in queries.items():
            body = both.get(f"/event/{a}/bookings?{query}&page=2&per_page=1").get_json()
            if body["meta"]["total"] != wanted:
                problems.append(f"bookings?{query}: total {body['meta']['total']}, want {wanted}")
    report(problems)
