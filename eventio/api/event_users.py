"""User assignments of an event: who holds which role there."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from eventio.api import resources
from eventio.api.blueprint import bp
from eventio.api.incremental import UPDATED_SINCE
from eventio.api.listing import paginated, single
from eventio.auth.permissions import EventAccess
from eventio.querybuilder import AllowedFilter, QuerySpec

EVENT_USERS = QuerySpec(
    resources.event_users,
    filters=[
        AllowedFilter.exact("id"),
        AllowedFilter.exact("user_id"),
        AllowedFilter.exact("event_role_id"),
        AllowedFilter.boolean("active"),
        UPDATED_SINCE,
    ],
    sorts=["id", "user_id", "event_role_id", "active", "updated_at"],
    includes=["user", "event", "role", "role.permissions"],
)
event_users = resources.event_users_t


@bp.get("/event/<id:event_id>/users")
@paginated(EVENT_USERS)
def list_event_users(access: EventAccess) -> Select[Any]:
    """List the user assignments of an event."""
    return resources.event_users.select().where(event_users.c.event_id == access.event_id)


@bp.get("/event/<id:event_id>/users/<id:event_user_id>")
@single(EVENT_USERS, "Event user")
def show_event_user(access: EventAccess, event_user_id: int) -> Select[Any]:
    """Show one user assignment of an event."""
    return resources.event_users.select().where(
        event_users.c.event_id == access.event_id, event_users.c.id == event_user_id
    )
