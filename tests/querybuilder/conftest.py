"""A small authors / books / chapters library on a bare SQLAlchemy engine: no Flask, no app."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import pytest
from marshmallow import Schema, fields
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    Select,
    String,
    Table,
    create_engine,
    event,
    func,
    insert,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, Row
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.elements import ColumnElement

from eventio.db import dialects
from eventio.querybuilder import BuiltQuery, QueryParams, Resource
from eventio.querybuilder.resource import Relation, Serializer
from eventio.schemas.plan import serializer_for

POSTGRESQL: Dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
SQLITE: Dialect = sqlite.dialect()

ID = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()
authors_t = Table(
    "authors",
    metadata,
    Column("id", ID, primary_key=True),
    Column("first_name", String(100), nullable=False),
    Column("last_name", String(100)),
    Column("email", String(200)),
    Column("active", Boolean, nullable=False),
    Column("born_on", Date),
    Column("rating", Numeric(4, 2)),
    Column("updated_at", DateTime()),
)
books_t = Table(
    "books",
    metadata,
    Column("id", ID, primary_key=True),
    Column("author_id", ID, ForeignKey("authors.id"), nullable=False),
    Column("editor_id", ID, ForeignKey("authors.id")),
    Column("title", String(200), nullable=False),
    Column("published", Boolean, nullable=False),
    Column("published_on", Date),
)
chapters_t = Table(
    "chapters",
    metadata,
    Column("id", ID, primary_key=True),
    Column("book_id", ID, ForeignKey("books.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("title", String(200), nullable=False),
)

AUTHORS: list[dict[str, Any]] = [
    {
        "id": 1,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "active": True,
        "born_on": date(1815, 12, 10),
        "rating": Decimal("4.50"),
        "updated_at": datetime(2024, 1, 10, 12, 0, 0),
    },
    {
        "id": 2,
        "first_name": "Charles",
        "last_name": "Babbage",
        "email": "charles@example.com",
        "active": True,
        "born_on": date(1791, 12, 26),
        "rating": Decimal("3.75"),
        "updated_at": datetime(2024, 1, 10, 11, 59, 59, 999999),
    },
    {
        "id": 3,
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": None,
        "active": False,
        "born_on": date(1906, 12, 9),
        "rating": Decimal("4.50"),
        "updated_at": datetime(2024, 1, 11, 0, 0, 0),
    },
    {
        "id": 4,
        "first_name": "alan",
        "last_name": "turing",
        "email": "ALAN@EXAMPLE.COM",
        "active": True,
        "born_on": date(1912, 6, 23),
        "rating": None,
        "updated_at": None,
    },
    {
        "id": 5,
        "first_name": "Edsger",
        "last_name": "Dijkstra",
        "email": "edsger@example.com",
        "active": False,
        "born_on": date(1930, 5, 11),
        "rating": Decimal("2.00"),
        "updated_at": datetime(2024, 1, 9, 23, 59, 59),
    },
]
# Titles chosen to catch LIKE wildcards and escapes: `%`, `_` and `\` must stay literal.
BOOKS: list[dict[str, Any]] = [
    {"id": 1, "author_id": 1, "editor_id": 2, "title": "50% Off", "published": True},
    {"id": 2, "author_id": 1, "editor_id": None, "title": "500 Days", "published": False},
    {"id": 3, "author_id": 2, "editor_id": 1, "title": "The a_b Test", "published": True},
    {"id": 4, "author_id": 2, "editor_id": None, "title": "The axb Test", "published": True},
    {"id": 5, "author_id": 3, "editor_id": 3, "title": "Back\\slash", "published": False},
    {"id": 6, "author_id": 3, "editor_id": None, "title": "Backslash", "published": True},
    {"id": 7, "author_id": 4, "editor_id": None, "title": "The Percentage", "published": True},
]
for _book in BOOKS:
    _book["published_on"] = date(2024, 1, _book["id"])
CHAPTERS: list[dict[str, Any]] = [
    {"id": 1, "book_id": 1, "number": 1, "title": "Opening"},
    {"id": 2, "book_id": 1, "number": 2, "title": "Middle"},
    {"id": 3, "book_id": 1, "number": 3, "title": "Close"},
    {"id": 4, "book_id": 2, "number": 1, "title": "Only"},
    {"id": 5, "book_id": 4, "number": 1, "title": "First"},
    {"id": 6, "book_id": 4, "number": 2, "title": "Second"},
]


class AuthorSchema(Schema):
    id = fields.Integer()
    full_name = fields.String()
    email = fields.String()
    active = fields.Boolean()


def row_as_dict(keys: Sequence[str], only: frozenset[str] | None = None) -> Serializer:
    """The simplest serializer a `Resource` takes: the selected columns by key (or `only`)."""

    def serialize(row: Row[Any]) -> dict[str, Any]:
        return {
            key: value for key, value in zip(keys, row, strict=True) if only is None or key in only
        }

    return serialize


@dataclass
class Library:
    """The three resources, related as an API would relate them."""

    authors: Resource
    books: Resource
    chapters: Resource


def make_library() -> Library:
    full_name = func.trim(
        func.coalesce(authors_t.c.first_name, "") + " " + func.coalesce(authors_t.c.last_name, "")
    ).label("full_name")
    authors = Resource(
        "authors", authors_t, [*authors_t.c, full_name], serializer_for(AuthorSchema), "people"
    )
    books = Resource("books", books_t, list(books_t.c), row_as_dict, "books")
    chapters = Resource("chapters", chapters_t, list(chapters_t.c), row_as_dict, "books")
    authors.relate("books", books, "id", "author_id", many=True)
    books.relate("author", authors, "author_id", "id", many=False)
    books.relate("editor", authors, "editor_id", "id", many=False)
    books.relate("chapters", chapters, "id", "book_id", many=True)
    chapters.relate("book", books, "book_id", "id", many=False)
    return Library(authors, books, chapters)


@pytest.fixture(autouse=True)
def clean_database() -> None:
    """Replace the suite's app-backed cleanup: these tests never start Flask."""


@pytest.fixture
def library() -> Library:
    return make_library()


def database_urls() -> list[str]:
    """SQLite always; PostgreSQL too when the suite is pointed at one."""
    urls = ["sqlite://"]
    configured = os.environ.get("TEST_DATABASE_URL", "")
    if configured.startswith("postgresql"):
        urls.append(configured)
    return urls


@pytest.fixture(params=database_urls(), ids=lambda url: url.split(":", 1)[0].split("+")[0])
def connection(request: pytest.FixtureRequest) -> Iterator[Connection]:
    """Empty library tables in one transaction, rolled back after the test."""
    engine = create_engine(request.param)
    dialects.install(engine)
    with engine.connect() as conn:
        transaction = conn.begin()
        if conn.dialect.name == "postgresql":
            # A schema of its own, dropped with the rollback: parallel runs never meet.
            schema = f"qb_{uuid.uuid4().hex}"
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            conn.execute(text(f'SET LOCAL search_path TO "{schema}"'))
        metadata.create_all(conn)
        yield conn
        transaction.rollback()
    engine.dispose()


def seed(conn: Connection) -> None:
    conn.execute(insert(authors_t), AUTHORS)
    conn.execute(insert(books_t), BOOKS)
    conn.execute(insert(chapters_t), CHAPTERS)


@pytest.fixture
def seeded(connection: Connection) -> Connection:
    """The connection, with the library's rows."""
    seed(connection)
    return connection


def seed_many(conn: Connection, authors: int, books_each: int, chapters_each: int) -> None:
    """`authors` authors, each with `books_each` books of `chapters_each` chapters."""
    author_rows = [
        {"id": a, "first_name": f"Author {a}", "active": a % 2 == 0} for a in range(1, authors + 1)
    ]
    book_rows: list[dict[str, Any]] = [
        {
            "id": (a - 1) * books_each + b,
            "author_id": a,
            "editor_id": a % authors + 1,
            "title": f"Book {a}.{b}",
            "published": b % 2 == 1,
        }
        for a in range(1, authors + 1)
        for b in range(1, books_each + 1)
    ]
    chapter_rows: list[dict[str, Any]] = [
        {
            "id": (int(book["id"]) - 1) * chapters_each + c,
            "book_id": book["id"],
            "number": c,
            "title": f"Chapter {c}",
        }
        for book in book_rows
        for c in range(1, chapters_each + 1)
    ]
    conn.execute(insert(authors_t), author_rows)
    if book_rows:
        conn.execute(insert(books_t), book_rows)
    if chapter_rows:
        conn.execute(insert(chapters_t), chapter_rows)


@dataclass
class StatementLog:
    """The SQL statements a connection sends, with their parameters."""

    statements: list[str] = field(default_factory=list)
    parameters: list[Any] = field(default_factory=list)

    def __call__(
        self,
        conn: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        self.statements.append(statement)
        self.parameters.append(parameters)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def statements(connection: Connection) -> Iterator[StatementLog]:
    """Every statement the connection sends from now until the test ends."""
    log = StatementLog()
    event.listen(connection, "before_cursor_execute", log)
    yield log
    event.remove(connection, "before_cursor_execute", log)


def parse(query: str) -> QueryParams:
    """Parse a raw query string as a request's pairs (keeping blanks, as Werkzeug does)."""
    return QueryParams.parse(parse_qsl(query, keep_blank_values=True))


def no_scope(relation: Relation) -> Sequence[ColumnElement[bool]]:
    """Included rows unrestricted."""
    return ()


def apply(built: BuiltQuery, statement: Select[Any], resource: Resource) -> Select[Any]:
    """`built` applied to `statement` with no include scope."""
    return built.apply(statement, resource, no_scope)


def compiled(clause: ClauseElement, dialect: Dialect, *, literal: bool = False) -> str:
    """The SQL `clause` sends on `dialect`; with `literal`, values written in."""
    return str(clause.compile(dialect=dialect, compile_kwargs={"literal_binds": literal}))
