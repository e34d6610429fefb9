"""Values for the fuzzer: odd text, long text, and text typed by the column it is compared with.

`right` values are what a careful client sends (of the column's type, often one the
world's rows hold); `odd_value` is what a careless or hostile one sends.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, TypeVar

from hypothesis import strategies as st
from sqlalchemy import types
from sqlalchemy.sql.elements import ColumnElement

from eventio.querybuilder import Resource
from tests.fuzzing.world import World

T = TypeVar("T")
Strategy = st.SearchStrategy

BIDI = ["\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2069"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u034f", "\u0301"]
ODD_VALUES = [
    *["", " ", "  ", "-", ",", ",,", " , ", ".", "..", "%", "_", "\\", "'", '"', "`", ";"],
    *["--", "/*", "' OR '1'='1", "1; DROP TABLE bookings", "\x00", "a\x00b", "\t", "\n"],
    *["\r\n", "null", "NULL", "None", "undefined", "NaN", "Infinity", "-Infinity", "true"],
    *["[]", "{}", "()", "*", "?", "#", "&", "=", "+", "$where", "<script>", "\U0001f39f"],
    *["\u01c5", "\ufb01", "\u0130", "\u00df", "\u212b", "e\u0301", "\uffff", "\U0010ffff"],
    *["\u0661\u0662", "\uff11\uff12", "\u00b2", "\u216b", "0", "-0", "+1", " 1", "1 ", "007"],
    *["1.5", "1e3", "0x10", "1_000", "-1", "9223372036854775807", "9223372036854775808"],
    *["-9223372036854775809", "99999999999999999999", "2147483648", "2026-02-30"],
    *["2026-13-01", "2026-6-1", "20260615", "2026-06-15T25:00:00", "2026-06-15T12:00:00+24:00"],
    *["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-01-10T14:30:00 01:00"],
]
NOT_NUMBERS = ["", " ", "abc", "1.5", "1.0", "1e3", "0x10", "+1", " 1", "1 ", "1_0", "-0"]
NOT_NUMBERS += ["\u0661", "\uff11", "\u00b2", "NaN", "Infinity", "1,2", "1;2", "[1]"]
BIG_NUMBERS = [2**31 - 1, 2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30, 10**400]
LONG_LENGTHS = [255, 256, 999, 1000, 1001, 2048, 8192]

any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=24)
short_text = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=8)


def weighted(*choices: tuple[int, Strategy[T]]) -> Strategy[T]:
    """One of the strategies, each drawn in proportion to its weight."""
    table = [strategy for weight, strategy in choices for _ in range(weight)]
    # Drawn by index, so the strategy's repr stays short (a table of strategies is huge).
    return st.integers(0, len(table) - 1).flatmap(lambda index: table[index])


def sampled_or(values: Sequence[T], fallback: Strategy[T]) -> Strategy[T]:
    return st.sampled_from(list(values)) if values else fallback


def joined(items: Strategy[str], min_size: int = 1, max_size: int = 4) -> Strategy[str]:
    """A comma list, with the spacing people type."""
    return st.tuples(
        st.lists(items, min_size=min_size, max_size=max_size), st.sampled_from([",", ", ", " ,"])
    ).map(lambda parts: parts[1].join(parts[0]))


# --- Text as people and tools send it ---------------------------------------------------------

NORMALISATIONS: list[Callable[[str], str]] = [
    lambda s: s,
    lambda s: unicodedata.normalize("NFC", s),
    lambda s: unicodedata.normalize("NFD", s),
    lambda s: unicodedata.normalize("NFKC", s),
    lambda s: unicodedata.normalize("NFKD", s),
    str.upper,
    str.lower,
    str.casefold,
    lambda s: f" {s} ",
]


@st.composite
def decorated(draw: st.DrawFn, base: Strategy[str]) -> str:
    """`base`, normalised or cased another way, with a bidi or invisible mark slipped in."""
    text = draw(st.sampled_from(NORMALISATIONS))(draw(base))
    if draw(st.integers(0, 2)) == 0:
        mark = draw(st.sampled_from(BIDI + INVISIBLE))
        at = draw(st.integers(0, len(text)))
        text = text[:at] + mark + text[at:]
    return text


@st.composite
def substring(draw: st.DrawFn, base: Strategy[str]) -> str:
    text = draw(base)
    start = draw(st.integers(0, len(text)))
    return text[start : draw(st.integers(start, len(text)))]


long_value = st.builds(
    lambda unit, length: unit * length,
    st.sampled_from(["a", "1", "\u00e9", "\U0001f39f", "%", ",", "a,"]),
    st.sampled_from(LONG_LENGTHS),
)
odd_value = weighted(
    (4, st.sampled_from(ODD_VALUES)),
    (2, any_text),
    (1, st.tuples(any_text, st.sampled_from(ODD_VALUES), any_text).map("".join)),
    (1, st.integers(-(2**70), 2**70).map(str)),
    (1, long_value),
)


# --- Values typed by the column they are compared with ----------------------------------------


def integer_bits(sql_type: types.TypeEngine[Any]) -> int:
    if isinstance(sql_type, types.BigInteger):
        return 64
    return 16 if isinstance(sql_type, types.SmallInteger) else 32


def datetime_text(value: datetime, style: int) -> str:
    """One date-time in the ISO 8601 spellings clients use."""
    offsets = [None, UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))]
    aware = value.replace(tzinfo=offsets[style % len(offsets)])
    text = aware.isoformat(timespec=("seconds", "microseconds", "minutes")[style % 3])
    return text.replace("+00:00", "Z") if style % 5 == 0 else text


datetimes = st.builds(
    datetime_text,
    st.datetimes(min_value=datetime(2025, 6, 1), max_value=datetime(2027, 6, 1)),
    st.integers(0, 29),
)
dates = st.dates(min_value=date(2025, 6, 1), max_value=date(2027, 6, 1)).map(date.isoformat)


def column_values(resource: Resource, column: ColumnElement[Any], world: World) -> Strategy[str]:
    """Values of the column's type, about half of them ones the world's rows hold."""
    samples = world.samples_of(resource.type, column.key or "")
    sql_type = column.type
    if isinstance(sql_type, types.Boolean):
        return st.sampled_from(["true", "false", "1", "0", "TRUE", "False", "tRuE"])
    if isinstance(sql_type, types.Integer):
        limit = 2 ** (integer_bits(sql_type) - 1)
        return weighted(
            (4, sampled_or(samples, st.just("1"))),
            (2, st.integers(0, 40).map(str)),
            (1, st.integers(-limit, limit - 1).map(str)),
            (1, st.sampled_from([str(limit - 1), str(-limit), "-0", "007"])),
        )
    if isinstance(sql_type, types.DateTime):
        return weighted(
            (3, sampled_or(samples, datetimes)),
            (3, datetimes),
            (1, dates),
            (1, st.sampled_from(["9999-12-31T23:59:59.999999Z", "2026-01-10T14:30:00+0100"])),
        )
    if isinstance(sql_type, types.Date):
        return weighted(
            (3, sampled_or(samples, dates)),
            (2, dates),
            (1, st.sampled_from(["0001-01-01", "9999-12-31"])),
        )
    if isinstance(sql_type, types.Numeric):
        return weighted(
            (3, sampled_or(samples, st.just("1.00"))),
            (2, st.decimals(-1000, 1000, places=2).map(str)),
            (1, st.sampled_from(["0", "0.00", "1e2", "-0", ".5", "1E+2"])),
        )
    texts = sampled_or(samples, short_text)
    return weighted((4, texts), (2, substring(texts)), (2, decorated(texts)), (1, any_text))
