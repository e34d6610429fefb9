"""The whole query: parse, check against a declaration, narrow a statement, page and include."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import Connection

from eventio.querybuilder import (
    AllowedFilter,
    AllowedSort,
    InvalidFilterQuery,
    InvalidIncludeQuery,
    InvalidSortQuery,
    PageRequest,
    QueryParams,
    QuerySpec,
    envelope,
    fetch_page,
)
from eventio.querybuilder.includes import load
from tests.querybuilder.conftest import (
    POSTGRESQL,
    Library,
    StatementLog,
    apply,
    books_t,
    compiled,
    no_scope,
    parse,
    seed_many,
)

PATH = "http://api.test/books"


def books_spec(library: Library) -> QuerySpec:
    return QuerySpec(
        library.books,
        filters=[
            AllowedFilter.exact("id"),
            AllowedFilter.exact("author_id"),
            AllowedFilter.partial("title"),
            AllowedFilter.boolean("published"),
        ],
        sorts=["title", AllowedSort.field("author", "author_id"), "id"],
        includes=["author", "editor", "chapters"],
    )


def serve(connection: Connection, spec: QuerySpec, query: str) -> dict[str, Any]:
    """What a list endpoint does with a query string, minus HTTP."""
    params = parse(query)
    built = spec.build(params)
    resource = spec.resource
    statement = apply(built, resource.select(), resource)
    page = PageRequest.of(params.page, params.per_page, 15, 1000)
    rows, total = fetch_page(connection, statement, page)
    items = [resource.serialize(row) for row in rows]
    if built.include_tree and rows:
        load(connection, resource, rows, items, built.include_tree, no_scope)
    return envelope(items, total, page, PATH, parse_qsl(query, keep_blank_values=True))


def test_spec_lists_its_public_names(library: Library) -> None:
    spec = books_spec(library)

    assert spec.filter_names == ["id", "author_id", "title", "published"]
    assert spec.sort_names == ["title", "author", "id"]


def test_apply_keeps_the_views_own_criteria(seeded: Connection, library: Library) -> None:
    built = books_spec(library).build(QueryParams(filters={"published": "true"}))
    view = library.books.select().where(books_t.c.author_id == 2)

    rows = seeded.execute(apply(built, view, library.books)).all()

    assert [row.id for row in rows] == [3, 4]


def test_applied_statement_sql_filters_then_orders(library: Library) -> None:
    params = QueryParams(filters={"published": "true", "title": "50%"}, sorts=("-author",))
    built = books_spec(library).build(params)

    statement = apply(built, library.books.select(), library.books)
    sql = compiled(statement, POSTGRESQL, literal=True)

    assert sql.endswith(
        "FROM books \nWHERE books.published = true "
        "AND books.title ILIKE '%%50\\%%%%' ESCAPE '\\' "
        "ORDER BY books.author_id DESC, books.id ASC"
    )


def test_building_twice_from_one_spec_gives_independent_queries(library: Library) -> None:
    spec = books_spec(library)

    first = spec.build(QueryParams(filters={"id": "1"}, sorts=("title",)))
    second = spec.build(QueryParams())

    assert len(first.criteria) == 1
    assert second.criteria == []
    assert [s.sort.name for s in second.sorts] == []


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("filter[price]=1", InvalidFilterQuery),
        ("filter[id]=abc", InvalidFilterQuery),
        ("sort=price", InvalidSortQuery),
        ("include=publisher", InvalidIncludeQuery),
    ],
)
def test_build_refuses_what_the_spec_does_not_allow(
    library: Library, query: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        books_spec(library).build(parse(query))


def test_served_list_filters_sorts_pages_and_includes(seeded: Connection, library: Library) -> None:
    query = "filter[published]=1&sort=-author&include=author,chapters&page=2&per_page=2&x=y"

    body = serve(seeded, books_spec(library), query)

    # Published books by author descending, then id: 7, 6, 3, 4, 1; page 2 holds 3 and 4.
    assert [book["id"] for book in body["data"]] == [3, 4]
    assert [book["author"]["full_name"] for book in body["data"]] == [
        "Charles Babbage",
        "Charles Babbage",
    ]
    assert [[c["title"] for c in book["chapters"]] for book in body["data"]] == [
        [],
        ["First", "Second"],
    ]
    assert "editor" not in body["data"][0]
    page_links = body["meta"].pop("links")
    assert [(link["label"], link["active"]) for link in page_links] == [
        ("&laquo; Previous", False),
        ("1", False),
        ("2", True),
        ("3", False),
        ("Next &raquo;", False),
    ]
    assert page_links[-1]["url"] == body["links"]["next"]
    assert body["meta"] == {
        "current_page": 2,
        "from": 3,
        "last_page": 3,
        "path": PATH,
        "per_page": 2,
        "to": 4,
        "total": 5,
    }
    assert parse_qsl(urlsplit(body["links"]["next"]).query) == [
        ("filter[published]", "1"),
        ("sort", "-author"),
        ("include", "author,chapters"),
        ("per_page", "2"),
        ("x", "y"),
        ("page", "3"),
    ]


def test_served_page_past_the_end_is_empty_with_meta(seeded: Connection, library: Library) -> None:
    body = serve(seeded, books_spec(library), "filter[title]=the&page=3&include=author")

    assert body["data"] == []
    assert (body["meta"]["total"], body["meta"]["last_page"]) == (3, 1)
    assert (body["meta"]["from"], body["meta"]["to"]) == (None, None)


@pytest.mark.parametrize("per_page", [5, 50])
def test_served_list_statement_count_does_not_grow_with_the_page_size(
    connection: Connection, library: Library, statements: StatementLog, per_page: int
) -> None:
    seed_many(connection, authors=30, books_each=2, chapters_each=3)
    before = statements.count

    body = serve(
        connection,
        books_spec(library),
        f"include=author,editor,chapters&per_page={per_page}&sort=-author",
    )

    assert len(body["data"]) == per_page
    # count, page, then one statement per included relation.
    assert statements.count - before == 5
    assert all(len(book["chapters"]) == 3 for book in body["data"])
