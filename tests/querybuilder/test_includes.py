"""Includes: allowed paths, the include tree, and eager loading one statement per level."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest
from sqlalchemy import JSON, Connection, bindparam
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from eventio.querybuilder import InvalidIncludeQuery, QueryParams, QuerySpec, Resource
from eventio.querybuilder import includes as include_paths
from eventio.querybuilder.includes import IncludeTree, load, relations, tree, with_parents
from eventio.querybuilder.plan_cache import PlanCache
from eventio.querybuilder.resource import Relation
from eventio.querybuilder.scope import IncludeScope, ScopeRule
from tests.querybuilder.conftest import (
    Library,
    StatementLog,
    books_t,
    chapters_t,
    no_scope,
    seed_many,
)


def loaded(
    connection: Connection | Session,
    resource: Resource,
    include_tree: IncludeTree,
    ids: Sequence[int] | None = None,
    scope: Any = no_scope,
) -> list[dict[str, Any]]:
    """The serialised rows of `resource` (those of `ids`, or all), with `include_tree` loaded."""
    statement = resource.select().order_by(resource.table.c.id)
    if ids is not None:
        statement = statement.where(resource.table.c.id.in_(ids))
    rows = connection.execute(statement).all()
    items = [resource.serialize(row) for row in rows]
    load(connection, resource, rows, items, include_tree, scope)
    return items


def bound_keys(parameters: Any) -> list[int]:
    """The integers bound to a statement (an IN list's keys, or PostgreSQL's one array
    for `= ANY(…)`), whatever the paramstyle."""
    values = parameters.values() if isinstance(parameters, dict) else parameters
    flat = [item for value in values for item in (value if isinstance(value, list) else [value])]
    return sorted(value for value in flat if isinstance(value, int))


# Declared paths and the tree


def test_with_parents_allows_every_prefix_of_a_nested_include() -> None:
    assert with_parents(["a.b.c", "d", "a.e"]) == ["a", "a.b", "a.b.c", "d", "a.e"]


def test_tree_nests_the_requested_paths() -> None:
    assert tree(["books.chapters", "editor", "books.author.books"]) == {
        "books": {"chapters": {}, "author": {"books": {}}},
        "editor": {},
    }


def test_spec_allows_the_parents_of_a_nested_include(library: Library) -> None:
    spec = QuerySpec(library.authors, includes=["books.chapters"])

    assert spec.allowed_includes == ("books", "books.chapters")
    assert spec.build(QueryParams(includes=("books",))).include_tree == {"books": {}}


def test_spec_builds_the_tree_of_the_requested_includes(library: Library) -> None:
    spec = QuerySpec(library.books, includes=["chapters", "author.books", "editor"])

    built = spec.build(QueryParams(includes=("author.books", "editor")))

    assert built.include_tree == {"author": {"books": {}}, "editor": {}}


def test_no_include_is_an_empty_tree(library: Library) -> None:
    spec = QuerySpec(library.books, includes=["chapters"])

    assert spec.build(QueryParams()).include_tree == {}


def test_unknown_include_is_refused_in_spatie_words(library: Library) -> None:
    spec = QuerySpec(library.books, includes=["author", "editor"])

    with pytest.raises(InvalidIncludeQuery) as raised:
        spec.build(QueryParams(includes=("chapters", "author", "publisher")))

    assert raised.value.key == "include"
    assert raised.value.message == (
        "Requested include(s) `chapters, publisher` are not allowed. "
        "Allowed include(s) are `author, editor`."
    )


def test_a_nested_include_beyond_the_declared_depth_is_refused(library: Library) -> None:
    spec = QuerySpec(library.authors, includes=["books"])

    with pytest.raises(InvalidIncludeQuery, match=r"`books\.chapters`"):
        spec.build(QueryParams(includes=("books.chapters",)))


def test_endpoint_with_no_allowed_includes_refuses_any_include(library: Library) -> None:
    spec = QuerySpec(library.books)

    with pytest.raises(InvalidIncludeQuery) as raised:
        spec.build(QueryParams(includes=("author",)))

    assert raised.value.key == "include"
    assert "`author`" in raised.value.message


@pytest.mark.parametrize("path", ["publisher", "author.publisher", "chapters.book.pages"])
def test_declaring_an_include_that_does_not_exist_fails_at_declaration(
    library: Library, path: str
) -> None:
    with pytest.raises(KeyError, match=path.rsplit(".", 1)[-1]):
        QuerySpec(library.books, includes=[path])


def test_relating_on_a_column_not_selected_fails(library: Library) -> None:
    with pytest.raises(KeyError):
        library.books.relate("author", library.authors, "writer_id", "id", many=False)


def test_relations_walks_the_tree_depth_first(library: Library) -> None:
    walked = relations(library.authors, {"books": {"chapters": {}, "editor": {}}})

    assert [(r.name, r.target.name) for r in walked] == [
        ("books", "books"),
        ("chapters", "chapters"),
        ("editor", "authors"),
    ]


# Loading


def test_load_attaches_a_many_relation_as_a_list_ordered_by_id(
    seeded: Connection, library: Library
) -> None:
    authors = loaded(seeded, library.authors, {"books": {}})

    assert [[book["id"] for book in author["books"]] for author in authors] == [
        [1, 2],
        [3, 4],
        [5, 6],
        [7],
        [],
    ]
    assert authors[0]["books"][0] == {
        "id": 1,
        "author_id": 1,
        "editor_id": 2,
        "title": "50% Off",
        "published": True,
        "published_on": date(2024, 1, 1),
    }


def test_load_attaches_a_one_relation_as_an_object_or_none(
    seeded: Connection, library: Library
) -> None:
    books = loaded(seeded, library.books, {"author": {}, "editor": {}})

    assert [book["author"]["id"] for book in books] == [1, 1, 2, 2, 3, 3, 4]
    assert [book["editor"] and book["editor"]["id"] for book in books] == [
        2,
        None,
        1,
        None,
        3,
        None,
        None,
    ]
    assert books[0]["author"] == {
        "id": 1,
        "full_name": "Ada Lovelace",
        "email": "ada@example.com",
        "active": True,
    }


def test_load_follows_a_nested_include(seeded: Connection, library: Library) -> None:
    authors = loaded(seeded, library.authors, {"books": {"chapters": {}}}, ids=[1, 2])

    assert [
        {book["id"]: [chapter["title"] for chapter in book["chapters"]] for book in a["books"]}
        for a in authors
    ] == [
        {1: ["Opening", "Middle", "Close"], 2: ["Only"]},
        {3: [], 4: ["First", "Second"]},
    ]


def test_load_nested_through_a_one_relation(seeded: Connection, library: Library) -> None:
    chapters = loaded(seeded, library.chapters, {"book": {"author": {}}}, ids=[4, 5])

    assert [(c["book"]["title"], c["book"]["author"]["full_name"]) for c in chapters] == [
        ("500 Days", "Ada Lovelace"),
        ("The axb Test", "Charles Babbage"),
    ]


def test_load_fetches_each_parent_key_once(
    seeded: Connection, library: Library, statements: StatementLog
) -> None:
    rows = seeded.execute(library.books.select().order_by(books_t.c.id)).all()
    items = [library.books.serialize(row) for row in rows]
    statements.statements.clear()
    statements.parameters.clear()

    load(seeded, library.books, rows, items, {"author": {}}, no_scope)

    assert statements.count == 1
    assert bound_keys(statements.parameters[0]) == [1, 2, 3, 4]


@pytest.mark.parametrize("parents", [5, 50])
def test_load_sends_one_statement_per_many_relation_whatever_the_parents(
    connection: Connection, library: Library, statements: StatementLog, parents: int
) -> None:
    seed_many(connection, authors=50, books_each=3, chapters_each=2)
    rows = connection.execute(
        library.authors.select().order_by(library.authors.table.c.id).limit(parents)
    ).all()
    items = [library.authors.serialize(row) for row in rows]
    before = statements.count

    load(
        connection,
        library.authors,
        rows,
        items,
        {"books": {"chapters": {}, "editor": {}}},
        no_scope,
    )

    # books (with each book's editor joined in: one row each), then chapters.
    assert statements.count - before == 2
    assert all(len(item["books"]) == 3 for item in items)
    assert all(len(book["chapters"]) == 2 for item in items for book in item["books"])
    assert all(book["editor"] is not None for item in items for book in item["books"])


def test_load_joins_a_nested_one_relation_and_keeps_null_for_a_missing_row(
    seeded: Connection, library: Library, statements: StatementLog
) -> None:
    rows = seeded.execute(library.authors.select().order_by(library.authors.table.c.id)).all()
    items = [library.authors.serialize(row) for row in rows]
    before = statements.count
    load(seeded, library.authors, rows, items, {"books": {"editor": {}}}, no_scope)
    assert statements.count - before == 1
    books = [book for item in items for book in item["books"]]
    editor_ids = {row.id: row.editor_id for row in seeded.execute(library.books.select()).all()}
    for book in books:
        if editor_ids[book["id"]] is None:
            assert book["editor"] is None
        else:
            assert book["editor"]["id"] == editor_ids[book["id"]]


def test_load_sends_no_statement_when_every_key_is_null(
    seeded: Connection, library: Library, statements: StatementLog
) -> None:
    rows = seeded.execute(library.books.select().where(books_t.c.editor_id.is_(None))).all()
    items = [library.books.serialize(row) for row in rows]
    before = statements.count

    load(seeded, library.books, rows, items, {"editor": {"books": {}}}, no_scope)

    assert statements.count == before
    assert [item["editor"] for item in items] == [None, None, None, None]


def test_load_splits_a_long_key_list_into_chunks(
    seeded: Connection,
    library: Library,
    statements: StatementLog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(include_paths, "KEYS_PER_STATEMENT", 2)
    rows = seeded.execute(library.books.select().order_by(books_t.c.id)).all()
    items = [library.books.serialize(row) for row in rows]
    before = statements.count

    load(seeded, library.books, rows, items, {"chapters": {}}, no_scope)

    assert statements.count - before == 4  # seven books, two keys a statement
    assert [[c["id"] for c in item["chapters"]] for item in items] == [
        [1, 2, 3],
        [4],
        [],
        [5, 6],
        [],
        [],
        [],
    ]


def test_scope_criteria_restrict_the_included_rows(seeded: Connection, library: Library) -> None:
    def published_only(relation: Relation) -> Sequence[ColumnElement[bool]]:
        return (books_t.c.published.is_(True),) if relation.target.table is books_t else ()

    authors = loaded(seeded, library.authors, {"books": {"chapters": {}}}, scope=published_only)

    assert [[book["id"] for book in author["books"]] for author in authors] == [
        [1],
        [3, 4],
        [6],
        [7],
        [],
    ]
    # The chapters of the unpublished book 2 are not reached either.
    assert [c["id"] for c in authors[0]["books"][0]["chapters"]] == [1, 2, 3]


def test_scope_is_asked_for_every_relation_loaded(seeded: Connection, library: Library) -> None:
    asked: list[str] = []

    def recording(relation: Relation) -> Sequence[ColumnElement[bool]]:
        asked.append(relation.name)
        return (chapters_t.c.number > 1,) if relation.name == "chapters" else ()

    books = loaded(seeded, library.books, {"chapters": {}, "author": {}}, ids=[1])

    assert [c["number"] for c in books[0]["chapters"]] == [1, 2, 3]
    books = loaded(seeded, library.books, {"chapters": {}, "author": {}}, ids=[1], scope=recording)

    assert sorted(asked) == ["author", "chapters"]
    assert [c["number"] for c in books[0]["chapters"]] == [2, 3]


def test_load_works_on_an_orm_session(seeded: Connection, library: Library) -> None:
    with Session(bind=seeded) as session:
        books = loaded(session, library.books, {"author": {}}, ids=[3])

    assert books[0]["author"]["full_name"] == "Charles Babbage"


# Include statements built once


def test_a_scope_with_other_values_never_reuses_a_built_statement(
    seeded: Connection, library: Library
) -> None:
    """Statements are kept by the scope's values too: another event or caller gets its own."""

    def after(number: int) -> Any:
        def scope(relation: Relation) -> Sequence[ColumnElement[bool]]:
            return (chapters_t.c.number > number,) if relation.name == "chapters" else ()

        return scope

    first = loaded(seeded, library.books, {"chapters": {}}, ids=[1], scope=after(1))
    second = loaded(seeded, library.books, {"chapters": {}}, ids=[1], scope=after(2))
    again = loaded(seeded, library.books, {"chapters": {}}, ids=[1], scope=after(1))

    assert [c["number"] for c in first[0]["chapters"]] == [2, 3]
    assert [c["number"] for c in second[0]["chapters"]] == [3]
    assert [c["number"] for c in again[0]["chapters"]] == [2, 3]


def test_the_same_include_is_built_once_and_bound_to_each_request_keys(
    seeded: Connection, library: Library
) -> None:
    chapters = library.books.relations["chapters"]
    dialect = seeded.dialect.name
    plan = include_paths.plan_includes(library.books, {"chapters": {}}, no_scope, dialect)
    statements = dict(plan.fetched[0].statements)

    def served(ids: list[int]) -> list[dict[str, Any]]:
        statement = library.books.select().where(books_t.c.id.in_(ids)).order_by(books_t.c.id)
        rows = seeded.execute(statement).all()
        items = [library.books.serialize(row) for row in rows]
        plan.attach(seeded, rows, items)
        return items

    one, two = served([1]), served([2, 4])
    served([3])

    assert dict(plan.fetched[0].statements) == statements  # built with the plan, reused
    assert plan.fetched[0].relation is chapters
    # PostgreSQL binds one key as one value (its own statement); elsewhere one serves all.
    uncapped = {id(s) for (_, capped), s in statements.items() if not capped}
    assert len(uncapped) == (2 if dialect == "postgresql" else 1)
    assert {c["book_id"] for c in one[0]["chapters"]} == {1}
    assert [{c["book_id"] for c in book["chapters"]} for book in two] == [{2}, {4}]


def test_built_statements_are_bounded_least_recently_used_first() -> None:
    kept: PlanCache[int] = PlanCache(size=2)
    made = iter(range(100))

    def build() -> Any:
        return next(made)

    assert [kept.get((key,), build) for key in ("a", "b", "a", "c", "b")] == [0, 1, 0, 2, 3]
    assert len(kept) == 2


def test_a_scope_of_value_lists_is_told_apart_by_its_values(
    seeded: Connection, library: Library
) -> None:
    def numbered(numbers: list[int]) -> Any:
        def scope(relation: Relation) -> Sequence[ColumnElement[bool]]:
            return (chapters_t.c.number.in_(numbers),) if relation.name == "chapters" else ()

        return scope

    first = loaded(seeded, library.books, {"chapters": {}}, ids=[1], scope=numbered([1, 2]))
    second = loaded(seeded, library.books, {"chapters": {}}, ids=[1], scope=numbered([3]))

    assert [c["number"] for c in first[0]["chapters"]] == [1, 2]
    assert [c["number"] for c in second[0]["chapters"]] == [3]


def test_a_scope_whose_values_cannot_be_hashed_still_narrows_its_plan(
    seeded: Connection, library: Library
) -> None:
    """Plans are kept by the scope's data (`IncludeScope`), never by the SQL its rule
    builds: a condition binding an unhashable value serves as any other."""
    unhashable = chapters_t.c.title != bindparam("title", value={"not": "hashable"}, type_=JSON)

    def narrow(relation: Relation, scope: IncludeScope) -> Sequence[ColumnElement[bool]]:
        return (unhashable,) if relation.name == "chapters" else ()

    rule = ScopeRule(narrow)
    kept: PlanCache[Any] = PlanCache()
    scope = IncludeScope(event_id=1)

    def build() -> Any:
        return include_paths.plan_includes(
            library.books, {"chapters": {}}, rule.bind(scope), seeded.dialect.name
        )

    plan = kept.get(("books", scope), build)
    assert kept.get(("books", IncludeScope(event_id=1)), build) is plan
    assert kept.get(("books", IncludeScope(event_id=2)), build) is not plan
    assert len(kept) == 2


def test_a_one_row_plan_joins_its_to_one_includes_and_reads_them_by_name(
    seeded: Connection, library: Library, statements: StatementLog
) -> None:
    plan = include_paths.plan_includes(
        library.chapters, {"book": {"author": {}}}, no_scope, seeded.dialect.name, join_root=True
    )
    statement = plan.into(library.chapters.select()).where(chapters_t.c.id.in_([4, 5]))
    before = statements.count
    rows = seeded.execute(statement.order_by(chapters_t.c.id)).all()
    chapters = plan.serialize(rows, on=seeded)

    assert statements.count - before == 1  # the book and its author ride along
    assert [(c["book"]["title"], c["book"]["author"]["full_name"]) for c in chapters] == [
        ("500 Days", "Ada Lovelace"),
        ("The axb Test", "Charles Babbage"),
    ]
    assert chapters == loaded(seeded, library.chapters, {"book": {"author": {}}}, ids=[4, 5])
