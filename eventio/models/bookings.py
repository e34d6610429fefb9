"""Customers, their groups at an event, bookings and booking ticket lines."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column

from eventio.db.extensions import db
from eventio.models.base import BigId, Timestamps, pk

ACTIVE_STATUSES = ("provisional", "confirmed", "waiting_list")
STATUSES = (*ACTIVE_STATUSES, "cancelled")


class Customer(Timestamps, db.Model):
    __tablename__ = "customers"
    __table_args__ = (Index(None, "updated_at"),)

    id: Mapped[int] = pk()
    first_name: Mapped[str | None] = mapped_column(String(255), index=True)
    last_name: Mapped[str | None] = mapped_column(String(255), index=True)
    email: Mapped[str | None] = mapped_column(String(255), index=True)
    post_code: Mapped[str | None] = mapped_column(String(255), index=True)


class Group(Timestamps, db.Model):
    __tablename__ = "groups"
    __table_args__ = (
        Index(None, "event_id", "name"),
        Index(None, "event_id", "association"),
        Index(None, "event_id", "customer_id"),
        Index(None, "event_id", "updated_at"),
    )

    id: Mapped[int] = pk()
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("events.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    association: Mapped[str | None] = mapped_column(String(255))


class Booking(Timestamps, db.Model):
    __tablename__ = "bookings"
    __table_args__ = (
        # Serves the bookings list: event, status filter, newest first, id tie-break.
        Index(
            "ix_bookings_event_id_status_created_at_desc_id",
            "event_id",
            "status",
            text("created_at DESC"),
            "id",
        ),
        Index(None, "event_id", "id"),
        Index(None, "event_id", "created_at"),
        Index(None, "event_id", "booking_reference"),
        Index(None, "event_id", "updated_at"),
        Index(None, "event_id", "booking_type"),
        Index(None, "event_id", "status", "id"),
    )

    id: Mapped[int] = pk()
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("events.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("groups.id"), index=True)
    booking_type: Mapped[str | None] = mapped_column(String(255))
    booking_reference: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(255))


class BookingTicket(Timestamps, db.Model):
    __tablename__ = "booking_tickets"
    __table_args__ = (
        Index(None, "booking_id", "updated_at"),
        # The stats report reads a line's ticket and quantity from the index alone.
        Index(None, "booking_id", "ticket_id", "qty"),
    )

    id: Mapped[int] = pk()
    booking_id: Mapped[int] = mapped_column(BigId, ForeignKey("bookings.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id"), index=True)
    qty: Mapped[int] = mapped_column(Integer())
    price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
