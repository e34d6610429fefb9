"""Bookings of an event, and the ticket lines of a booking."""

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

BOOKINGS = QuerySpec(
    resources.bookings,
    filters=[
        AllowedFilter.exact("id"),
        AllowedFilter.exact("reference", "booking_reference"),
        AllowedFilter.exact("status", choices=STATUSES),
        AllowedFilter.exact("booking_type"),
        AllowedFilter.exact("group_id"),
        UPDATED_SINCE,
    ],
    sorts=["id", "created_at", "status", "booking_reference", "updated_at"],
    includes=["tickets", "tickets.ticket", "group", "group.customer"],
)
BOOKING_TICKETS = QuerySpec(
    resources.booking_tickets,
    filters=[AllowedFilter.exact("id"), AllowedFilter.exact("ticket_id"), UPDATED_SINCE],
    sorts=["id", "ticket_id", "qty", "price", "updated_at"],
    includes=["booking", "ticket", "ticket.event"],
)
bookings = resources.bookings_t
lines = resources.booking_tickets_t


@bp.get("/event/<id:event_id>/bookings")
@declared(flags={"include_cancelled": "Also list cancelled bookings (for incremental pulls)."})
@paginated(BOOKINGS)
def list_bookings(access: EventAccess) -> Select[Any]:
    """List the active bookings (provisional, confirmed, waiting list) of an event."""
    statement = resources.bookings.select().where(bookings.c.event_id == access.event_id)
    # An incremental pull must see a booking become cancelled: it may ask for them.
    if not flag("include_cancelled"):
        statement = statement.where(bookings.c.status.in_(ACTIVE_STATUSES))
    return statement


@bp.get("/event/<id:event_id>/bookings/<id:booking_id>")
@single(BOOKINGS, "Booking")
def show_booking(access: EventAccess, booking_id: int) -> Select[Any]:
    """Show one booking of an event, whatever its status."""
    return resources.bookings.select().where(
        bookings.c.event_id == access.event_id, bookings.c.id == booking_id
    )


def require_booking(access: EventAccess, booking_id: int) -> None:
    statement = select(bookings.c.id).where(
        bookings.c.id == booking_id, bookings.c.event_id == access.event_id
    )
    found = reads().execute(statement).first()
    if found is None:
        raise ApiError.not_found("Booking not found.")


@bp.get("/event/<id:event_id>/bookings/<id:booking_id>/tickets")
@paginated(BOOKING_TICKETS)
def list_booking_tickets(access: EventAccess, booking_id: int) -> Select[Any]:
    """List the ticket lines of a booking."""
    require_booking(access, booking_id)
    return resources.booking_tickets.select().where(lines.c.booking_id == booking_id)


@bp.get("/event/<id:event_id>/bookings/<id:booking_id>/tickets/<id:line_id>")
@single(BOOKING_TICKETS, "Booking ticket")
def show_booking_ticket(access: EventAccess, booking_id: int, line_id: int) -> Select[Any]:
    """Show one ticket line of a booking."""
    return resources.booking_tickets.select().where(
        lines.c.id == line_id,
        lines.c.booking_id == booking_id,
        lines.c.booking_id.in_(select(bookings.c.id).where(bookings.c.event_id == access.event_id)),
    )
