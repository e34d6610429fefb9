"""Fixtures: an app on SQLite (or TEST_DATABASE_URL), migrated once; clean tables per test."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import event, text

from eventio import create_app
from eventio.cache import MemoryCache
from eventio.config import database_url, engine_options, from_environment
from eventio.extensions import db
from tests.factories import EventFactory, UserFactory, grant, issue_token
from tests.support.buffered_client import BufferedClient

ALL_AREAS = ("event", "bookings", "groups", "customers", "roles", "users")
TABLES = (
    "oauth_clients",
    "booking_tickets",
    "bookings",
    "groups",
    "customers",
    "tickets",
    "event_users",
    "event_role_permissions",
    "event_roles",
    "personal_access_tokens",
    "users",
    "events",
)


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    url = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    )
    config: dict[str, Any] = {
        "TESTING": True,
        "DATABASE_URL": url,
        "REDIS_URL": os.environ.get("TEST_REDIS_URL") or None,
    }
    if url.startswith("postgresql"):
        # Test data need not survive a crash: no fsync wait on every commit.
        options = engine_options(database_url(url, ""), {**from_environment(""), **config})
        options["connect_args"]["options"] += " -c synchronous_commit=off"
        config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    app = create_app(config)
    app.test_client_class = BufferedClient
    with app.app_context():
        # Only the default bind: another test's app may have taught `db` a "write" bind.
        db.drop_all(bind_key=None)
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
    yield app


@pytest.fixture(autouse=True)
def clean_database(app: Flask) -> Iterator[None]:
    """Each test starts from empty tables and an empty stats cache."""
    with app.app_context():
        yield
        db.session.remove()
        left_open = end_open_transactions()
        with db.engine.begin() as connection:
            # DELETE beats TRUNCATE on tables of a few rows; ids restart at 1 either way.
            if connection.dialect.name == "mysql":
                # InnoDB keeps its counter after a DELETE; TRUNCATE restarts it.
                connection.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
                for table in TABLES:
                    connection.execute(text(f"TRUNCATE TABLE `{table}`"))
                connection.execute(text("SET FOREIGN_KEY_CHECKS = 1"))
            else:
                for table in TABLES:
                    connection.execute(text(f"DELETE FROM {table}"))
            if connection.dialect.name == "postgresql":
                restarts = ", ".join(
                    f"setval(pg_get_serial_sequence('{table}', 'id'), 1, false)" for table in TABLES
                )
                connection.execute(text(f"SELECT {restarts}"))
    # Token ids and the client address repeat from test to test: a fresh rate-limit budget.
    limiter = app.extensions.get("eventio.ratelimit")
    if limiter is not None:
        limiter.reset()
    cache = app.extensions["eventio.cache"]
    if isinstance(cache, MemoryCache):
        cache._entries.clear()
    else:
        cache._client.flushdb()
    if left_open:
        pytest.fail(
            "The test left a transaction open on another connection (it would hold its locks "
            f"until the garbage collector finds it; the next DDL would wait): {left_open}"
        )


# Other backends of the test database idle inside a transaction.
IDLE_IN_TRANSACTION = text(
    "SELECT pid, left(query, 120) FROM pg_stat_activity WHERE datname = current_database()"
    " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
)


def end_open_transactions() -> list[str]:
    """On PostgreSQL, name every transaction a test left open on a connection it dropped
    (a streamed response never closed, say) and end it, so the next test does not wait."""
    if db.engine.dialect.name != "postgresql":
        return []
    left_open = idle_in_transaction()
    if left_open:
        gc.collect()  # what was dropped ends its transaction as it is finalized
        with db.engine.begin() as connection:
            for pid, _ in idle_in_transaction():
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    return [f"{pid}: {query}" for pid, query in left_open]


def idle_in_transaction() -> list[Any]:
    with db.engine.connect() as connection:
        return list(connection.execute(IDLE_IN_TRANSACTION).all())


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def manager() -> dict[str, Any]:
    """A user with admin on every area of one event, and a `*` token."""
    user = UserFactory()
    event_row = EventFactory()
    grant(user.id, event_row.id, dict.fromkeys(ALL_AREAS, "admin"))
    token = issue_token(user.id)
    return {"user": user, "event": event_row, "token": token, "headers": bearer(token)}


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_statements(app: Flask) -> Iterator[StatementCounter]:
    """Every SQL statement sent while the test runs."""
    counter = StatementCounter()
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine, "before_cursor_execute", counter)
