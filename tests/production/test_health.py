"""`/health/live` and `/health/ready` against a real PostgreSQL and Redis, cut for real."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.test import TestResponse

from eventio import create_app
from eventio.app import MIGRATIONS
from eventio.db.extensions import db
from tests.conftest import StatementCounter
from tests.support.tcp_proxy import TcpProxy

PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 8
# One database per xdist worker, so parallel runs do not share it.
HEALTH_DB = "health_tests" + (
    f"_{os.environ['PYTEST_XDIST_WORKER']}" if "PYTEST_XDIST_WORKER" in os.environ else ""
)
ALL_OK = {
    "database": "ok",
    "migrations": "ok",
    "schema": "ok",
    "oauth": "ok",
    "indexes": "ok",
    "redis": "not configured",
}
NOT_CHECKED = {
    "migrations": "not checked",
    "schema": "not checked",
    "oauth": "not checked",
    "indexes": "not checked",
}


def pg_url(database: str, port: int = PG_PORT) -> str:
    return f"postgresql+psycopg://root@{PG_HOST}:{port}/{database}"


def psql(database: str, statement: str) -> None:
    with psycopg.connect(
        host=PG_HOST, port=PG_PORT, user="root", dbname=database, autocommit=True
    ) as connection:
        connection.execute(statement.encode())


@pytest.fixture(scope="module")
def health_database() -> Iterator[str]:
    """`health_tests`, created and migrated to head directly (not through a proxy)."""
    psql("postgres", f'DROP DATABASE IF EXISTS "{HEALTH_DB}" WITH (FORCE)')
    psql("postgres", f'CREATE DATABASE "{HEALTH_DB}"')
    direct = create_app({"DATABASE_URL": pg_url(HEALTH_DB)})
    with direct.app_context():
        upgrade()
        db.engine.dispose()
    yield HEALTH_DB
    psql("postgres", f'DROP DATABASE IF EXISTS "{HEALTH_DB}" WITH (FORCE)')


@pytest.fixture(scope="module")
def made() -> Iterator[list[Flask]]:
    apps: list[Flask] = []
    yield apps
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def make_app(made: list[Flask], **config: Any) -> Flask:
    app = create_app({"TESTING": True, "REDIS_URL": None, "DB_CONNECT_TIMEOUT": 2, **config})
    made.append(app)
    return app


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy(PG_HOST, PG_PORT).start()
    yield proxy
    proxy.cut()


@pytest.fixture
def redis_proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy(REDIS_HOST, REDIS_PORT).start()
    yield proxy
    proxy.cut()


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port that accepts connections and never answers: a hung server."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


def ready(client: FlaskClient) -> TestResponse:
    return client.get("/health/ready")


def assert_not_ready(response: TestResponse, checks: dict[str, str]) -> None:
    assert response.status_code == 503
    assert response.get_json() == {
        "message": "Service Unavailable",
        "status": "fail",
        "checks": checks,
    }
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    for secret in ("127.0.0.1", str(PG_PORT), str(REDIS_PORT), "root", HEALTH_DB, "psycopg"):
        assert secret not in text


def test_live_answers_without_touching_the_database(
    client: FlaskClient, count_statements: StatementCounter
) -> None:
    response = client.get("/health/live")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})
    assert count_statements.count == 0


def test_ready_on_the_migrated_suite_database_needs_no_token(client: FlaskClient) -> None:
    response = ready(client)
    redis_state = "ok" if client.application.config["REDIS_URL"] else "not configured"
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {**ALL_OK, "redis": redis_state}}
    assert response.headers["Cache-Control"] == "no-store"


def test_ready_names_the_database_when_it_is_cut_and_recovers(
    health_database: str, proxy: TcpProxy, made: list[Flask]
) -> None:
    client = make_app(made, DATABASE_URL=pg_url(health_database, proxy.port)).test_client()
    assert ready(client).get_json() == {"status": "ok", "checks": ALL_OK}

    proxy.cut()
    started = time.monotonic()
    assert_not_ready(
        ready(client),
        {"database": "unreachable", **NOT_CHECKED, "redis": "not configured"},
    )
    assert time.monotonic() - started < 2

    proxy.restore()
    response = ready(client)
    assert (response.status_code, response.get_json()["checks"]) == (200, ALL_OK)


@pytest.fixture
def versions(health_database: str) -> Iterator[tuple[str, str]]:
    """(head, the revision before it); the head is written back afterwards."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    head = ScriptDirectory.from_config(config).get_revision("head")
    assert head is not None and isinstance(head.down_revision, str)
    yield head.revision, head.down_revision
    psql(health_database, "CREATE TABLE IF NOT EXISTS alembic_version (version_num varchar(32))")
    psql(health_database, "DELETE FROM alembic_version")
    psql(health_database, f"INSERT INTO alembic_version VALUES ('{head.revision}')")


@pytest.mark.parametrize(
    ("change", "state"),
    [
        ("UPDATE alembic_version SET version_num = '{previous}'", "behind"),
        ("DELETE FROM alembic_version", "behind"),
        ("UPDATE alembic_version SET version_num = 'from_a_newer_release'", "unknown"),
    ],
)
def test_ready_names_migrations_that_are_not_at_head(
    health_database: str, versions: tuple[str, str], made: list[Flask], change: str, state: str
) -> None:
    client = make_app(made, DATABASE_URL=pg_url(health_database)).test_client()
    assert ready(client).status_code == 200
    psql(health_database, change.format(previous=versions[1]))
    assert_not_ready(ready(client), {**ALL_OK, "migrations": state})


def test_ready_serves_a_complete_database_without_alembic_version_as_not_managed(
    health_database: str, versions: tuple[str, str], made: list[Flask]
) -> None:
    """Without `alembic_version` the tables are an existing database's (or one attached):
    served as they are, not "behind"; a required table missing fails it."""
    client = make_app(made, DATABASE_URL=pg_url(health_database)).test_client()
    psql(health_database, "DROP TABLE alembic_version")
    response = ready(client)
    assert response.status_code == 200
    assert response.get_json()["checks"] == {**ALL_OK, "migrations": "not managed"}
    psql(health_database, "ALTER TABLE bookings RENAME COLUMN status TO state")
    try:
        assert_not_ready(
            ready(client), {**ALL_OK, "migrations": "not managed", "schema": "incomplete"}
        )
    finally:
        psql(health_database, "ALTER TABLE bookings RENAME COLUMN state TO status")


def test_ready_names_redis_when_it_is_cut_and_recovers(
    health_database: str, redis_proxy: TcpProxy, made: list[Flask]
) -> None:
    redis_url = f"redis://{REDIS_HOST}:{redis_proxy.port}/{REDIS_DB}"
    client = make_app(made, DATABASE_URL=pg_url(health_database), REDIS_URL=redis_url).test_client()
    assert ready(client).get_json() == {"status": "ok", "checks": {**ALL_OK, "redis": "ok"}}

    redis_proxy.cut()
    started = time.monotonic()
    assert_not_ready(ready(client), {**ALL_OK, "redis": "unreachable"})
    assert time.monotonic() - started < 2

    redis_proxy.restore()
    response = ready(client)
    assert (response.status_code, response.get_json()["checks"]["redis"]) == (200, "ok")


def test_ready_answers_in_time_when_the_database_and_redis_hang(
    black_hole: int, made: list[Flask]
) -> None:
    client = make_app(
        made,
        DATABASE_URL=pg_url("anything", black_hole),
        REDIS_URL=f"redis://127.0.0.1:{black_hole}/0",
        DB_CONNECT_TIMEOUT=10,
        HEALTH_CHECK_TIMEOUT=0.3,
    ).test_client()
    started = time.monotonic()
    response = ready(client)
    assert time.monotonic() - started < 1.5
    checks = response.get_json()["checks"]
    assert response.status_code == 503
    assert (checks["database"], checks["migrations"]) == ("timeout", "not checked")
    assert checks["redis"] in ("timeout", "unreachable")
