"""OAuth 2.0 clients that get Sanctum-format tokens by the client credentials grant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from eventio.db.extensions import db
from eventio.models.base import BigId, Timestamps, pk


class OAuthClient(Timestamps, db.Model):
    """A partner system: its secret is stored only as a SHA-256 hash.

    After a rotation the previous secret stays valid until `previous_secret_expires_at`.
    """

    __tablename__ = "oauth_clients"

    id: Mapped[int] = pk()
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    abilities: Mapped[str | None] = mapped_column(Text())
    secret_hash: Mapped[str] = mapped_column(String(64))
    previous_secret_hash: Mapped[str | None] = mapped_column(String(64))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime())
