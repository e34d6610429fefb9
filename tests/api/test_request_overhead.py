"""Work a request used to do for nothing: psycopg describing columns SQLAlchemy already
knows, and Flask opening a signed-cookie session the API never uses.

Both were found in a CPU profile of a single booking (docs/benchmarks.md); these tests
pin that the work is gone, not how fast the request is.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, session
from flask.sessions import NullSession

from eventio.db.extensions import db
from eventio.db.pg_cursor import LazyDescription
from tests.api.conftest import Caller


def psycopg_driver(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.driver != "psycopg":
            pytest.skip("the cursor is psycopg's (PostgreSQL)")


def test_a_repeated_request_builds_no_column_descriptions(
    app: Flask, api: Caller, booking: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLAlchemy keeps a compiled statement's result metadata and only asks whether
    there is a description; psycopg's own cursor built a `Column` per result column
    anyway (about 45 for one booking with its includes)."""
    psycopg_driver(app)
    from psycopg import _column

    path = f"/event/{api.event_id}/bookings/{booking}"
    query = {"include": "tickets,group.customer"}
    first = api.ok(path, query)  # compiles, and describes, each statement once
    built: list[int] = []
    original = _column.Column.__init__

    def counting(column: Any, cursor: Any, index: int) -> None:
        built.append(index)
        original(column, cursor, index)

    monkeypatch.setattr(_column.Column, "__init__", counting)
    assert api.ok(path, query) == first
    assert built == []


def test_a_description_read_later_still_describes_its_own_result(app: Flask) -> None:
    psycopg_driver(app)
    from psycopg import Cursor

    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("SELECT 1 AS one, 'x'::text AS two")
            description = cursor.description
            assert isinstance(description, LazyDescription)
            assert len(description) == 2
            cursor.execute("SELECT 2 AS other")  # the cursor moves on before it is read
            assert [column.name for column in description] == ["one", "two"]
            assert [column.type_code for column in description] == [23, 25]
            assert description[1].name == "two"
            cursor.execute("SELECT 2 AS other")
            psycopg_own = Cursor.description.fget(cursor)  # type: ignore[attr-defined]
            assert [tuple(column) for column in cursor.description] == [
                tuple(column) for column in psycopg_own
            ]
            cursor.execute("SET search_path TO public")
            assert cursor.description is None  # no result columns: psycopg's answer
        finally:
            raw.close()


def test_the_api_opens_no_cookie_session(app: Flask, api: Caller) -> None:
    with app.test_request_context("/api/v2/user", headers={"Cookie": "session=forged"}):
        assert isinstance(session._get_current_object(), NullSession)  # type: ignore[attr-defined]
    response = api.get("/user")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_flask_asks_once_per_function_whether_it_is_a_coroutine(
    api: Caller, booking: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flask passes every hook and the view through `ensure_sync` on every request; the
    app remembers the answer instead of asking `inspect` again each time."""
    import flask.app

    path = f"/event/{api.event_id}/bookings/{booking}"
    api.ok(path)
    asked: list[Any] = []
    original = flask.app.iscoroutinefunction

    def counting(func: Any) -> bool:
        asked.append(func)
        return original(func)

    monkeypatch.setattr(flask.app, "iscoroutinefunction", counting)
    api.ok(path)
    assert asked == []


def test_an_async_view_still_runs_through_flask(app: Flask) -> None:
    """The memo keeps Flask's own answer: a coroutine function is still wrapped."""

    async def view() -> str:
        return "ok"

    def plain() -> str:
        return "ok"

    assert app.ensure_sync(plain) is plain
    assert app.ensure_sync(plain) is plain
    try:
        wrapped = app.ensure_sync(view)
    except RuntimeError:  # Flask's answer without its async extra: refused, not run bare
        return
    assert wrapped is not view
