"""Filter strategies on real rows: exact, partial, boolean, since; typed values; refusals."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from sqlalchemy import Connection

from eventio.querybuilder import AllowedFilter, InvalidFilterQuery, QueryParams, QuerySpec
from eventio.querybuilder.filters import FiltersExact, FiltersPartial, escape_like
from tests.querybuilder.conftest import (
    POSTGRESQL,
    SQLITE,
    Library,
    apply,
    authors_t,
    books_t,
    compiled,
)

AUTHOR_FILTERS = [
    AllowedFilter.exact("id"),
    AllowedFilter.exact("born_on"),
    AllowedFilter.exact("rating"),
    AllowedFilter.exact("active"),
    AllowedFilter.exact("surname", "last_name"),
    AllowedFilter.partial("name", "full_name"),
    AllowedFilter.partial("email"),
    AllowedFilter.boolean("is_active", "active"),
    AllowedFilter.since("updated_since", "updated_at"),
]
BOOK_FILTERS = [
    AllowedFilter.exact("id"),
    AllowedFilter.partial("title"),
    AllowedFilter.boolean("published"),
    AllowedFilter.exact("published_on"),
]


def author_ids(connection: Connection, library: Library, filters: dict[str, str]) -> list[int]:
    spec = QuerySpec(library.authors, filters=AUTHOR_FILTERS)
    built = spec.build(QueryParams(filters=filters))
    return [
        row.id
        for row in connection.execute(apply(built, library.authors.select(), library.authors))
    ]


def book_ids(connection: Connection, library: Library, filters: dict[str, str]) -> list[int]:
    spec = QuerySpec(library.books, filters=BOOK_FILTERS)
    built = spec.build(QueryParams(filters=filters))
    return [
        row.id for row in connection.execute(apply(built, library.books.select(), library.books))
    ]


def refusal(library: Library, filters: dict[str, str]) -> InvalidFilterQuery:
    spec = QuerySpec(library.authors, filters=AUTHOR_FILTERS)
    with pytest.raises(InvalidFilterQuery) as raised:
        spec.build(QueryParams(filters=filters))
    assert raised.value.key == "filter"
    return raised.value


def postgres_sql(criterion: Any) -> str:
    return compiled(criterion, POSTGRESQL, literal=True)


# Exact


def test_exact_filter_with_one_value_is_an_equality() -> None:
    criterion = FiltersExact()(authors_t.c.id, "3")

    assert postgres_sql(criterion) == "authors.id = 3"


def test_exact_filter_with_a_comma_list_is_an_in_list() -> None:
    criterion = FiltersExact()(authors_t.c.id, "3, 1,4")

    assert postgres_sql(criterion) == "authors.id IN (3, 1, 4)"


def test_exact_filter_matches_the_one_row(seeded: Connection, library: Library) -> None:
    assert author_ids(seeded, library, {"id": "3"}) == [3]


def test_exact_filter_comma_list_matches_any_of_its_values(
    seeded: Connection, library: Library
) -> None:
    assert author_ids(seeded, library, {"id": "4,2, 5"}) == [2, 4, 5]


def test_exact_filter_reads_its_public_name_from_its_internal_column(
    seeded: Connection, library: Library
) -> None:
    assert author_ids(seeded, library, {"surname": "Hopper"}) == [3]


def test_exact_filter_on_text_is_case_sensitive(seeded: Connection, library: Library) -> None:
    assert author_ids(seeded, library, {"surname": "hopper"}) == []


def test_exact_filter_with_no_match_is_an_empty_list(seeded: Connection, library: Library) -> None:
    assert author_ids(seeded, library, {"id": "99"}) == []


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "1.5",
        "1e3",
        "0x1",
        "1,abc",
        "9223372036854775808",
        "-9223372036854775809",
        "99999999999999999999",
        "\u0661",  # ARABIC-INDIC DIGIT ONE
    ],
)
def test_exact_filter_on_an_integer_column_refuses_a_non_integer(
    library: Library, value: str
) -> None:
    error = refusal(library, {"id": value})

    assert "`id`" in error.message
    assert "integer" in error.message


@pytest.mark.parametrize("value", ["9223372036854775807", "-9223372036854775808"])
def test_exact_filter_on_an_integer_column_accepts_the_int64_bounds(
    seeded: Connection, library: Library, value: str
) -> None:
    assert author_ids(seeded, library, {"id": value}) == []


@pytest.mark.parametrize("value", ["2147483648", "-2147483649", "3000000000,1"])
def test_exact_filter_on_a_32_bit_integer_column_refuses_what_it_cannot_hold(
    library: Library, value: str
) -> None:
    # PostgreSQL answers `integer out of range` (a 500) for these on an `integer` column.
    spec = QuerySpec(library.chapters, filters=[AllowedFilter.exact("number")])

    with pytest.raises(InvalidFilterQuery) as raised:
        spec.build(QueryParams(filters={"number": value}))

    assert "`number`" in raised.value.message


@pytest.mark.parametrize("value", ["2147483647", "-2147483648"])
def test_exact_filter_on_a_32_bit_integer_column_accepts_its_bounds(
    seeded: Connection, library: Library, value: str
) -> None:
    spec = QuerySpec(library.chapters, filters=[AllowedFilter.exact("number")])
    built = spec.build(QueryParams(filters={"number": value}))

    assert seeded.execute(apply(built, library.chapters.select(), library.chapters)).all() == []


def test_exact_filter_on_a_date_matches_yyyy_mm_dd(seeded: Connection, library: Library) -> None:
    assert author_ids(seeded, library, {"born_on": "1906-12-09"}) == [3]
    assert author_ids(seeded, library, {"born_on": "1906-12-09,1930-05-11"}) == [3, 5]


@pytest.mark.parametrize(
    "value",
    ["2024-02-30", "2024-1-5", "20240105", "2024-01-05T00:00:00", "05/01/2024", "tomorrow"],
)
def test_exact_filter_on_a_date_refuses_anything_but_yyyy_mm_dd(
    library: Library, value: str
) -> None:
    error = refusal(library, {"born_on": value})

    assert "`born_on`" in error.message
    assert "YYYY-MM-DD" in error.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", [1, 2, 4]),
        ("TRUE", [1, 2, 4]),
        ("True", [1, 2, 4]),
        ("1", [1, 2, 4]),
        ("false", [3, 5]),
        ("FaLsE", [3, 5]),
        ("0", [3, 5]),
    ],
)
def test_exact_filter_on_a_boolean_reads_true_false_1_0(
    seeded: Connection, library: Library, value: str, expected: list[int]
) -> None:
    assert author_ids(seeded, library, {"active": value}) == expected


@pytest.mark.parametrize("value", ["yes", "no", "2", "on", "t"])
def test_exact_filter_on_a_boolean_refuses_other_words(library: Library, value: str) -> None:
    assert "`active`" in refusal(library, {"active": value}).message


def test_exact_filter_on_a_numeric_compares_the_number(
    seeded: Connection, library: Library
) -> None:
    assert author_ids(seeded, library, {"rating": "4.5"}) == [1, 3]


@pytest.mark.parametrize("value", ["abc", "NaN", "Infinity", "-inf", "4,5x"])
def test_exact_filter_on_a_numeric_refuses_what_is_not_a_finite_number(
    library: Library, value: str
) -> None:
    assert "`rating`" in refusal(library, {"rating": value}).message


@pytest.mark.parametrize("value", ["1e999999999", "1E-999999999"])
def test_exact_filter_on_a_numeric_refuses_a_number_no_database_holds(
    library: Library, value: str
) -> None:
    # PostgreSQL answers `value overflows numeric format` (a 500) for these.
    assert "`rating`" in refusal(library, {"rating": value}).message


def test_invalid_value_message_names_the_filter_and_the_value(library: Library) -> None:
    assert refusal(library, {"id": "abc"}).message == (
        "The filter `id` must be an integer; `abc` is not."
    )


# Partial


def test_partial_filter_is_a_case_insensitive_substring(
    seeded: Connection, library: Library
) -> None:
    assert book_ids(seeded, library, {"title": "tHE"}) == [3, 4, 7]
    assert author_ids(seeded, library, {"email": "example.com"}) == [1, 2, 4, 5]
    assert author_ids(seeded, library, {"email": "Alan@"}) == [4]


def test_partial_filter_comma_list_matches_any_of_its_values(
    seeded: Connection, library: Library
) -> None:
    assert book_ids(seeded, library, {"title": "days, percentage"}) == [2, 7]


def test_partial_filter_on_a_labelled_expression(seeded: Connection, library: Library) -> None:
    assert author_ids(seeded, library, {"name": "ace hop"}) == [3]
    assert author_ids(seeded, library, {"name": "TURING"}) == [4]


def test_partial_filter_percent_is_literal(seeded: Connection, library: Library) -> None:
    # `50%` as a wildcard would also match `500 Days`.
    assert book_ids(seeded, library, {"title": "50%"}) == [1]
    assert book_ids(seeded, library, {"title": "%"}) == [1]


def test_partial_filter_underscore_is_literal(seeded: Connection, library: Library) -> None:
    # `a_b` as a wildcard would also match `The axb Test`.
    assert book_ids(seeded, library, {"title": "a_b"}) == [3]
    assert book_ids(seeded, library, {"title": "_"}) == [3]


def test_partial_filter_backslash_is_literal(seeded: Connection, library: Library) -> None:
    assert book_ids(seeded, library, {"title": "k\\s"}) == [5]
    assert book_ids(seeded, library, {"title": "\\"}) == [5]
    # An escaped wildcard written by the client is still two literal characters.
    assert book_ids(seeded, library, {"title": "\\%"}) == []


def test_escape_like_escapes_the_escape_first() -> None:
    assert escape_like("50%") == "50\\%"
    assert escape_like("a_b") == "a\\_b"
    assert escape_like("a\\%") == "a\\\\\\%"


def test_partial_filter_emits_ilike_with_an_escape_on_postgresql() -> None:
    criterion = FiltersPartial()(books_t.c.title, "50%")

    assert postgres_sql(criterion) == "books.title ILIKE '%%50\\%%%%' ESCAPE '\\'"


def test_partial_filter_emits_lower_like_with_an_escape_on_sqlite() -> None:
    criterion = FiltersPartial()(books_t.c.title, "a_b")
    sql = compiled(criterion, SQLITE, literal=True)

    assert sql == "lower(books.title) LIKE lower('%a\\_b%') ESCAPE '\\'"


def test_partial_filter_of_only_commas_is_no_filter_and_warns_nothing(
    seeded: Connection, library: Library
) -> None:
    # Like an empty value; an empty `or_()` is deprecated and will become an error.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert book_ids(seeded, library, {"title": ","}) == [1, 2, 3, 4, 5, 6, 7]


# Boolean


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", [1, 3, 4, 6, 7]), ("1", [1, 3, 4, 6, 7]), ("FALSE", [2, 5]), ("0", [2, 5])],
)
def test_boolean_filter_reads_true_false_1_0(
    seeded: Connection, library: Library, value: str, expected: list[int]
) -> None:
    assert book_ids(seeded, library, {"published": value}) == expected


@pytest.mark.parametrize("value", ["yes", "true,false", "-1", "null"])
def test_boolean_filter_refuses_other_values(library: Library, value: str) -> None:
    error = refusal(library, {"is_active": value})

    assert "`is_active`" in error.message
    assert "`true`, `false`, `1` or `0`" in error.message


# Since


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-10T12:00:00Z", [1, 3]),  # inclusive: Ada's is exactly 12:00:00
        ("2024-01-10T12:00:00.000000Z", [1, 3]),
        ("2024-01-10T11:59:59.999999Z", [1, 2, 3]),
        ("2024-01-10T12:00:00.000001Z", [3]),
        ("2024-01-10T14:00:00+02:00", [1, 3]),  # 12:00 UTC
        ("2024-01-10T14:00:00 02:00", [1, 3]),  # an unencoded `+` arrives as a space
        ("2024-01-10T07:00:00-05:00", [1, 3]),
        ("2024-01-10T12:00:00", [1, 3]),  # no offset: UTC
        ("2024-01-10", [1, 2, 3]),  # a date is its midnight
        ("2024-01-11", [3]),
        ("2024-01-12", []),
    ],
)
def test_since_filter_keeps_rows_on_or_after_the_instant(
    seeded: Connection, library: Library, value: str, expected: list[int]
) -> None:
    assert author_ids(seeded, library, {"updated_since": value}) == expected


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", "2024-01-10T25:00:00Z", "1,2"])
def test_since_filter_refuses_what_is_not_iso_8601(library: Library, value: str) -> None:
    error = refusal(library, {"updated_since": value})

    assert "`updated_since`" in error.message
    assert "ISO 8601" in error.message


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_since_filter_refuses_an_instant_that_leaves_the_calendar_in_utc(
    library: Library, value: str
) -> None:
    # Converting these to UTC overflows Python's datetime: a 500 unless refused.
    assert "`updated_since`" in refusal(library, {"updated_since": value}).message


# Declaration and refusal


def test_unknown_filter_is_refused_in_spatie_words(library: Library) -> None:
    spec = QuerySpec(
        library.books, filters=[AllowedFilter.exact("id"), AllowedFilter.partial("title")]
    )

    with pytest.raises(InvalidFilterQuery) as raised:
        spec.build(QueryParams(filters={"author": "1"}))

    assert raised.value.key == "filter"
    assert raised.value.message == (
        "Requested filter(s) `author` are not allowed. Allowed filter(s) are `id, title`."
    )


def test_unknown_filters_are_all_named(library: Library) -> None:
    spec = QuerySpec(library.books, filters=[AllowedFilter.exact("id")])

    with pytest.raises(InvalidFilterQuery) as raised:
        spec.build(QueryParams(filters={"author": "1", "id": "1", "year": "2"}))

    assert raised.value.message == (
        "Requested filter(s) `author, year` are not allowed. Allowed filter(s) are `id`."
    )


def test_unknown_filter_is_named_even_with_an_empty_value(library: Library) -> None:
    spec = QuerySpec(library.books, filters=[AllowedFilter.exact("id")])

    with pytest.raises(InvalidFilterQuery, match="`author`"):
        spec.build(QueryParams(filters={"author": ""}))


def test_filter_by_internal_name_is_not_a_public_name(library: Library) -> None:
    spec = QuerySpec(library.authors, filters=[AllowedFilter.exact("surname", "last_name")])

    with pytest.raises(InvalidFilterQuery, match="`last_name`"):
        spec.build(QueryParams(filters={"last_name": "Hopper"}))


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_filter_value_is_no_filter(seeded: Connection, library: Library, value: str) -> None:
    spec = QuerySpec(library.authors, filters=AUTHOR_FILTERS)

    assert spec.build(QueryParams(filters={"id": value, "born_on": value})).criteria == []
    assert author_ids(seeded, library, {"id": value}) == [1, 2, 3, 4, 5]


def test_filters_combine_with_and(seeded: Connection, library: Library) -> None:
    assert author_ids(seeded, library, {"active": "true", "email": "example"}) == [1, 2, 4]
    assert author_ids(seeded, library, {"active": "false", "rating": "4.50"}) == [3]


def test_declaring_a_filter_on_a_missing_column_fails_at_declaration(library: Library) -> None:
    with pytest.raises(KeyError, match="nickname"):
        QuerySpec(library.authors, filters=[AllowedFilter.exact("nickname")])


def test_allowed_filter_declarations_keep_public_and_internal_names() -> None:
    assert AllowedFilter.exact("reference", "booking_reference").internal_name == (
        "booking_reference"
    )
    assert AllowedFilter.partial("title").internal_name == "title"
    assert AllowedFilter.boolean("active").internal_name == "active"
    assert AllowedFilter.since("updated_since", "updated_at").internal_name == "updated_at"


# Closed sets

SURNAMES = ("Lovelace", "Babbage", "Hopper")


def closed_ids(connection: Connection, library: Library, value: str) -> list[int]:
    spec = QuerySpec(
        library.authors, filters=[AllowedFilter.exact("surname", "last_name", choices=SURNAMES)]
    )
    built = spec.build(QueryParams(filters={"surname": value}))
    rows = connection.execute(apply(built, library.authors.select(), library.authors))
    return [row.id for row in rows]


def closed_refusal(library: Library, value: str) -> InvalidFilterQuery:
    spec = QuerySpec(
        library.authors, filters=[AllowedFilter.exact("surname", "last_name", choices=SURNAMES)]
    )
    with pytest.raises(InvalidFilterQuery) as raised:
        spec.build(QueryParams(filters={"surname": value}))
    assert raised.value.key == "filter"
    return raised.value


def test_a_closed_set_keeps_its_choices_and_an_open_one_has_none() -> None:
    assert AllowedFilter.exact("surname", "last_name", choices=SURNAMES).choices == SURNAMES
    assert AllowedFilter.exact("surname", "last_name").choices is None


def test_a_value_of_a_closed_set_filters_as_an_exact_one(
    seeded: Connection, library: Library
) -> None:
    assert closed_ids(seeded, library, "Hopper") == [3]
    assert closed_ids(seeded, library, "Lovelace,Babbage") == [1, 2]


def test_a_value_outside_a_closed_set_is_refused_listing_the_allowed_ones(
    library: Library,
) -> None:
    error = closed_refusal(library, "Knuth")
    assert error.message == (
        "The filter `surname` must be one of `Lovelace, Babbage, Hopper`; `Knuth` is not."
    )


def test_a_closed_set_is_matched_with_case_and_suggests_the_spelling_meant(
    library: Library,
) -> None:
    error = closed_refusal(library, "hopper")
    assert error.message.endswith("`hopper` is not. Did you mean `Hopper`?")
    assert closed_refusal(library, "Hoper").message.endswith("Did you mean `Hopper`?")


def test_one_bad_item_of_a_comma_list_refuses_the_list(library: Library) -> None:
    error = closed_refusal(library, "Hopper, Knuth,Lovelace")
    assert "`Knuth` is not." in error.message


def test_an_empty_value_of_a_closed_set_is_no_filter(seeded: Connection, library: Library) -> None:
    assert closed_ids(seeded, library, " , ") == [1, 2, 3, 4, 5]
