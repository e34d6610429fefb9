"""Turn a filter's text into the Python value of its column, or say what it should be."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import types
from sqlalchemy.sql.elements import ColumnElement

INTEGER = re.compile(r"-?[0-9]{1,19}")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
TRUE = {"true", "1"}
FALSE = {"false", "0"}
INT64 = 2**63


class ValueParseError(ValueError):
    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def parse_int(text: str) -> int:
    if not INTEGER.fullmatch(text) or not -INT64 <= int(text) < INT64:
        raise ValueParseError("an integer")
    return int(text)


def parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ValueParseError("`true`, `false`, `1` or `0`")


def parse_date(text: str) -> date:
    try:
        if DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueParseError("a date written YYYY-MM-DD")


def parse_datetime(text: str) -> datetime:
    """ISO 8601, date or date-time, with or without offset; returned as naive UTC.

    An unencoded `+` of an offset arrives as a space, so a space after the `T` is read as `+`.
    """
    candidate = text.replace(" ", "+") if "T" in text else text
    try:
        value = datetime.fromisoformat(candidate)
    except ValueError:
        raise ValueParseError("an ISO 8601 date or date-time") from None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def parse_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueParseError("a number") from None
    if not value.is_finite():
        raise ValueParseError("a number")
    return value


def parser_for(column: ColumnElement[Any]) -> Callable[[str], Any]:
    """The parser that matches a column's SQL type; text columns take the text as it is."""
    sql_type = column.type
    if isinstance(sql_type, types.Boolean):
        return parse_bool
    if isinstance(sql_type, types.Integer):
        return parse_int
    if isinstance(sql_type, types.DateTime):
        return parse_datetime
    if isinstance(sql_type, types.Date):
        return parse_date
    if isinstance(sql_type, types.Numeric):
        return parse_decimal
    return str
