"""Sorts: allowed names, direction, the `id` tie-break, and the order of real rows."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import Connection
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect

from eventio.querybuilder import AllowedSort, InvalidSortQuery, QueryParams, QuerySpec
from eventio.querybuilder.sorts import split_direction
from tests.querybuilder.conftest import POSTGRESQL, SQLITE, Library, apply, compiled

MYSQL: Dialect = mysql.dialect()  # type: ignore[no-untyped-call]

BOOK_SORTS: list[AllowedSort | str] = [
    "title",
    "published",
    AllowedSort.field("author", "author_id"),
    AllowedSort.field("editor", "editor_id"),
    "id",
]


def books_spec(library: Library) -> QuerySpec:
    return QuerySpec(library.books, sorts=BOOK_SORTS)


def sorted_book_ids(connection: Connection, library: Library, sorts: Sequence[str]) -> list[int]:
    built = books_spec(library).build(QueryParams(sorts=tuple(sorts)))
    statement = apply(built, library.books.select(), library.books)
    return [row.id for row in connection.execute(statement)]


def order_by_sql(library: Library, sorts: Sequence[str], dialect: Dialect) -> str:
    built = books_spec(library).build(QueryParams(sorts=tuple(sorts)))
    statement = apply(built, library.books.select(), library.books)
    return compiled(statement, dialect).split("ORDER BY ", 1)[1]


def test_split_direction_reads_a_leading_dash_as_descending() -> None:
    assert split_direction("-created_at") == ("created_at", True)
    assert split_direction("created_at") == ("created_at", False)


def test_allowed_sort_field_keeps_public_and_internal_names() -> None:
    assert AllowedSort.field("author", "author_id") == AllowedSort("author", "author_id")
    assert AllowedSort.field("title") == AllowedSort("title", "title")


def test_spec_takes_sorts_as_names_or_declarations(library: Library) -> None:
    assert books_spec(library).sort_names == ["title", "published", "author", "editor", "id"]


def test_no_sort_orders_by_id_ascending(seeded: Connection, library: Library) -> None:
    assert sorted_book_ids(seeded, library, []) == [1, 2, 3, 4, 5, 6, 7]
    assert order_by_sql(library, [], POSTGRESQL) == "books.id ASC"


def test_sort_ascending_then_id(seeded: Connection, library: Library) -> None:
    assert sorted_book_ids(seeded, library, ["author"]) == [1, 2, 3, 4, 5, 6, 7]
    assert sorted_book_ids(seeded, library, ["published"]) == [2, 5, 1, 3, 4, 6, 7]


def test_descending_sort_keeps_the_id_tie_break_ascending(
    seeded: Connection, library: Library
) -> None:
    assert sorted_book_ids(seeded, library, ["-author"]) == [7, 5, 6, 3, 4, 1, 2]
    assert sorted_book_ids(seeded, library, ["-published"]) == [1, 3, 4, 6, 7, 2, 5]


def test_several_sorts_apply_in_the_order_asked(seeded: Connection, library: Library) -> None:
    assert sorted_book_ids(seeded, library, ["-published", "-author"]) == [7, 6, 3, 4, 1, 5, 2]
    assert sorted_book_ids(seeded, library, ["published", "-id"]) == [5, 2, 7, 6, 4, 3, 1]


def test_sort_by_id_descending_is_not_followed_by_id_ascending(
    seeded: Connection, library: Library
) -> None:
    assert sorted_book_ids(seeded, library, ["-id"]) == [7, 6, 5, 4, 3, 2, 1]
    assert order_by_sql(library, ["-id"], POSTGRESQL) == "books.id DESC"


def test_sort_by_id_then_another_key_keeps_id_where_asked(library: Library) -> None:
    assert order_by_sql(library, ["id", "-author"], POSTGRESQL) == (
        "books.id ASC, books.author_id DESC"
    )


def test_order_by_sql_names_the_internal_columns_then_id(library: Library) -> None:
    assert order_by_sql(library, ["-author", "published"], POSTGRESQL) == (
        "books.author_id DESC, books.published ASC, books.id ASC"
    )
    assert order_by_sql(library, ["-author", "published"], SQLITE) == (
        "books.author_id DESC, books.published ASC, books.id ASC"
    )


def test_sort_on_a_nullable_column_puts_nulls_in_one_place_on_every_database(
    seeded: Connection, library: Library
) -> None:
    # Books 2, 4, 6 and 7 have no editor: last ascending, first descending, as PostgreSQL.
    assert sorted_book_ids(seeded, library, ["editor"]) == [3, 1, 5, 2, 4, 6, 7]
    assert sorted_book_ids(seeded, library, ["-editor"]) == [2, 4, 6, 7, 5, 1, 3]


def test_nulls_are_placed_in_sql_each_database_reads(library: Library) -> None:
    """PostgreSQL keeps `NULLS FIRST/LAST` (its indexes serve it); MySQL has no such
    syntax and sorts on `IS NULL` first, to the same order."""
    assert order_by_sql(library, ["editor", "-author"], POSTGRESQL) == (
        "books.editor_id ASC NULLS LAST, books.author_id DESC, books.id ASC"
    )
    assert order_by_sql(library, ["-editor"], POSTGRESQL) == (
        "books.editor_id DESC NULLS FIRST, books.id ASC"
    )
    assert order_by_sql(library, ["-editor"], SQLITE) == (
        "books.editor_id DESC NULLS FIRST, books.id ASC"
    )
    assert order_by_sql(library, ["editor"], MYSQL) == (
        "books.editor_id IS NULL ASC, books.editor_id ASC, books.id ASC"
    )
    assert order_by_sql(library, ["-editor"], MYSQL) == (
        "books.editor_id IS NULL DESC, books.editor_id DESC, books.id ASC"
    )


def test_built_query_reports_the_requested_sorts(library: Library) -> None:
    built = books_spec(library).build(QueryParams(sorts=("-author", "title")))

    assert [(s.sort.name, s.descending) for s in built.sorts] == [
        ("author", True),
        ("title", False),
    ]


def test_unknown_sort_is_refused_in_spatie_words(library: Library) -> None:
    spec = QuerySpec(library.books, sorts=["title", AllowedSort.field("author", "author_id")])

    with pytest.raises(InvalidSortQuery) as raised:
        spec.build(QueryParams(sorts=("-price", "title", "year")))

    assert raised.value.key == "sort"
    assert raised.value.message == (
        "Requested sort(s) `price, year` is not allowed. Allowed sort(s) are `title, author`."
    )


def test_sort_by_internal_name_is_not_a_public_name(library: Library) -> None:
    spec = QuerySpec(library.books, sorts=[AllowedSort.field("author", "author_id")])

    with pytest.raises(InvalidSortQuery, match="`author_id`"):
        spec.build(QueryParams(sorts=("author_id",)))


def test_endpoint_with_no_allowed_sorts_refuses_any_sort(library: Library) -> None:
    spec = QuerySpec(library.books)

    with pytest.raises(InvalidSortQuery) as raised:
        spec.build(QueryParams(sorts=("id",)))

    assert raised.value.key == "sort"
    assert "`id`" in raised.value.message


def test_endpoint_with_no_allowed_sorts_still_orders_by_id(library: Library) -> None:
    built = QuerySpec(library.books).build(QueryParams())

    statement = apply(built, library.books.select(), library.books)

    assert compiled(statement, POSTGRESQL).endswith("ORDER BY books.id ASC")


def test_declaring_a_sort_on_a_missing_column_fails_at_declaration(library: Library) -> None:
    with pytest.raises(KeyError, match="price"):
        QuerySpec(library.books, sorts=["price"])


def test_sort_on_a_labelled_expression(seeded: Connection, library: Library) -> None:
    spec = QuerySpec(library.authors, sorts=[AllowedSort.field("name", "full_name")])
    built = spec.build(QueryParams(sorts=("-name",)))

    rows = seeded.execute(apply(built, library.authors.select(), library.authors))

    # `alan turing` is left out: where lower case sorts depends on the collation.
    assert [row.full_name for row in rows if row.id != 4] == [
        "Grace Hopper",
        "Edsger Dijkstra",
        "Charles Babbage",
        "Ada Lovelace",
    ]
