"""Users, their Sanctum tokens, and their roles and permissions per event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from eventio.db.extensions import db
from eventio.models.base import BigId, Timestamps, pk

USER_MORPH_TYPE = "App\\Models\\User"


class User(Timestamps, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = pk()
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(255), unique=True)


class PersonalAccessToken(Timestamps, db.Model):
    """Laravel Sanctum's token table: only the SHA-256 of the secret is stored."""

    __tablename__ = "personal_access_tokens"
    # On SQLite, a revoked token's id is never given to another (migration 0005).
    __table_args__ = (
        Index(None, "tokenable_type", "tokenable_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = pk()
    tokenable_type: Mapped[str] = mapped_column(String(255))
    tokenable_id: Mapped[int] = mapped_column(BigId)
    name: Mapped[str] = mapped_column(String(255))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    abilities: Mapped[str | None] = mapped_column(Text())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(), index=True)


class EventRole(Timestamps, db.Model):
    __tablename__ = "event_roles"
    __table_args__ = (Index(None, "event_id", "title"), Index(None, "event_id", "updated_at"))

    id: Mapped[int] = pk()
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("events.id"), index=True)
    title: Mapped[str] = mapped_column(String(255))


class EventRolePermission(Timestamps, db.Model):
    __tablename__ = "event_role_permissions"

    id: Mapped[int] = pk()
    event_role_id: Mapped[int] = mapped_column(BigId, ForeignKey("event_roles.id"), index=True)
    area: Mapped[str] = mapped_column(String(255))
    permission: Mapped[str] = mapped_column(String(255))


class EventUser(Timestamps, db.Model):
    __tablename__ = "event_users"
    __table_args__ = (
        Index(None, "event_id", "user_id"),
        Index(None, "user_id", "event_id", "active"),
        Index(None, "event_id", "updated_at"),
    )

    id: Mapped[int] = pk()
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("events.id"), index=True)
    event_role_id: Mapped[int] = mapped_column(BigId, ForeignKey("event_roles.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean(), default=True)
