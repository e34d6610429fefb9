"""Which statements ask PostgreSQL to prepare them: lookups by key, never a list's page.

A plan prepared for a small event and reused for the flagship made lists slow, so only
statements whose good plan is the same for any event (the token, one row, an include's
rows by key) carry `prepare`; `eventio.db.prepared` passes it to psycopg.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from eventio.db.extensions import db
from tests.api.conftest import Caller
from tests.factories import (
    BookingFactory,
    BookingTicketFactory,
    TicketFactory,
)


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[bool, str]] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        context = args[-2]
        self.seen.append((bool(context.execution_options.get("prepare")), statement))

    def prepared(self) -> list[bool]:
        return [flag for flag, _ in self.seen]


@pytest.fixture
def recorder(app: Flask) -> Iterator[Recorder]:
    recorder = Recorder()
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", recorder)
    yield recorder
    event.remove(engine, "before_cursor_execute", recorder)


def test_one_booking_with_includes_is_all_prepared_lookups(
    api: Caller, booking: int, recorder: Recorder
) -> None:
    api.ok("/user")  # writes last_used_at, once a minute
    recorder.seen.clear()
    body = api.ok(
        f"/event/{api.event_id}/bookings/{booking}", {"include": "tickets,group.customer"}
    )
    assert body["data"]["tickets"] and body["data"]["group"]["customer"]
    # The token with the event access, the booking with its group and customer joined in
    # (see test_joined_includes), its lines.
    assert recorder.prepared() == [True, True, True], recorder.seen


def test_one_key_is_bound_as_one_value_so_postgresql_keeps_its_plan(
    app: Flask, api: Caller, booking: int, recorder: Recorder
) -> None:
    """PostgreSQL prices the generic plan of `= ANY(:keys)` for ten keys: for one key it
    chose to plan again on every execution (0.2 ms of planning for 0.02 ms of work). With
    `= :keys` its generic plan costs what a custom one does, and it keeps it."""
    with app.app_context():
        dialect = db.engine.dialect.name
    if dialect != "postgresql":
        pytest.skip("`= ANY(:keys)` is PostgreSQL's; elsewhere keys expand into `IN (…)`")
    second = BookingFactory(event_id=api.event_id).id
    BookingTicketFactory(booking_id=second, ticket_id=TicketFactory(event_id=api.event_id).id)
    api.ok(f"/event/{api.event_id}/bookings/{booking}", {"include": "tickets"})
    api.ok(f"/event/{api.event_id}/bookings", {"include": "tickets"})
    lines = [sql for _, sql in recorder.seen if sql.startswith("SELECT booking_tickets.id")]
    assert len(lines) == 2, recorder.seen
    assert "booking_tickets.booking_id = %(keys)s" in lines[0]
    assert "booking_tickets.booking_id = ANY (%(keys)s" in lines[1]


def test_a_list_page_and_its_count_are_never_prepared(
    api: Caller, booking: int, recorder: Recorder
) -> None:
    api.ok("/user")
    recorder.seen.clear()
    body = api.ok(f"/event/{api.event_id}/bookings", {"include": "tickets.ticket"})
    assert body["data"][0]["tickets"][0]["ticket"]
    # The token, then the count and the page (plans depend on the event's size), then the
    # lines by key.
    assert recorder.prepared() == [True, False, False, True], recorder.seen


def test_psycopg_receives_prepare_for_the_statements_that_ask(
    app: Flask, api: Caller, booking: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        driver = db.engine.dialect.driver
    if driver != "psycopg":
        pytest.skip("prepared statements are psycopg's (PostgreSQL)")
    import psycopg

    calls: list[bool] = []
    execute = psycopg.Cursor.execute

    def spying(cursor: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        calls.append(bool(kwargs.get("prepare")))
        return execute(cursor, query, params, **kwargs)

    api.ok("/user")
    monkeypatch.setattr(psycopg.Cursor, "execute", spying)
    api.ok(f"/event/{api.event_id}/bookings", {"include": "tickets"})
    assert calls == [True, False, False, True]


def test_postgresql_holds_the_lookups_prepared_and_no_list_page(
    app: Flask, api: Caller, booking: int
) -> None:
    """What PostgreSQL itself reports (`pg_prepared_statements`), not only what was asked:
    psycopg ignores `prepare=True` on a connection whose `prepare_threshold` is None."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.driver != "psycopg":
        pytest.skip("prepared statements are psycopg's (PostgreSQL)")
    # New connections (disposing closes the held ones too): what earlier tests prepared
    # (a booking with a count, say) is gone.
    engine.dispose()
    connections: list[Any] = []

    def remember(conn: Any, cursor: Any, *args: Any) -> None:
        connections.append(cursor.connection)

    event.listen(engine, "after_cursor_execute", remember)
    try:
        for _ in range(2):
            api.ok(f"/event/{api.event_id}/bookings/{booking}", {"include": "tickets"})
            api.ok(f"/event/{api.event_id}/bookings", {"include": "tickets"})
    finally:
        event.remove(engine, "after_cursor_execute", remember)
    prepared: list[str] = []
    for connection in set(connections):
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
            prepared += [row[0] for row in cursor.fetchall()]
    assert any("FROM personal_access_tokens" in sql for sql in prepared), prepared
    assert any(sql.startswith("SELECT bookings.id") for sql in prepared), prepared
    assert any("booking_tickets.booking_id" in sql for sql in prepared), prepared
    assert not any("count(" in sql or "OFFSET" in sql for sql in prepared), prepared
