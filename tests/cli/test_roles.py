"""`flask roles create` and its `--permission AREA:LEVEL` option."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from eventio.db.extensions import db
from eventio.models import EventRole, EventRolePermission
from tests.cli.conftest import Run
from tests.factories import EventFactory


def test_create_prints_the_role_id_and_stores_its_permissions(run: Run) -> None:
    event = EventFactory()
    result = run(
        "roles",
        "create",
        event.id,
        "Box Office",
        "--permission",
        "bookings:write",
        "--permission",
        "customers:read",
    )
    assert result.exit_code == 0, result.output
    role = db.session.get(EventRole, int(result.stdout))
    assert role is not None and (role.event_id, role.title) == (event.id, "Box Office")
    held = db.session.execute(
        select(EventRolePermission.area, EventRolePermission.permission)
        .where(EventRolePermission.event_role_id == role.id)
        .order_by(EventRolePermission.area)
    ).all()
    assert [tuple(row) for row in held] == [("bookings", "write"), ("customers", "read")]


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("bookings", "is not AREA:LEVEL"),
        ("tickets:read", "unknown area 'tickets'"),
        ("bookings:owner", "unknown level 'owner'"),
        ("bookings:", "unknown level ''"),
    ],
)
def test_create_refuses_a_permission_outside_the_model(
    run: Run, value: str, complaint: str
) -> None:
    event = EventFactory()
    result = run("roles", "create", event.id, "Bad", "--permission", value)
    assert result.exit_code == 2
    assert complaint in result.output
    assert db.session.query(EventRole).count() == 0


def test_create_refuses_an_area_given_twice(run: Run) -> None:
    event = EventFactory()
    result = run(
        "roles",
        "create",
        event.id,
        "Twice",
        "--permission",
        "bookings:read",
        "--permission",
        "bookings:admin",
    )
    assert result.exit_code == 2
    assert "given twice: bookings" in result.output


def test_create_refuses_an_unknown_event(run: Run) -> None:
    result = run("roles", "create", 404, "Ghost", "--permission", "event:read")
    assert result.exit_code == 1
    assert "No event with id 404" in result.output
