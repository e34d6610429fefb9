"""Groups of an event, and the bookings of one group."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from eventio.api import resources
from eventio.api.blueprint import bp
from eventio.api.declaration import declared
from eventio.api.flags import flag
from eventio.api.incremental import UPDATED_SINCE
from eventio.api.listing import paginated, single
from eventio.auth.permissions import EventAccess
from eventio.db.reads import reads
from eventio.http.errors import ApiError
from eventio.models import ACTIVE_STATUSES, STATUSES
from eventio.querybuilder import AllowedFilter, QuerySpec

GROUPS = QuerySpec(
    resources.groups,
    filters=[
        AllowedFilter.exact("id"),
        AllowedFilter.partial("name"),
        AllowedFilter.partial("association"),
        AllowedFilter.exact("customer_id"),
        UPDATED_SINCE,
    ],
    sorts=["id", "name", "association", "updated_at"],
    includes=["customer", "bookings", "bookings.tickets", "event"],
)
GROUP_BOOKINGS = QuerySpec(
    resources.bookings,
    filters=[
        AllowedFilter.exact("id"),
        AllowedFilter.exact("status", choices=STATUSES),
        AllowedFilter.exact("booking_type"),
        UPDATED_SINCE,
    ],
    sorts=["updated_at"],
    includes=["tickets", "tickets.ticket"],
)
groups = resources.groups_t
bookings = resources.bookings_t


@bp.get("/event/<id:event_id>/groups")
@paginated(GROUPS)
def list_groups(access: EventAccess) -> Select[Any]:
    """List the groups of an event."""
    return resources.groups.select().where(groups.c.event_id == access.event_id)


@bp.get("/event/<id:event_id>/groups/<id:group_id>")
@single(GROUPS, "Group")
def show_group(access: EventAccess, group_id: int) -> Select[Any]:
    """Show one group of an event."""
    return resources.groups.select().where(
        groups.c.event_id == access.event_id, groups.c.id == group_id
    )


@bp.get("/event/<id:event_id>/groups/<id:group_id>/bookings")
@declared(
    areas=("groups", "bookings"),
    flags={"include_cancelled": "Also list the group's cancelled bookings."},
)
@paginated(GROUP_BOOKINGS)
def list_group_bookings(access: EventAccess, group_id: int) -> Select[Any]:
    """List a group's active bookings; `include_cancelled` adds the cancelled ones."""
    lookup = select(groups.c.id).where(
        groups.c.id == group_id, groups.c.event_id == access.event_id
    )
    group = reads().execute(lookup).first()
    if group is None:
        raise ApiError.not_found("Group not found.")
    statement = resources.bookings.select().where(
        bookings.c.group_id == group_id, bookings.c.event_id == access.event_id
    )
    if not flag("include_cancelled"):
        statement = statement.where(bookings.c.status.in_(ACTIVE_STATUSES))
    return statement
