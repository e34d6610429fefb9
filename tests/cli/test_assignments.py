"""`flask assignments add / deactivate / list`, and what they change in the API."""

from __future__ import annotations

from flask.testing import FlaskClient

from eventio.db.extensions import db
from eventio.models import EventUser
from tests.cli.conftest import Run
from tests.conftest import bearer
from tests.factories import EventFactory, EventRoleFactory, UserFactory, grant, issue_token


def test_add_and_deactivate_open_and_close_the_event_to_the_user(
    run: Run, client: FlaskClient
) -> None:
    user, event = UserFactory(), EventFactory()
    role_id = run("roles", "create", event.id, "Reader", "--permission", "bookings:read").stdout
    headers = bearer(issue_token(user.id))
    url = f"/api/v2/event/{event.id}/bookings"
    assert client.get(url, headers=headers).status_code == 403

    added = run("assignments", "add", user.id, event.id, role_id)
    assert added.exit_code == 0, added.output
    assignment = db.session.get(EventUser, int(added.stdout))
    assert assignment is not None and assignment.active
    assert client.get(url, headers=headers).status_code == 200

    result = run("assignments", "deactivate", assignment.id)
    assert result.exit_code == 0
    assert f"Deactivated assignment {assignment.id}" in result.output
    assert client.get(url, headers=headers).status_code == 403
    assert "already inactive" in run("assignments", "deactivate", assignment.id).output


def test_add_refuses_a_role_of_another_event(run: Run) -> None:
    user, event, other = UserFactory(), EventFactory(), EventFactory()
    role = EventRoleFactory(event_id=other.id)
    result = run("assignments", "add", user.id, event.id, role.id)
    assert result.exit_code == 1
    assert f"belongs to event {other.id}, not to event {event.id}" in result.output
    assert db.session.query(EventUser).count() == 0


def test_add_refuses_missing_rows(run: Run) -> None:
    user, event = UserFactory(), EventFactory()
    role = EventRoleFactory(event_id=event.id)
    assert "No user with id 999" in run("assignments", "add", 999, event.id, role.id).output
    assert "No event with id 999" in run("assignments", "add", user.id, 999, role.id).output
    assert "No role with id 999" in run("assignments", "add", user.id, event.id, 999).output
    assert db.session.query(EventUser).count() == 0


def test_add_refuses_a_second_active_role_at_the_event(run: Run) -> None:
    user, event = UserFactory(), EventFactory()
    current = grant(user.id, event.id, {"event": "read"})
    role = EventRoleFactory(event_id=event.id)
    result = run("assignments", "add", user.id, event.id, role.id)
    assert result.exit_code == 1
    assert f"already has an active assignment ({current.id})" in result.output


def test_deactivate_refuses_an_unknown_assignment(run: Run) -> None:
    result = run("assignments", "deactivate", 12345)
    assert result.exit_code == 1
    assert "No assignment with id 12345" in result.output


def test_list_filters_by_event_and_user(run: Run) -> None:
    first, second = UserFactory(email="a@example.com"), UserFactory(email="b@example.com")
    event, other = EventFactory(), EventFactory()
    here = grant(first.id, event.id, {"event": "read"})
    gone = grant(second.id, event.id, {"event": "read"}, active=False)
    elsewhere = grant(first.id, other.id, {"event": "read"})

    lines = run("assignments", "list", "--event", event.id).stdout.splitlines()
    assert [line.split()[0] for line in lines] == [str(here.id), str(gone.id)]
    assert "<a@example.com>" in lines[0] and lines[0].endswith("active")
    assert lines[1].endswith("inactive")
    mine = run("assignments", "list", "--user", first.id).stdout.splitlines()
    assert [line.split()[0] for line in mine] == [str(here.id), str(elsewhere.id)]
