"""The stats cache is read only after authorisation: a warm cache never reaches a refused caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.test import TestResponse

from eventio.db.extensions import db
from tests.auth.conftest import (
    ADMIN_EVERYWHERE,
    Caller,
    MakeCaller,
    World,
    answers_as,
    ok,
    saved,
)
from tests.factories import EventRoleFactory, EventUserFactory, PermissionFactory

QUERIES = ["", "?participant_type=adult", "?no-cache"]


def cross_event_role(make_caller: MakeCaller, world: World) -> Caller:
    """Assigned at `a` to an admin role of `b`."""
    caller = make_caller(["*"])
    role = saved(EventRoleFactory, event_id=world.b.event)
    saved(PermissionFactory, event_role_id=role.id, area="event", permission="admin")
    saved(EventUserFactory, user_id=caller.user_id, event_id=world.a.event, event_role_id=role.id)
    db.session.commit()
    return caller


REFUSED: list[tuple[str, Callable[[MakeCaller, World], Caller], str]] = [
    ("no-ability", lambda make, w: make([], {w.a.event: ADMIN_EVERYWHERE}), "event.read"),
    (
        "other-abilities",
        lambda make, w: make(["bookings.read", "event.write"], {w.a.event: ADMIN_EVERYWHERE}),
        "event.read",
    ),
    ("no-area", lambda make, w: make(["*"], {w.a.event: {"bookings": "admin"}}), "event"),
    (
        "inactive",
        lambda make, w: make(["*"], {w.a.event: ADMIN_EVERYWHERE}, active=False),
        "event",
    ),
    ("role-at-another-event", lambda make, w: make(["*"], {w.b.event: ADMIN_EVERYWHERE}), "event"),
    ("role-of-another-event", cross_event_role, "event"),
]


@pytest.fixture
def warm(make_caller: MakeCaller, world: World) -> dict[str, TestResponse]:
    """Event `a`'s stats, for each query, cached by an authorised caller (a second ask hits)."""
    manager = make_caller(["*"], {world.a.event: ADMIN_EVERYWHERE})
    warmed = {}
    for query in QUERIES:
        path = f"/event/{world.a.event}/stats{query}"
        first = manager.get(path.replace("?no-cache", ""))
        ok(first)
        assert (
            ok(manager.get(path.replace("?no-cache", "")))["generated_at"]
            == ok(first)["generated_at"]
        )
        warmed[path] = first
    return warmed


def refused_body(response: TestResponse, expected: int | str) -> dict[str, Any]:
    assert answers_as(response, expected), (response.status_code, response.get_data())
    body = response.get_json()
    assert isinstance(body, dict) and set(body) == {"message"}, body
    return body


@pytest.mark.parametrize(("name", "make", "missing"), REFUSED, ids=[n for n, _, _ in REFUSED])
def test_a_refused_caller_never_gets_the_cached_stats(
    make_caller: MakeCaller,
    world: World,
    warm: dict[str, TestResponse],
    name: str,
    make: Callable[[MakeCaller, World], Caller],
    missing: str,
) -> None:
    caller = make(make_caller, world)
    for path, cached in warm.items():
        refused_body(caller.get(path), missing)
        # Not even as a 304 for the cached answer's ETag.
        etag = cached.headers.get("ETag")
        if etag:
            refused_body(caller.get(path, {"If-None-Match": etag}), missing)


def test_a_missing_event_is_404_whatever_is_cached(
    make_caller: MakeCaller, world: World, warm: dict[str, TestResponse]
) -> None:
    caller = make_caller(["*"], {world.a.event: ADMIN_EVERYWHERE})
    missing = world.b.event + 1000
    for path in warm:
        refused_body(
            caller.get(path.replace(f"/event/{world.a.event}/", f"/event/{missing}/")), 404
        )


def test_another_event_gets_its_own_stats_not_the_cached_ones(
    make_caller: MakeCaller, world: World, warm: dict[str, TestResponse]
) -> None:
    caller = make_caller(["*"], {world.b.event: {"event": "read"}})
    body = ok(caller.get(f"/event/{world.b.event}/stats"))
    assert body["event_id"] == world.b.event
    assert [row["id"] for row in body["stats"]] == [world.b.ticket]
