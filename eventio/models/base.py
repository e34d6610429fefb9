"""Column helpers shared by every table: bigint ids and Laravel's timestamps."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.orm import Mapped, mapped_column

# BIGINT on PostgreSQL, INTEGER on SQLite so that it stays the rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Timestamps:
    """Laravel's nullable `created_at` / `updated_at`, in UTC."""

    created_at: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(), nullable=True)


def pk() -> Mapped[int]:
    return mapped_column(BigId, primary_key=True, autoincrement=True)
