"""Events and the ticket types they sell."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from eventio.db.extensions import db
from eventio.models.base import BigId, Timestamps, pk


class Event(Timestamps, db.Model):
    __tablename__ = "events"
    __table_args__ = (
        Index(None, "name"),
        Index(None, "start_date"),
        Index(None, "end_date"),
        Index(None, "updated_at"),
    )

    id: Mapped[int] = pk()
    slug: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    start_date: Mapped[date | None] = mapped_column(Date())
    end_date: Mapped[date | None] = mapped_column(Date())


class Ticket(Timestamps, db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        Index(None, "event_id", "seq"),
        Index(None, "event_id", "participant_type"),
        Index(None, "event_id", "title"),
        Index(None, "event_id", "price"),
        Index(None, "event_id", "updated_at"),
    )

    id: Mapped[int] = pk()
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("events.id"), index=True)
    title: Mapped[str] = mapped_column(String(255))
    participant_type: Mapped[str | None] = mapped_column(String(255))
    price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    seq: Mapped[int | None] = mapped_column(Integer())
