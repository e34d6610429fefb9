"""The stats report: one aggregate statement, and the totals rule.

`total_provisional` is confirmed plus provisional, as the reference's example shows
(150 + 25 = 175); waiting-list and cancelled bookings count in neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, case, func, select
from sqlalchemy.orm import Session

from eventio.models import Booking, BookingTicket, Ticket
from eventio.querybuilder.filters import escape_like
from eventio.querybuilder.ordering import nulls_largest


@dataclass(frozen=True)
class StatsFilters:
    ticket_id: int | None = None
    ticket: str | None = None
    participant_type: str | None = None

    def cache_key(self, event_id: int, representation: str = "json") -> str:
        """Per event, filter set and representation (a JSON body, a CSV one)."""
        parts = (self.ticket_id, self.ticket, self.participant_type)
        key = "eventio:stats:v1:" + str(event_id) + ":" + repr(parts)
        return key if representation == "json" else key + ":" + representation


def sold(status: str) -> Any:
    return func.sum(case((Booking.status == status, BookingTicket.qty), else_=0))


def stats_statement(event_id: int, filters: StatsFilters) -> Select[Any]:
    """One row per ticket of the event, with what confirmed and provisional bookings hold."""
    sales = (
        select(
            BookingTicket.ticket_id,
            sold("confirmed").label("confirmed"),
            sold("provisional").label("provisional"),
        )
        .join(Booking, Booking.id == BookingTicket.booking_id)
        .where(Booking.event_id == event_id, Booking.status.in_(("confirmed", "provisional")))
        .group_by(BookingTicket.ticket_id)
        .subquery()
    )
    statement = (
        select(
            Ticket.id,
            Ticket.participant_type,
            Ticket.title,
            func.coalesce(sales.c.confirmed, 0).label("confirmed"),
            func.coalesce(sales.c.provisional, 0).label("provisional"),
        )
        .outerjoin(sales, sales.c.ticket_id == Ticket.id)
        .where(Ticket.event_id == event_id)
        # NULL seq last on every database, as lists place NULLs.
        .order_by(nulls_largest(Ticket.seq), Ticket.id)
    )
    if filters.ticket_id is not None:
        statement = statement.where(Ticket.id == filters.ticket_id)
    if filters.ticket:
        statement = statement.where(
            Ticket.title.ilike(f"%{escape_like(filters.ticket)}%", escape="\\")
        )
    if filters.participant_type:
        statement = statement.where(Ticket.participant_type == filters.participant_type)
    return statement


def compute(
    session: Session | Connection, event_id: int, event_name: str, filters: StatsFilters
) -> dict[str, Any]:
    rows = session.execute(stats_statement(event_id, filters)).all()
    stats = [
        {
            "id": row.id,
            "participant_type": row.participant_type,
            "title": row.title,
            "total_confirmed_tickets_sold": int(row.confirmed),
            "total_provisional_tickets_sold": int(row.provisional),
        }
        for row in rows
    ]
    confirmed = sum(s["total_confirmed_tickets_sold"] for s in stats)
    provisional = sum(s["total_provisional_tickets_sold"] for s in stats)
    return {
        "event_id": event_id,
        "event_name": event_name,
        "stats": stats,
        "total_confirmed": confirmed,
        "total_provisional": confirmed + provisional,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
