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
MAX_DECIMAL_EXPONENT = 1000


class ValueParseError(ValueError):
    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def int_parser(bits: int) -> Callable[[str], int]:
    """Whole numbers the column's integer type can hold."""
    limit = 2 ** (bits - 1)
    expected = "an integer" if bits == 64 else f"an integer from {-limit} to {limit - 1}"

    def parse(text: str) -> int:
        if not INTEGER.fullmatch(text) or not -limit <= int(text) < limit:
            raise ValueParseError(expected)
        return int(text)

    return parse


parse_int = int_parser(64)


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
        try:
            value = value.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise ValueParseError("an ISO 8601 date-time within years 1 to 9999") from None
    return value


def parse_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueParseError("a number") from None
    # Far beyond any column's precision, and beyond what PostgreSQL's numeric can parse.
    if not value.is_finite() or abs(value.adjusted()) > MAX_DECIMAL_EXPONENT:
        raise ValueParseError("a number")
    return value


def parser_for(column: ColumnElement[Any]) -> Callable[[str], Any]:
    """The parser that matches a column's SQL type; text columns take the text as it is."""
    sql_type = column.type
    if isinstance(sql_type, types.Boolean):
        return parse_bool
    if isinstance(sql_type, types.Integer):
        if isinstance(sql_type, types.BigInteger):
            return parse_int
        return int_parser(16 if isinstance(sql_type, types.SmallInteger) else 32)
    if isinstance(sql_type, types.DateTime):
        return parse_datetime
    if isinstance(sql_type, types.Date):
        return parse_date
    if isinstance(sql_type, types.Numeric):
        return parse_decimal
    return str
