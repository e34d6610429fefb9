"""On PostgreSQL and MySQL a worker thread reads on one autocommit connection, request
after request (eventio.db.reads): no pool checkout, no session, no transaction left open in
between."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, event, text

from eventio.db.extensions import db
from eventio.db.reads import HeldConnections
from tests.api.conftest import Caller


def held(app: Flask) -> HeldConnections:
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            pytest.skip("SQLite reads on the session's connection")
    return app.extensions["eventio.reads"]  # type: ignore[no-any-return]


def on_mysql(app: Flask) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "mysql"


def backend_pid(app: Flask, connections: HeldConnections) -> int:
    """The server's id for the held connection (PostgreSQL's backend pid, MySQL's thread)."""
    with app.app_context():
        dbapi = connections.get().connection.dbapi_connection
        if on_mysql(app):
            return int(dbapi.thread_id())  # type: ignore[union-attr]
        return int(dbapi.info.backend_pid)  # type: ignore[union-attr]


def test_requests_on_one_thread_take_no_connection_from_the_pool(
    app: Flask, api: Caller, booking: int
) -> None:
    held(app)
    path = f"/event/{api.event_id}/bookings/{booking}"
    api.ok(path, {"include": "tickets,group.customer"})  # also writes last_used_at
    checkouts: list[Any] = []

    def checked_out(*args: Any) -> None:
        checkouts.append(args)

    with app.app_context():
        pool = db.engine.pool
    event.listen(pool, "checkout", checked_out)
    try:
        for _ in range(3):
            api.ok(path, {"include": "tickets,group.customer"})
            api.ok("/user")
            api.ok(f"/event/{api.event_id}/bookings")
    finally:
        event.remove(pool, "checkout", checked_out)
    assert checkouts == []


def test_no_transaction_stays_open_between_requests(app: Flask, api: Caller, booking: int) -> None:
    connections = held(app)
    api.ok(f"/event/{api.event_id}/bookings/{booking}", {"include": "tickets"})
    pid = backend_pid(app, connections)
    with app.app_context(), db.engine.connect() as other:
        if on_mysql(app):
            open_transactions = other.execute(
                text(
                    "SELECT COUNT(*) FROM information_schema.INNODB_TRX "
                    "WHERE trx_mysql_thread_id = :pid"
                ),
                {"pid": pid},
            ).scalar_one()
            assert open_transactions == 0
            return
        state = other.execute(
            text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
        ).scalar_one()
    assert state == "idle"  # not "idle in transaction"


def test_a_connection_the_database_dropped_is_replaced_without_an_error(
    app: Flask, api: Caller, booking: int
) -> None:
    connections = held(app)
    path = f"/event/{api.event_id}/bookings/{booking}"
    api.ok(path)
    pid = backend_pid(app, connections)
    with app.app_context(), db.engine.connect() as other:
        if on_mysql(app):
            other.execute(text(f"KILL {pid}"))
        else:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    assert api.ok(path, {"include": "group.customer"})["data"]["group"]["customer"]
    assert backend_pid(app, connections) != pid


def test_a_held_connection_is_replaced_once_older_than_the_recycle_age() -> None:
    engine = create_engine("sqlite://")
    kept = HeldConnections(engine, recycle_seconds=3600)
    assert kept.get() is kept.get()
    assert len(kept) == 1
    recycled = HeldConnections(engine, recycle_seconds=0)
    first = recycled.get()
    second = recycled.get()
    assert second is not first and first.closed and not second.closed
    assert len(recycled) == 1
    for connections in (kept, recycled):
        connections.close_all()
        assert len(connections) == 0
    engine.dispose()


def test_disposing_the_engine_closes_the_held_connections(
    app: Flask, api: Caller, booking: int
) -> None:
    connections = held(app)
    api.ok(f"/event/{api.event_id}/bookings/{booking}")
    before = connections.get()
    with app.app_context():
        db.engine.dispose()
    assert before.closed and len(connections) == 0
    api.ok(f"/event/{api.event_id}/bookings/{booking}")
    assert connections.get() is not before
