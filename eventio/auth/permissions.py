"""Per-event role permissions: read < write < admin, and "write implies read"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, select, true
from sqlalchemy.sql.elements import ColumnElement

from eventio.models import Event, EventRole, EventRolePermission, EventUser

AREAS = ("event", "bookings", "groups", "customers", "roles", "users")
LEVELS = {"read": 1, "write": 2, "admin": 3}


def ability(area: str, level: str = "read") -> str:
    """The token ability an area needs: `bookings.read`."""
    return f"{area}.{level}"


def granted_levels(permissions: Iterable[str]) -> list[str]:
    """A held permission grants itself and every level below it."""
    held = max((LEVELS.get(p, 0) for p in permissions), default=0)
    return [name for name, rank in LEVELS.items() if rank <= held]


def levels_granting(level: str) -> list[str]:
    """The permissions that satisfy `level`: `read` is granted by read, write and admin."""
    return [name for name, rank in LEVELS.items() if rank >= LEVELS[level]]


@dataclass(frozen=True)
class EventAccess:
    """What one user may do at one event, from their active assignment's role."""

    event_id: int
    event_name: str
    ranks: dict[str, int] = field(default_factory=dict)

    def allows(self, area: str, level: str = "read") -> bool:
        return self.ranks.get(area, 0) >= LEVELS[level]


def active_assignment(user_id: int) -> ColumnElement[bool]:
    """The user's active assignment to an event, with a role of that same event."""
    return and_(
        EventUser.user_id == user_id,
        EventUser.active == true(),
        EventRole.id == EventUser.event_role_id,
        EventRole.event_id == EventUser.event_id,
    )


def assignments_at(event_id: Any) -> Any:
    """Every active assignment's permissions at one event, by user."""
    return (
        select(
            EventUser.user_id,
            EventUser.event_id,
            EventRolePermission.area,
            EventRolePermission.permission,
        )
        .join(
            EventRole,
            and_(
                EventUser.active == true(),
                EventRole.id == EventUser.event_role_id,
                EventRole.event_id == EventUser.event_id,
            ),
        )
        .join(EventRolePermission, EventRolePermission.event_role_id == EventRole.id)
        .where(EventUser.event_id == event_id)
        .subquery()
    )


def event_access_statement(event_id: int, user_id: int) -> Select[Any]:
    """The event and the user's permissions there, in one statement (no row: no event)."""
    held = assignments_at(event_id)
    return (
        select(
            Event.id.label("event_id"),
            Event.name.label("event_name"),
            held.c.area,
            held.c.permission,
        )
        .outerjoin(held, and_(held.c.event_id == Event.id, held.c.user_id == user_id))
        .where(Event.id == event_id)
    )


def with_event_access(statement: Select[Any], event_id: Any, user_id: Any) -> Select[Any]:
    """Extend a statement that selects a user (the token lookup) with the event and that
    user's permissions there: one row per permission, event columns null if no event."""
    held = assignments_at(event_id)
    return (
        statement.add_columns(
            Event.id.label("event_id"),
            Event.name.label("event_name"),
            held.c.area,
            held.c.permission,
        )
        .outerjoin(Event, Event.id == event_id)
        .outerjoin(held, and_(held.c.event_id == Event.id, held.c.user_id == user_id))
    )


def events_where(user_id: int, area: str, level: str = "read") -> Select[Any]:
    """Ids of the events where the user's active role grants `area` at `level`."""
    return (
        select(EventUser.event_id)
        .join(EventRole, active_assignment(user_id))
        .join(EventRolePermission, EventRolePermission.event_role_id == EventRole.id)
        .where(
            EventRolePermission.area == area,
            EventRolePermission.permission.in_(levels_granting(level)),
        )
    )


def access_from_rows(rows: list[Any]) -> EventAccess | None:
    """Fold `event_access_statement` rows into an `EventAccess`; None when no event."""
    if not rows or rows[0].event_id is None:
        return None
    ranks: dict[str, int] = {}
    for row in rows:
        if row.area is not None:
            ranks[row.area] = max(ranks.get(row.area, 0), LEVELS.get(row.permission, 0))
    return EventAccess(event_id=rows[0].event_id, event_name=rows[0].event_name, ranks=ranks)
