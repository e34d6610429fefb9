"""Roles defined for an event, with their permissions and holders."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from eventio.api import resources
from eventio.api.blueprint import bp
from eventio.api.incremental import UPDATED_SINCE
from eventio.api.listing import paginated, single
from eventio.auth.permissions import EventAccess
from eventio.querybuilder import AllowedFilter, QuerySpec

ROLES = QuerySpec(
    resources.roles,
    filters=[AllowedFilter.exact("id"), AllowedFilter.partial("title"), UPDATED_SINCE],
    sorts=["id", "title", "updated_at"],
    includes=["event", "permissions", "eventUsers", "eventUsers.user"],
)
roles = resources.roles_t


@bp.get("/event/<id:event_id>/roles")
@paginated(ROLES)
def list_roles(access: EventAccess) -> Select[Any]:
    """List the roles defined for an event."""
    return resources.roles.select().where(roles.c.event_id == access.event_id)


@bp.get("/event/<id:event_id>/roles/<id:role_id>")
@single(ROLES, "Role")
def show_role(access: EventAccess, role_id: int) -> Select[Any]:
    """Show one role of an event."""
    return resources.roles.select().where(
        roles.c.event_id == access.event_id, roles.c.id == role_id
    )
