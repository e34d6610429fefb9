"""Field types of the contract's values, with the converters the row plan compiles in."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from marshmallow import fields


def timestamp(value: datetime | str | None) -> str | None:
    """ISO 8601 in UTC with microseconds and `Z`: `2026-01-10T14:30:00.000000Z`."""
    if type(value) is datetime and value.tzinfo is None:  # the usual case, first
        return value.isoformat(timespec="microseconds") + "Z"
    if value is None:
        return None
    if isinstance(value, str):  # A driver that hands back text (rows written by hand).
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"


def money(value: Decimal | float | int | str | None) -> str | None:
    """Two decimals as a string: `"99.00"`."""
    if value is None:
        return None
    if isinstance(value, str):
        value = Decimal(value)
    return f"{value:.2f}"


def iso_date(value: date | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def boolean(value: Any) -> bool | None:
    return None if value is None else bool(value)


class Timestamp(fields.DateTime):
    """A UTC timestamp with microseconds and `Z`."""

    convert = staticmethod(timestamp)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return timestamp(value)


class Money(fields.String):
    """A decimal amount as a string with two decimals."""

    convert = staticmethod(money)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return money(value)


class Day(fields.Date):
    """A calendar date, `YYYY-MM-DD`."""

    convert = staticmethod(iso_date)


class Flag(fields.Boolean):
    """A boolean, whatever integer the database stores it as."""

    convert = staticmethod(boolean)
