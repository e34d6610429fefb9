"""Fixtures: an app on SQLite (or TEST_DATABASE_URL), migrated once (or, with
TEST_SCHEMA=laravel, on the tables a Laravel app made); clean tables per test."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import make_url

from eventio import create_app
from eventio.cache.store import MemoryCache
from eventio.db.attach import own_table_steps
from eventio.db.engines import engine_options
from eventio.db.extensions import db
from eventio.settings import database_url, from_environment
from tests.factories import EventFactory, UserFactory, grant, issue_token
from tests.support.buffered_client import BufferedClient
from tests.support.ddl_guard import DDLGuard
from tests.support.laravel_schema import create_laravel_schema, drop_every_table
from tests.support.oauth_store import clients_on_the_oauth_bind
from tests.support.schema_mode import SCHEMA_MODE, skip_reason
from tests.support.workers import isolate_worker, machine_share

ALL_AREAS = ("event", "bookings", "groups", "customers", "roles", "users")
# The tables the tests fill, emptied after each test. A Laravel-made database has no
# `oauth_clients`: there the clients live on OAUTH_DATABASE_URL (see `app`).
TABLES = (() if SCHEMA_MODE.laravel else ("oauth_clients",)) + (
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


def pytest_configure(config: pytest.Config) -> None:
    """Under xdist, this worker's own databases, before any test module reads the settings."""
    isolate_worker()


def pytest_report_header() -> str:
    return f"schema: {SCHEMA_MODE.describe()}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """On a Laravel-made schema, the few tests that cannot apply there skip, saying why."""
    for item in items:
        reason = skip_reason(item.nodeid)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """On a Laravel-made schema, a test on the suite's database runs with the deployment's
    OAUTH_DATABASE_URL in its environment, for the other apps and servers it starts (set
    before any fixture of it). Tests that make databases of their own do without."""
    if not (SCHEMA_MODE.laravel and "app" in getattr(item, "fixturenames", ())):
        return (yield)
    previous = os.environ.get("OAUTH_DATABASE_URL")
    os.environ["OAUTH_DATABASE_URL"] = oauth_store_url(os.environ["TEST_DATABASE_URL"])
    try:
        return (yield)
    finally:
        if previous is None:
            del os.environ["OAUTH_DATABASE_URL"]
        else:
            os.environ["OAUTH_DATABASE_URL"] = previous


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """Under xdist, a test that cannot bear the other worker's load runs while it waits."""
    with machine_share(item.nodeid):
        return (yield)


@pytest.fixture(scope="session")
def ddl_guard() -> Iterator[DDLGuard | None]:
    """On a Laravel-made schema, any DDL the API sends to it fails the test that caused it."""
    if not SCHEMA_MODE.laravel:
        yield None
        return
    guard = DDLGuard(database_url(os.environ["TEST_DATABASE_URL"], ""))
    guard.install()
    yield guard
    guard.remove()


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory, ddl_guard: DDLGuard | None) -> Iterator[Flask]:
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
    # Empty the database whoever made its tables; then either build Laravel's tables the
    # way its app did (before the API starts, as on a real existing database) or, after,
    # run the API's own migrations.
    engine = create_engine(database_url(url, ""))
    with engine.begin() as connection:
        drop_tables(connection)
    if ddl_guard is not None:
        create_laravel_schema(engine, sanctum=SCHEMA_MODE.sanctum)
    engine.dispose()
    if ddl_guard is not None:
        # OAuth clients on a store of their own the API may write, as the docs advise.
        config["OAUTH_DATABASE_URL"] = make_oauth_store(url)
    app = create_app(config)
    app.test_client_class = BufferedClient
    with app.app_context():
        if ddl_guard is None:
            upgrade()
        else:
            create_oauth_store()
    with app.app_context(), db.engine.connect() as connection:
        existing = set(inspect(connection).get_table_names())
    app.config["TEST_CLEANED_TABLES"] = [table for table in TABLES if table in existing]
    with clients_on_the_oauth_bind() if ddl_guard is not None else nullcontext():
        yield app


@pytest.fixture(autouse=True)
def clean_database(app: Flask, ddl_guard: DDLGuard | None) -> Iterator[None]:
    """Each test starts from empty tables and an empty stats cache."""
    with app.app_context():
        yield
        db.session.remove()
        left_open = end_open_transactions()
        with harness(ddl_guard), db.engine.begin() as connection:
            empty_tables(connection, app.config["TEST_CLEANED_TABLES"])
        if app.config.get("OAUTH_DATABASE_URL"):
            with db.engines["oauth"].begin() as connection:
                empty_tables(connection, ["oauth_clients"])
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
    refused = ddl_guard.take_refused() if ddl_guard is not None else []
    if refused:
        pytest.fail(f"The API sent DDL to the Laravel-made database: {refused}")


def oauth_store_url(url: str) -> str:
    """A database beside the test database on the same server: `<name>_oauth`."""
    test_url = make_url(database_url(url, ""))
    store = test_url.set(database=f"{test_url.database}_oauth")
    return store.render_as_string(hide_password=False)


def make_oauth_store(url: str) -> str:
    """Make the OAuth store afresh, empty; its URL."""
    store = make_url(oauth_store_url(url))
    admin = create_engine(
        store.set(database="postgres")
        if store.get_backend_name() == "postgresql"
        else store.set(database="mysql"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f'DROP DATABASE IF EXISTS "{store.database}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{store.database}"'))
        else:
            connection.execute(text(f"DROP DATABASE IF EXISTS `{store.database}`"))
            connection.execute(text(f"CREATE DATABASE `{store.database}`"))
    admin.dispose()
    return store.render_as_string(hide_password=False)


def create_oauth_store() -> None:
    """The `oauth_clients` table on OAUTH_DATABASE_URL, as `database attach` makes it there."""
    with db.engines["oauth"].begin() as connection:
        for step in own_table_steps(connection, frozenset()):
            connection.execute(text(step.sql))


def drop_tables(connection: Any) -> None:
    """Every table of the test database, whoever made it (Laravel, the API, an earlier run)."""
    if connection.dialect.name != "sqlite":
        drop_every_table(connection)
        return
    connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
    for name in inspect(connection).get_table_names():
        connection.execute(text(f'DROP TABLE IF EXISTS "{name}"'))


def harness(guard: DDLGuard | None) -> Any:
    """The harness's own DDL (TRUNCATE on MariaDB) is not the API's."""
    return guard.harness() if guard is not None else nullcontext()


def empty_tables(connection: Any, tables: list[str]) -> None:
    """Delete every row of `tables`; ids restart at 1."""
    # DELETE beats TRUNCATE on tables of a few rows; ids restart at 1 either way.
    if connection.dialect.name == "mysql":
        # InnoDB keeps its counter after a DELETE; TRUNCATE restarts it. A TRUNCATE costs
        # a dozen milliseconds: only the tables whose counter moved (live in MariaDB's
        # information_schema) are truncated.
        moved = {
            name
            for (name,) in connection.execute(
                text(
                    "SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = DATABASE() AND auto_increment > 1"
                )
            )
        }
        connection.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
        for table in (table for table in tables if table in moved):
            connection.execute(text(f"TRUNCATE TABLE `{table}`"))
        connection.execute(text("SET FOREIGN_KEY_CHECKS = 1"))
    else:
        for table in tables:
            connection.execute(text(f"DELETE FROM {table}"))
    if connection.dialect.name == "sqlite" and inspect(connection).has_table("sqlite_sequence"):
        # AUTOINCREMENT tables (the token table) keep their counter there after a DELETE.
        connection.execute(text("DELETE FROM sqlite_sequence"))
    if connection.dialect.name == "postgresql":
        restarts = ", ".join(
            f"setval(pg_get_serial_sequence('{table}', 'id'), 1, false)" for table in tables
        )
        connection.execute(text(f"SELECT {restarts}"))


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
