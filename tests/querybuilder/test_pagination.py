"""Pagination: the page request, the count and page statements, and Laravel's envelope."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import Connection, select

from eventio.querybuilder import PageRequest, envelope, fetch_page
from eventio.querybuilder.pagination import count_statement
from tests.querybuilder.conftest import (
    POSTGRESQL,
    SQLITE,
    Library,
    StatementLog,
    authors_t,
    books_t,
    compiled,
    seed_many,
)

PATH = "http://api.test/authors"
META_KEYS = ["current_page", "from", "last_page", "links", "path", "per_page", "to", "total"]
PREVIOUS, NEXT = "&laquo; Previous", "Next &raquo;"


def items(count: int) -> list[dict[str, Any]]:
    return [{"id": i} for i in range(1, count + 1)]


def bound_ints(parameters: Any) -> list[int]:
    values = parameters.values() if isinstance(parameters, dict) else parameters
    return [value for value in values if isinstance(value, int)]


def link(url: str | None, label: str, active: bool = False) -> dict[str, Any]:
    return {"url": url, "label": label, "active": active}


def query_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


# The page request


def test_page_request_uses_the_default_per_page_when_none_is_asked() -> None:
    assert PageRequest.of(1, None, 15, 1000) == PageRequest(1, 15)


def test_page_request_serves_a_larger_per_page_as_the_maximum() -> None:
    assert PageRequest.of(2, 5000, 15, 1000) == PageRequest(2, 1000)
    assert PageRequest.of(2, 1000, 15, 1000) == PageRequest(2, 1000)


def test_page_request_keeps_a_per_page_within_the_maximum() -> None:
    assert PageRequest.of(3, 40, 15, 1000) == PageRequest(3, 40)


def test_page_request_offset_skips_the_earlier_pages() -> None:
    assert PageRequest(1, 15).offset == 0
    assert PageRequest(3, 40).offset == 80


# The statements


def test_count_statement_drops_the_ordering_and_keeps_the_filter(library: Library) -> None:
    statement = (
        library.authors.select()
        .where(authors_t.c.active.is_(True))
        .order_by(authors_t.c.last_name.desc(), authors_t.c.id)
    )

    for dialect in (POSTGRESQL, SQLITE):
        sql = compiled(count_statement(statement), dialect)
        assert "ORDER BY" not in sql
        assert sql.startswith("SELECT count(*) AS count_1 \nFROM authors \nWHERE authors.active")


def test_count_statement_counts_the_filtered_rows(seeded: Connection, library: Library) -> None:
    statement = library.books.select().where(books_t.c.published.is_(True)).order_by(books_t.c.id)

    assert seeded.execute(count_statement(statement)).scalar_one() == 5


def test_count_statement_keeps_a_join_in_from(seeded: Connection) -> None:
    joined = books_t.outerjoin(authors_t, authors_t.c.id == books_t.c.editor_id)
    statement = (
        select(books_t.c.id, authors_t.c.first_name.label("editor_name"))
        .select_from(joined)
        .where(authors_t.c.active.is_(True))
        .order_by(books_t.c.id)
    )

    assert seeded.execute(count_statement(statement)).scalar_one() == len(
        seeded.execute(statement).all()
    )
    assert seeded.execute(count_statement(statement)).scalar_one() == 2


def test_fetch_page_returns_the_page_rows_and_the_total(
    connection: Connection, library: Library, statements: StatementLog
) -> None:
    seed_many(connection, authors=40, books_each=0, chapters_each=0)
    statement = library.authors.select().order_by(authors_t.c.id)
    before = statements.count

    rows, total = fetch_page(connection, statement, PageRequest(3, 7))

    assert total == 40
    assert [row.id for row in rows] == list(range(15, 22))
    assert statements.count - before == 2
    count_sql, page_sql = statements.statements[before:]
    assert "count(*)" in count_sql
    assert "ORDER BY" not in count_sql
    assert "LIMIT" in page_sql
    assert "OFFSET" in page_sql
    assert bound_ints(statements.parameters[-1]) == [7, 14]


def test_fetch_page_returns_a_short_last_page(connection: Connection, library: Library) -> None:
    seed_many(connection, authors=40, books_each=0, chapters_each=0)
    statement = library.authors.select().order_by(authors_t.c.id)

    rows, total = fetch_page(connection, statement, PageRequest(3, 15))

    assert (total, [row.id for row in rows]) == (40, list(range(31, 41)))


@pytest.mark.parametrize(("total", "page"), [(40, 4), (40, 1000), (45, 4), (0, 1), (0, 2)])
def test_fetch_page_past_the_end_sends_only_the_count(
    connection: Connection,
    library: Library,
    statements: StatementLog,
    total: int,
    page: int,
) -> None:
    if total:
        seed_many(connection, authors=total, books_each=0, chapters_each=0)
    before = statements.count

    rows, counted = fetch_page(
        connection, library.authors.select().order_by(authors_t.c.id), PageRequest(page, 15)
    )

    assert (rows, counted) == ([], total)
    assert statements.count - before == 1


def test_fetch_page_takes_the_total_from_a_given_counter(
    seeded: Connection, library: Library, statements: StatementLog
) -> None:
    asked: list[str] = []

    def cached_count(statement: Any) -> int:
        asked.append(compiled(statement, SQLITE))
        return 5

    before = statements.count
    rows, total = fetch_page(
        seeded, library.authors.select().order_by(authors_t.c.id), PageRequest(1, 2), cached_count
    )

    assert (total, [row.id for row in rows]) == (5, [1, 2])
    assert statements.count - before == 1
    assert asked and "count(*)" in asked[0]


# The envelope


def test_envelope_of_a_first_page() -> None:
    body = envelope(items(15), 40, PageRequest(1, 15), PATH, [("sort", "-id")])

    assert list(body) == ["data", "links", "meta"]
    assert body["data"] == items(15)
    assert body["links"] == {
        "first": f"{PATH}?sort=-id&page=1",
        "last": f"{PATH}?sort=-id&page=3",
        "prev": None,
        "next": f"{PATH}?sort=-id&page=2",
    }
    assert body["meta"] == {
        "current_page": 1,
        "from": 1,
        "last_page": 3,
        "links": [
            link(None, PREVIOUS),
            link(f"{PATH}?sort=-id&page=1", "1", active=True),
            link(f"{PATH}?sort=-id&page=2", "2"),
            link(f"{PATH}?sort=-id&page=3", "3"),
            link(f"{PATH}?sort=-id&page=2", NEXT),
        ],
        "path": PATH,
        "per_page": 15,
        "to": 15,
        "total": 40,
    }
    assert list(body["meta"]) == META_KEYS


def test_envelope_of_a_middle_page() -> None:
    body = envelope(items(15), 40, PageRequest(2, 15), PATH, [("page", "2")])

    assert body["links"] == {
        "first": f"{PATH}?page=1",
        "last": f"{PATH}?page=3",
        "prev": f"{PATH}?page=1",
        "next": f"{PATH}?page=3",
    }
    assert (body["meta"]["from"], body["meta"]["to"]) == (16, 30)


def test_envelope_of_a_short_last_page() -> None:
    body = envelope(items(10), 40, PageRequest(3, 15), PATH, [])

    assert body["links"]["prev"] == f"{PATH}?page=2"
    assert body["links"]["next"] is None
    assert body["meta"] == {
        "current_page": 3,
        "from": 31,
        "last_page": 3,
        "links": [
            link(f"{PATH}?page=2", PREVIOUS),
            link(f"{PATH}?page=1", "1"),
            link(f"{PATH}?page=2", "2"),
            link(f"{PATH}?page=3", "3", active=True),
            link(None, NEXT),
        ],
        "path": PATH,
        "per_page": 15,
        "to": 40,
        "total": 40,
    }


def test_envelope_of_an_exactly_full_last_page_has_no_next() -> None:
    body = envelope(items(15), 45, PageRequest(3, 15), PATH, [])

    assert body["links"]["next"] is None
    assert (body["meta"]["last_page"], body["meta"]["to"]) == (3, 45)


def test_envelope_of_nothing_has_one_page_and_null_from_to() -> None:
    body = envelope([], 0, PageRequest(1, 15), PATH, [])

    assert body["links"] == {
        "first": f"{PATH}?page=1",
        "last": f"{PATH}?page=1",
        "prev": None,
        "next": None,
    }
    assert body["meta"] == {
        "current_page": 1,
        "from": None,
        "last_page": 1,
        "links": [link(None, PREVIOUS), link(f"{PATH}?page=1", "1", active=True), link(None, NEXT)],
        "path": PATH,
        "per_page": 15,
        "to": None,
        "total": 0,
    }


def test_envelope_of_a_page_past_the_end_is_empty_with_true_meta() -> None:
    body = envelope([], 40, PageRequest(7, 15), PATH, [("page", "7")])

    assert body["data"] == []
    assert body["links"] == {
        "first": f"{PATH}?page=1",
        "last": f"{PATH}?page=3",
        "prev": f"{PATH}?page=6",
        "next": None,
    }
    assert body["meta"] == {
        "current_page": 7,
        "from": None,
        "last_page": 3,
        "links": [
            link(f"{PATH}?page=6", PREVIOUS),
            link(f"{PATH}?page=1", "1"),
            link(f"{PATH}?page=2", "2"),
            link(f"{PATH}?page=3", "3"),
            link(None, NEXT),
        ],
        "path": PATH,
        "per_page": 15,
        "to": None,
        "total": 40,
    }


def test_envelope_says_the_per_page_actually_served() -> None:
    request = PageRequest.of(1, 5000, 15, 1000)

    body = envelope(items(3), 3, request, PATH, [("per_page", "5000")])

    assert body["meta"]["per_page"] == 1000
    assert body["meta"]["last_page"] == 1


def test_envelope_links_keep_every_other_parameter_and_replace_page() -> None:
    pairs = [
        ("filter[title]", "50% a_b&c"),
        ("page", "2"),
        ("sort", "-published,id"),
        ("include", "author,chapters"),
        ("per_page", "5"),
        ("utm_source", "mail"),
        ("page", "9"),
    ]

    body = envelope(items(5), 20, PageRequest(2, 5), PATH, pairs)

    others = [pair for pair in pairs if pair[0] != "page"]
    for name, page in [("first", 1), ("last", 4), ("prev", 1), ("next", 3)]:
        url = body["links"][name]
        assert url.startswith(f"{PATH}?")
        assert query_of(url) == [*others, ("page", str(page))]


def test_envelope_links_are_absolute_urls() -> None:
    body = envelope(
        items(1), 31, PageRequest(2, 15), "https://api.example.com/event/1/bookings", []
    )

    for url in body["links"].values():
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc, parts.path) == (
            "https",
            "api.example.com",
            "/event/1/bookings",
        )
