"""A database built from shared/design/laravel-schema/ on each available server (MariaDB,
PostgreSQL), rows written by plain SQL, and apps pointed at it; no DDL from the API.

The databases are `TEST_LARAVEL_MARIADB_URL` and `TEST_LARAVEL_POSTGRESQL_URL` (created
when missing), or by default one of this run's own on each local server, dropped after.
A server that does not answer skips its tests with the reason, or fails them when `CI`
is set."""

from __future__ import annotations

import hashlib
import os
import secrets
import string
import zlib
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
from tests.support.laravel_schema import create_laravel_schema

# A database of this run's own unless one is named: parallel runs never meet.
RUN_DATABASE = f"eventio_existing_{os.getpid()}"
SERVERS = {
    "mariadb": os.environ.get("TEST_LARAVEL_MARIADB_URL")
    or f"mysql://root@127.0.0.1/{RUN_DATABASE}",
    "postgresql": os.environ.get("TEST_LARAVEL_POSTGRESQL_URL")
    or f"postgresql://root@127.0.0.1:5432/{RUN_DATABASE}",
}
NOW = "2026-01-10 14:30:00"
ALPHABET = string.ascii_letters + string.digits


@pytest.fixture(autouse=True)
def clean_database() -> None:
    """These tests bring their own databases: the suite's migrated one is not used."""


def admin_engine(url: str) -> Engine:
    parsed = make_url(database_url(url, ""))
    admin = parsed.set(database="postgres" if parsed.get_backend_name() == "postgresql" else "")
    return create_engine(admin, isolation_level="AUTOCOMMIT")


def drop_database(url: str) -> None:
    """Drop this run's own database (never one named by the environment)."""
    name = make_url(database_url(url, "")).database
    if name != RUN_DATABASE:
        return
    engine = admin_engine(url)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            else:
                connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    finally:
        engine.dispose()


def ensure_database(url: str) -> None:
    """Create the test database when the server answers and it is missing."""
    parsed = make_url(database_url(url, ""))
    name = parsed.database
    engine = admin_engine(url)
    try:
        with engine.connect() as connection:
            if parsed.get_backend_name() == "postgresql":
                exists = connection.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
                ).scalar()
                if not exists:
                    connection.execute(text(f'CREATE DATABASE "{name}"'))
            else:
                connection.execute(
                    text(
                        f"CREATE DATABASE IF NOT EXISTS `{name}` "
                        "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                    )
                )
    finally:
        engine.dispose()


@pytest.fixture(scope="session", params=sorted(SERVERS))
def server_url(request: pytest.FixtureRequest) -> Iterator[str]:
    url = SERVERS[request.param]
    try:
        ensure_database(url)
    except Exception as error:  # a server that is not there, whatever the driver says
        host = make_url(database_url(url, "")).host
        reason = f"{request.param} not answering at {host}: {type(error).__name__}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the existing-database tests")
        pytest.skip(reason)
    yield url
    drop_database(url)


@dataclass
class Laravel:
    """The Laravel-made database of one test: its URL, an engine, and plain-SQL rows."""

    url: str
    engine: Engine
    apps: list[Flask] = field(default_factory=list)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def build(self, sanctum: int = 3) -> None:
        create_laravel_schema(self.engine, sanctum)

    def sql(self, statement: str, **params: Any) -> list[Any]:
        with self.engine.begin() as connection:
            result = connection.execute(text(statement), params)
            return list(result) if result.returns_rows else []

    def insert(self, table: str, **values: Any) -> int:
        """A row by plain SQL, with Laravel's timestamps; returns its id."""
        values.setdefault("created_at", NOW)
        values.setdefault("updated_at", NOW)
        names = ", ".join(values)
        marks = ", ".join(f":{name}" for name in values)
        quoted = f"`{table}`" if self.dialect == "mysql" else f'"{table}"'
        with self.engine.begin() as connection:
            result = connection.execute(
                text(f"INSERT INTO {quoted} ({names}) VALUES ({marks})"), values
            )
            if self.dialect == "postgresql":
                return int(
                    connection.execute(
                        text(f"SELECT currval(pg_get_serial_sequence('{table}', 'id'))")
                    ).scalar_one()
                )
            return int(result.lastrowid)

    def create_token(
        self,
        user_id: int,
        abilities: str | None = '["*"]',
        tokenable_type: str = "App\\Models\\User",
        prefix: str | None = None,
        **columns: Any,
    ) -> str:
        """As Laravel's `createToken`: 40 random characters (Sanctum 4: a prefix, the 40
        and their CRC32b), only the SHA-256 stored; returns `<id>|<secret>`."""
        entropy = "".join(secrets.choice(ALPHABET) for _ in range(40))
        secret = (
            entropy if prefix is None else f"{prefix}{entropy}{zlib.crc32(entropy.encode()):08x}"
        )
        token_id = self.insert(
            "personal_access_tokens",
            tokenable_type=tokenable_type,
            tokenable_id=user_id,
            name="laravel",
            token=hashlib.sha256(secret.encode()).hexdigest(),
            abilities=abilities,
            **columns,
        )
        return f"{token_id}|{secret}"

    def app(self, **config: Any) -> Flask:
        settings: dict[str, Any] = {
            "TESTING": True,
            "DATABASE_URL": self.url,
            "REDIS_URL": None,
            "RATE_LIMIT_ENABLED": False,
            **config,
        }
        app = create_app(settings)
        self.apps.append(app)
        return app

    def close(self) -> None:
        for app in self.apps:
            with app.app_context():
                for engine in db.engines.values():
                    engine.dispose()
        self.engine.dispose()


@pytest.fixture
def laravel(server_url: str) -> Iterator[Laravel]:
    """A fresh Laravel-made schema (Sanctum 3) on this server, no rows."""
    database = Laravel(server_url, create_engine(database_url(server_url, "")))
    database.build()
    yield database
    database.close()


@dataclass(frozen=True)
class World:
    user_id: int
    event_id: int
    booking_id: int
    token: str
    headers: dict[str, str]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def fill(laravel: Laravel) -> World:
    """The reference's world, by plain SQL: John Doe manages event 1 and its booking 1."""
    user = laravel.insert("users", name="John Doe", email="john@example.com")
    event = laravel.insert(
        "events",
        slug="conference-2026",
        name="Annual Conference 2026",
        start_date="2026-06-15",
        end_date="2026-06-17",
    )
    ticket = laravel.insert(
        "tickets",
        event_id=event,
        title="Adult Ticket",
        participant_type="adult",
        price="99.00",
        seq=1,
    )
    customer = laravel.insert(
        "customers",
        first_name="Jane",
        last_name="Smith",
        email="jane@example.com",
        post_code="AB1 2CD",
    )
    group = laravel.insert("groups", event_id=event, customer_id=customer, name="Smith party")
    booking = laravel.insert(
        "bookings",
        event_id=event,
        group_id=group,
        booking_type="participant",
        booking_reference="EVT-ABC123",
        status="confirmed",
    )
    laravel.insert("booking_tickets", booking_id=booking, ticket_id=ticket, qty=2, price="198.00")
    role = laravel.insert("event_roles", event_id=event, title="Event Manager")
    for area in ("event", "bookings", "groups", "customers", "roles", "users"):
        laravel.insert("event_role_permissions", event_role_id=role, area=area, permission="admin")
    laravel.insert("event_users", user_id=user, event_id=event, event_role_id=role, active=True)
    token = laravel.create_token(user)
    return World(user, event, booking, token, bearer(token))


@pytest.fixture
def world(laravel: Laravel) -> World:
    return fill(laravel)


Maker = Callable[..., Flask]


@pytest.fixture
def reader_url(laravel: Laravel) -> Iterator[str]:
    """A user that may only SELECT in this database: read-only by privileges alone."""
    url = make_url(database_url(laravel.url, ""))
    name = f"{url.database}_reader"
    admin = admin_engine(laravel.url)
    if laravel.dialect == "mysql":
        with admin.connect() as connection:
            for host in ("%", "localhost", "127.0.0.1"):
                connection.execute(text(f"CREATE USER IF NOT EXISTS '{name}'@'{host}'"))
                connection.execute(text(f"GRANT SELECT ON `{url.database}`.* TO '{name}'@'{host}'"))
    else:
        with admin.connect() as connection:
            if not connection.execute(
                text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": name}
            ).scalar():
                connection.execute(text(f'CREATE ROLE "{name}" LOGIN'))
        laravel.sql(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{name}"')
    yield url.set(username=name, password=None).render_as_string(hide_password=False)
    if laravel.dialect == "mysql":
        with admin.connect() as connection:
            for host in ("%", "localhost", "127.0.0.1"):
                connection.execute(text(f"DROP USER IF EXISTS '{name}'@'{host}'"))
    else:
        laravel.sql(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{name}"')
        with admin.connect() as connection:
            connection.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
    admin.dispose()
