"""`/user`: the caller, and the caller's role at `eventId`."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.api.conftest import Caller, assert_error
from tests.conftest import bearer
from tests.factories import EventFactory, EventRoleFactory, UserFactory, grant, issue_token


def test_user_shows_the_token_owner_without_an_event_role(api: Caller) -> None:
    body = api.ok("/user")
    assert body["data"]["id"] == api.user_id
    assert set(body["data"]) >= {"id", "name", "email"}
    assert "event_role" not in body


def test_user_with_event_id_shows_the_active_role_there(api: Caller) -> None:
    body = api.ok("/user", {"eventId": api.event_id})
    role = body["event_role"]
    assert isinstance(role, dict) and set(role) >= {"id", "title"}
    assert role["title"].startswith("Role ")


def test_user_event_role_is_that_of_the_event_asked_for(client: FlaskClient) -> None:
    user = UserFactory(name="John Doe", email="john@example.com")
    first, second = EventFactory(), EventFactory()
    grant(user.id, first.id, {"event": "read"})
    assignment = grant(user.id, second.id, {"event": "admin"})
    caller = Caller(client, bearer(issue_token(user.id)), second.id, user.id)
    role = caller.ok("/user", {"eventId": second.id})["event_role"]
    assert role["id"] == assignment.event_role_id


def test_user_event_role_is_null_for_an_inactive_assignment(client: FlaskClient) -> None:
    user = UserFactory()
    event = EventFactory()
    grant(user.id, event.id, {"event": "admin"}, active=False)
    caller = Caller(client, bearer(issue_token(user.id)), event.id, user.id)
    assert caller.ok("/user", {"eventId": event.id})["event_role"] is None


def test_user_event_role_is_null_at_an_event_without_assignment(api: Caller) -> None:
    elsewhere = EventFactory()
    EventRoleFactory(event_id=elsewhere.id)
    assert api.ok("/user", {"eventId": elsewhere.id})["event_role"] is None
    assert api.ok("/user", {"eventId": 987654})["event_role"] is None


@pytest.mark.parametrize(
    "value", ["abc", "0", "-1", "1.5", "", "99999999999999999999", "9223372036854775808"]
)
def test_user_refuses_an_event_id_that_is_not_a_positive_bigint(api: Caller, value: str) -> None:
    body = assert_error(api.get("/user", {"eventId": value}), 422)
    assert "eventId" in body["errors"]
