"""Ticket types of an event."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from eventio.api import resources
from eventio.api.blueprint import bp
from eventio.api.incremental import UPDATED_SINCE
from eventio.api.listing import paginated, single
from eventio.auth.permissions import EventAccess
from eventio.querybuilder import AllowedFilter, QuerySpec

TICKETS = QuerySpec(
    resources.tickets,
    filters=[
        AllowedFilter.exact("id"),
        AllowedFilter.partial("title"),
        AllowedFilter.exact("participant_type"),
        UPDATED_SINCE,
    ],
    sorts=["id", "title", "price", "seq", "updated_at"],
    includes=["event"],
)
tickets = resources.tickets_t


@bp.get("/event/<id:event_id>/tickets")
@paginated(TICKETS)
def list_tickets(access: EventAccess) -> Select[Any]:
    """List the ticket types of an event."""
    return resources.tickets.select().where(tickets.c.event_id == access.event_id)


@bp.get("/event/<id:event_id>/tickets/<id:ticket_id>")
@single(TICKETS, "Ticket")
def show_ticket(access: EventAccess, ticket_id: int) -> Select[Any]:
    """Show one ticket type of an event."""
    return resources.tickets.select().where(
        tickets.c.event_id == access.event_id, tickets.c.id == ticket_id
    )
