"""Parsing a query string's pairs into filters, sorts, includes and page numbers."""

from __future__ import annotations

import pytest

from eventio.querybuilder import (
    InvalidFilterQuery,
    InvalidIncludeQuery,
    InvalidPaginationQuery,
    InvalidParameterQuery,
    InvalidQuery,
    InvalidSortQuery,
    QueryParams,
)
from eventio.querybuilder.params import MAX_VALUE_LENGTH, meant_parameter, refuse_near_misses


def test_parse_of_no_pairs_asks_for_nothing_and_page_one() -> None:
    params = QueryParams.parse([])

    assert params.filters == {}
    assert params.sorts == ()
    assert params.includes == ()
    assert params.page == 1
    assert params.per_page is None


def test_parse_collects_every_filter_by_name() -> None:
    params = QueryParams.parse(
        [("filter[status]", "confirmed"), ("filter[id]", "1,2"), ("filter[name]", "")]
    )

    assert params.filters == {"status": "confirmed", "id": "1,2", "name": ""}


def test_parse_keeps_a_filter_value_as_written() -> None:
    params = QueryParams.parse([("filter[title]", " 50% a_b \\ ")])

    assert params.filters == {"title": " 50% a_b \\ "}


@pytest.mark.parametrize(
    "key",
    ["filter", "filter[a][]", "filter[]", "filter[a][b]", "filter[a"],
)
def test_parse_refuses_a_filter_not_written_filter_name(key: str) -> None:
    with pytest.raises(InvalidFilterQuery) as raised:
        QueryParams.parse([(key, "x")])

    assert raised.value.key == "filter"
    assert f"`{key}`" in raised.value.message


@pytest.mark.parametrize("key", ["filtered", "filter_by", "fieldset"])
def test_parse_ignores_a_key_that_only_starts_like_a_grammar_key(key: str) -> None:
    # Outside the grammar, so ignored like any unknown parameter (`filters`, a near miss
    # of `filter`, is refused: see the near misses below).
    assert QueryParams.parse([(key, "x")]) == QueryParams()


def test_parse_reads_sorts_in_order_with_their_direction() -> None:
    assert QueryParams.parse([("sort", "-created_at,name, id ")]).sorts == (
        "-created_at",
        "name",
        "id",
    )


@pytest.mark.parametrize("value", [",,", "-", ",", "name,", ",name", "name,,id", "name,-"])
def test_parse_refuses_a_sort_with_an_empty_field(value: str) -> None:
    with pytest.raises(InvalidSortQuery) as raised:
        QueryParams.parse([("sort", value)])

    assert raised.value.key == "sort"


def test_parse_reads_includes_without_duplicates() -> None:
    params = QueryParams.parse([("include", "books.chapters, author,books.chapters")])

    assert params.includes == ("books.chapters", "author")


@pytest.mark.parametrize("value", ["..", "a..b", ",", ".a", "a.", "a,,b", "a,"])
def test_parse_refuses_a_malformed_include(value: str) -> None:
    with pytest.raises(InvalidIncludeQuery) as raised:
        QueryParams.parse([("include", value)])

    assert raised.value.key == "include"


@pytest.mark.parametrize("key", ["sort", "include"])
def test_parse_reads_an_empty_sort_or_include_as_none(key: str) -> None:
    params = QueryParams.parse([(key, "")])

    assert params.sorts == ()
    assert params.includes == ()


def test_parse_reads_page_and_per_page() -> None:
    params = QueryParams.parse([("page", "3"), ("per_page", "25")])

    assert (params.page, params.per_page) == (3, 25)


def test_parse_keeps_a_per_page_above_the_maximum_for_the_paginator_to_cap() -> None:
    assert QueryParams.parse([("per_page", "5000")]).per_page == 5000


@pytest.mark.parametrize("key", ["page", "per_page"])
@pytest.mark.parametrize(
    "value",
    [
        "0",
        "-1",
        "abc",
        "1.5",
        "1e3",
        "+1",
        " 1",
        "0x10",
        "99999999999999999999",
        "\u0661",  # ARABIC-INDIC DIGIT ONE: `int()` reads it, a page number must not.
        "\u00b2",  # SUPERSCRIPT TWO
        "\uff11",  # FULLWIDTH DIGIT ONE
    ],
)
def test_parse_refuses_a_page_that_is_not_a_whole_number_from_one(key: str, value: str) -> None:
    with pytest.raises(InvalidPaginationQuery) as raised:
        QueryParams.parse([(key, value)])

    assert raised.value.key == key
    assert key in raised.value.message


def test_parse_keeps_the_last_of_a_repeated_key_as_php_does() -> None:
    params = QueryParams.parse(
        [
            ("sort", "name"),
            ("sort", "-id"),
            ("filter[id]", "1"),
            ("filter[id]", "2"),
            ("include", "books"),
            ("include", "author"),
            ("page", "2"),
            ("page", "4"),
        ]
    )

    assert params.sorts == ("-id",)
    assert params.filters == {"id": "2"}
    assert params.includes == ("author",)
    assert params.page == 4


def test_parse_keeps_the_last_page_even_when_an_earlier_one_was_invalid() -> None:
    assert QueryParams.parse([("page", "abc"), ("page", "2")]).page == 2


def test_parse_ignores_unknown_keys() -> None:
    params = QueryParams.parse(
        [("foo", "bar"), ("utm_source", "mail"), ("sorting", "x"), ("pages", "0"), ("q", "")]
    )

    assert params == QueryParams()


@pytest.mark.parametrize(
    ("key", "error_key"),
    [("sort[]", "sort"), ("include[a]", "include"), ("page[number]", "page")],
)
def test_parse_refuses_a_bracketed_grammar_key(key: str, error_key: str) -> None:
    with pytest.raises(InvalidParameterQuery) as raised:
        QueryParams.parse([(key, "1")])

    assert raised.value.key == error_key


@pytest.mark.parametrize(
    ("key", "error_key"),
    [("filter[name]", "filter"), ("sort", "sort"), ("include", "include"), ("page", "page")],
)
def test_parse_refuses_an_over_long_value(key: str, error_key: str) -> None:
    with pytest.raises(InvalidQuery) as raised:
        QueryParams.parse([(key, "a" * (MAX_VALUE_LENGTH + 1))])

    assert raised.value.key == error_key
    assert str(MAX_VALUE_LENGTH) in raised.value.message


def test_parse_accepts_a_value_of_the_longest_length() -> None:
    value = "a" * MAX_VALUE_LENGTH

    assert QueryParams.parse([("filter[name]", value)]).filters == {"name": value}


def test_parse_ignores_an_over_long_value_of_an_unknown_key() -> None:
    # Unknown parameters are ignored whatever they hold (a long tracking token, say).
    assert QueryParams.parse([("utm_content", "a" * (MAX_VALUE_LENGTH + 1))]) == QueryParams()


# Near misses of the grammar's names

NEAR_MISSES = [
    ("perPage", "per_page"),
    ("per-page", "per_page"),
    ("PER_PAGE", "per_page"),
    ("perpage", "per_page"),
    ("limit", "per_page"),
    ("pageSize", "per_page"),
    ("page_size", "per_page"),
    ("page[size]", "per_page"),
    ("page[limit]", "per_page"),
    ("page[number]", "page"),
    ("Page", "page"),
    ("filters[status]", "filter[status]"),
    ("Filter[status]", "filter[status]"),
    ("sorts", "sort"),
    ("Sort", "sort"),
    ("orderBy", "sort"),
    ("sort_by", "sort"),
    ("includes", "include"),
    ("Include", "include"),
    ("field[bookings]", "fields[bookings]"),
    ("Fields", "fields"),
]


@pytest.mark.parametrize(("key", "meant"), NEAR_MISSES)
def test_a_near_miss_of_a_grammar_name_is_refused_naming_what_was_meant(
    key: str, meant: str
) -> None:
    with pytest.raises(InvalidParameterQuery) as raised:
        QueryParams.parse([("filter[id]", "1"), (key, "5")])

    assert raised.value.message == f"Unknown parameter `{key}`: did you mean `{meant}`?"
    assert raised.value.key == key.split("[", 1)[0]


@pytest.mark.parametrize(
    "key",
    [
        "utm_source",
        "include_cancelled",
        "no-cache",
        "format",
        "bom",
        "eventId",
        "ticketId",
        "ticket",
        "participant_type",
        "_",
        "q",
        "callback",
        "pages",
        "filtered",
    ],
)
def test_any_other_unknown_parameter_is_still_ignored(key: str) -> None:
    assert QueryParams.parse([(key, "x"), ("per_page", "5")]).per_page == 5


def test_a_grammar_name_written_right_is_never_a_near_miss() -> None:
    for key in ("filter[status]", "fields[bookings]", "fields", "sort", "include", "page"):
        assert meant_parameter(key) is None
    assert meant_parameter("per_page") is None
    assert meant_parameter("cursor") is None


def test_one_row_refuses_only_the_near_misses_of_what_it_takes() -> None:
    refuse_near_misses([("perPage", "5"), ("sorts", "id")], frozenset({"include", "fields"}))
    with pytest.raises(InvalidParameterQuery, match="did you mean `include`"):
        refuse_near_misses([("includes", "tickets")], frozenset({"include", "fields"}))
