"""Databases a Laravel app made, on every server at hand: a database of this run's own
per server, Laravel's tables built in it, the reference's rows written by plain SQL."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from eventio import create_app
from eventio.db.extensions import db
from eventio.settings import database_url
from tests.laravel.world import SanctumToken, write_world
from tests.support.buffered_client import BufferedClient
from tests.support.ddl_guard import DDLGuard
from tests.support.laravel_schema import create_laravel_schema

# Where each server is reached as an administrator (database part ignored).
SERVER_URLS = {
    "postgresql": os.environ.get("LARAVEL_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/"),
    "mariadb": os.environ.get("LARAVEL_TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/"),
}
# Which servers these tests run on: both by default; CI runs them in one suite run only.
SELECTED = os.environ.get("TEST_LARAVEL_SERVERS", "postgresql,mariadb").split(",")
# A name of this run's own: parallel runs, and the suite's `test` databases, never meet.
RUN = f"{os.getpid()}"
DATABASE = f"eventio_laravel_{RUN}"
READ_ONLY_USER = f"eventio_ro_{RUN}"


@pytest.fixture(autouse=True)
def clean_database() -> None:
    """Replace the suite's cleanup: these tests make databases of their own."""


def answers(url: str) -> bool:
    parsed = make_url(database_url(url, ""))
    default_port = 5432 if parsed.get_backend_name() == "postgresql" else 3306
    try:
        with socket.create_connection((parsed.host, parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class Server:
    """One database server, with a database of this run's own and a SELECT-only user."""

    name: str
    admin: Engine
    url: str
    read_only_url: str
    engines: list[Engine] = field(default_factory=list)

    @property
    def mariadb(self) -> bool:
        return self.name == "mariadb"

    def engine(self) -> Engine:
        engine = create_engine(database_url(self.url, ""))
        self.engines.append(engine)
        return engine

    def grant_read_only(self) -> None:
        """On PostgreSQL grants are per table: given again after each rebuild."""
        if not self.mariadb:
            with self.admin.connect() as connection:
                connection.execute(
                    text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READ_ONLY_USER}")
                )


def make_server(name: str) -> Server:
    parsed = make_url(database_url(SERVER_URLS[name], ""))
    admin = create_engine(parsed.set(database="postgres" if name == "postgresql" else "mysql"))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if name == "postgresql":
            connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{DATABASE}"'))
            connection.execute(text(f"DROP ROLE IF EXISTS {READ_ONLY_USER}"))
            # A replica's role: every transaction read-only, SELECT only.
            connection.execute(text(f"CREATE ROLE {READ_ONLY_USER} LOGIN"))
            connection.execute(
                text(f"ALTER ROLE {READ_ONLY_USER} SET default_transaction_read_only = on")
            )
        else:
            connection.execute(text(f"DROP DATABASE IF EXISTS `{DATABASE}`"))
            connection.execute(text(f"CREATE DATABASE `{DATABASE}`"))
            for host in ("localhost", "127.0.0.1", "%"):
                connection.execute(text(f"DROP USER IF EXISTS '{READ_ONLY_USER}'@'{host}'"))
                connection.execute(text(f"CREATE USER '{READ_ONLY_USER}'@'{host}'"))
                connection.execute(
                    text(f"GRANT SELECT ON `{DATABASE}`.* TO '{READ_ONLY_USER}'@'{host}'")
                )
    url = parsed.set(database=DATABASE)
    server = Server(
        name=name,
        admin=create_engine(url).execution_options(isolation_level="AUTOCOMMIT"),
        url=url.render_as_string(hide_password=False),
        read_only_url=url.set(username=READ_ONLY_USER, password=None).render_as_string(
            hide_password=False
        ),
    )
    server.engines.append(admin)
    return server


def drop_server(server: Server) -> None:
    for engine in server.engines:
        engine.dispose()
    server.admin.dispose()
    parsed = make_url(database_url(SERVER_URLS[server.name], ""))
    admin = create_engine(
        parsed.set(database="postgres" if server.name == "postgresql" else "mysql")
    ).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if server.name == "postgresql":
            connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            connection.execute(text(f"DROP ROLE IF EXISTS {READ_ONLY_USER}"))
        else:
            connection.execute(text(f"DROP DATABASE IF EXISTS `{DATABASE}`"))
            for host in ("localhost", "127.0.0.1", "%"):
                connection.execute(text(f"DROP USER IF EXISTS '{READ_ONLY_USER}'@'{host}'"))
    admin.dispose()


@pytest.fixture(scope="session", params=["postgresql", "mariadb"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    name = request.param
    if name not in SELECTED:
        pytest.skip(f"{name} is not in TEST_LARAVEL_SERVERS")
    if not answers(SERVER_URLS[name]):
        reason = f"no {name} server answers at {SERVER_URLS[name]}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the Laravel-schema tests on it")
        pytest.skip(reason)
    made = make_server(name)
    yield made
    drop_server(made)


def build_laravel_database(server: Server, sanctum: int) -> None:
    """Build Laravel's tables (Sanctum 3 or 2) afresh and write the reference's rows."""
    engine = server.engine()
    create_laravel_schema(engine, sanctum=sanctum)
    with engine.begin() as connection:
        write_world(connection)
    engine.dispose()
    server.grant_read_only()


def start_api_on(server: Server, *, read_only: bool = False, **config: Any) -> Flask:
    """The API started on the server's Laravel-made database (or as its read-only user)."""
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": server.read_only_url if read_only else server.url,
            "REDIS_URL": None,
            "RATE_LIMIT_ENABLED": False,
            **config,
        }
    )
    app.test_client_class = BufferedClient
    return app


def stop_api(app: Flask) -> None:
    """Close its connections: the next build drops the tables they may still hold."""
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


def write_tokens(server: Server, sanctum: int, *tokens: SanctumToken) -> None:
    engine = server.engine()
    with engine.begin() as connection:
        for token in tokens:
            token.write(connection, sanctum=sanctum)
    engine.dispose()


@pytest.fixture(scope="session")
def ddl_guard(server: Server) -> Iterator[DDLGuard]:
    """Any DDL the API sends to the server's Laravel-made database is refused."""
    guard = DDLGuard(database_url(server.url, ""))
    guard.install()
    yield guard
    guard.remove()


@pytest.fixture(autouse=True)
def no_ddl_from_the_api(ddl_guard: DDLGuard) -> Iterator[None]:
    """A test during which the API sent DDL fails, naming the statements."""
    yield
    refused = ddl_guard.take_refused()
    assert not refused, f"the API sent DDL to the Laravel-made database: {refused}"


@pytest.fixture
def laravel_database(server: Server) -> Callable[[int], None]:
    return lambda sanctum: build_laravel_database(server, sanctum)


@pytest.fixture
def start_api(server: Server) -> Iterator[Callable[..., Flask]]:
    """Start the API on the server's Laravel-made database; stopped after the test."""
    started: list[Flask] = []

    def start(*, read_only: bool = False, **config: Any) -> Flask:
        started.append(start_api_on(server, read_only=read_only, **config))
        return started[-1]

    yield start
    for app in started:
        stop_api(app)
