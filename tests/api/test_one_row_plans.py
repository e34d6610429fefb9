"""One row by key: its statement is built once per shape and run with each request's ids."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from eventio.api import one_row, resources
from eventio.api.listing import within_path_event
from eventio.auth.permissions import EventAccess
from eventio.db.extensions import db
from eventio.http.state import state
from tests.api.conftest import Caller, assert_error, booking_at
from tests.conftest import ALL_AREAS, StatementCounter, bearer
from tests.factories import (
    EventFactory,
    UserFactory,
    grant,
    issue_token,
)

INCLUDE = {"include": "tickets,group.customer"}


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The statements of one row built while the test runs (the view called, joins made)."""
    built: list[str] = []
    original = one_row.OneRowPlans._build

    def counting(self: one_row.OneRowPlans, *args: Any) -> one_row.OneRowPlan:
        built.append(self.view.__name__)
        return original(self, *args)

    monkeypatch.setattr(one_row.OneRowPlans, "_build", counting)
    yield built


def test_each_booking_of_one_shape_is_served_by_one_statement_built_once(
    api: Caller, builds: list[str]
) -> None:
    bookings = [booking_at(api.event_id) for _ in range(3)]
    db.session.commit()
    for booking in bookings:
        one = api.data(f"/event/{api.event_id}/bookings/{booking}", INCLUDE)
        # The ids are bound at execution, never kept from the request that built it.
        assert one["id"] == booking
        assert [line["booking_id"] for line in one["tickets"]] == [booking]
        assert one["group"]["id"] == one["group_id"]
    assert builds == ["show_booking"]
    # Another shape is another statement; the same shape again is none.
    api.data(f"/event/{api.event_id}/bookings/{bookings[0]}", {"include": "group"})
    api.data(f"/event/{api.event_id}/bookings/{bookings[1]}", {"include": "group"})
    assert builds == ["show_booking", "show_booking"]


def test_a_statement_built_for_one_event_never_serves_another(
    api: Caller, builds: list[str]
) -> None:
    other = EventFactory().id
    grant(api.user_id, other, dict.fromkeys(ALL_AREAS, "admin"))
    here, there = booking_at(api.event_id), booking_at(other)
    db.session.commit()
    assert api.data(f"/event/{api.event_id}/bookings/{here}", INCLUDE)["id"] == here
    # The same booking id under the other event's path is not found there, and back.
    assert_error(api.get(f"/event/{other}/bookings/{here}", INCLUDE), 404)
    assert api.data(f"/event/{other}/bookings/{there}", INCLUDE)["event_id"] == other
    assert_error(api.get(f"/event/{api.event_id}/bookings/{there}", INCLUDE), 404)
    assert builds == ["show_booking", "show_booking"]


def test_includes_are_authorised_on_every_request_whoever_built_the_statement(
    api: Caller, client: FlaskClient, builds: list[str]
) -> None:
    """A caller without the customers area is refused the include the manager's request
    built a statement for, and is served the same shape without it."""
    booking = booking_at(api.event_id)
    clerk = UserFactory().id
    grant(clerk, api.event_id, {"bookings": "read", "groups": "read"})
    headers = bearer(issue_token(clerk))
    db.session.commit()
    path = f"/api/v2/event/{api.event_id}/bookings/{booking}"
    assert api.data(path.removeprefix("/api/v2"), INCLUDE)["group"]["customer"]
    refused = client.get(path, query_string=INCLUDE, headers=headers)
    assert_error(refused, 403)
    served = client.get(path, query_string={"include": "tickets,group"}, headers=headers)
    assert served.status_code == 200, served.get_data(as_text=True)
    assert "customer" not in served.get_json()["data"]["group"]


def test_an_invalid_include_is_refused_every_time_and_keeps_nothing(
    api: Caller, booking: int, builds: list[str]
) -> None:
    path = f"/event/{api.event_id}/bookings/{booking}"
    for _ in range(2):
        assert_error(api.get(path, "include=nope"), 422)
    assert builds == ["show_booking", "show_booking"]  # tried each time, kept never
    assert api.data(path, INCLUDE)["id"] == booking


def test_one_row_still_costs_the_token_and_its_own_statements(
    api: Caller, booking: int, count_statements: StatementCounter
) -> None:
    api.ok("/user")  # writes last_used_at, once a minute
    path = f"/event/{api.event_id}/bookings/{booking}"
    for _ in range(2):
        before = count_statements.count
        api.ok(path, INCLUDE)
        assert count_statements.count - before == 3


def test_an_event_condition_is_one_object_per_table_and_event(app: Flask) -> None:
    """Statements that reuse it find its cache key already derived; another event's is
    another condition."""
    relation = resources.bookings.relations["group"]
    conditions = []
    for event_id in (7, 7, 8):
        with app.test_request_context():
            state().event_access = EventAccess(event_id=event_id, event_name="x")
            conditions.append(within_path_event(relation))
    first, again, other = conditions
    assert first is again
    assert other is not first
    assert [b.value for b in other[0]._generate_cache_key().bindparams] == [8]
