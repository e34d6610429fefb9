"""PostgreSQL cut for real, a query past the statement timeout, a read-only replica."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import text

from eventio import create_app
from eventio.db.extensions import db
from tests.conftest import ALL_AREAS, bearer
from tests.factories import BookingFactory, EventFactory, UserFactory, grant, issue_token
from tests.production.conftest import POSTGRES_HOST, POSTGRES_PORT, admin_connection, postgres_url
from tests.support.tcp_proxy import TcpProxy

READ_ONLY_ROLE = "eventio_replica_reader"


@pytest.fixture(scope="module")
def proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy(POSTGRES_HOST, POSTGRES_PORT).start()
    yield proxy
    proxy.cut()


@pytest.fixture(scope="module")
def pg_app(fresh_postgres_database: str, proxy: TcpProxy) -> Iterator[Flask]:
    """An app whose database connections go through the proxy; migrated directly."""
    direct = create_app({"DATABASE_URL": postgres_url(fresh_postgres_database)})
    with direct.app_context():
        upgrade()
        db.engine.dispose()
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": postgres_url(fresh_postgres_database, port=proxy.port),
            "STATEMENT_TIMEOUT_MS": 500,
            "DB_CONNECT_TIMEOUT": 2,
        }
    )
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def world(pg_app: Flask) -> dict[str, Any]:
    with pg_app.app_context():
        user = UserFactory()
        event = EventFactory()
        grant(user.id, event.id, dict.fromkeys(ALL_AREAS, "read"))
        BookingFactory(event_id=event.id)
        token = issue_token(user.id)
        return {"event_id": event.id, "headers": bearer(token), "user_id": user.id}


@pytest.fixture(autouse=True)
def clean_database(proxy: TcpProxy) -> Iterator[None]:
    """Overrides the suite's table cleaning: these tests keep their module's world."""
    proxy.restore()
    yield
    proxy.restore()


def bookings_url(world: dict[str, Any]) -> str:
    return f"/api/v2/event/{world['event_id']}/bookings"


def test_a_cut_database_answers_503_with_retry_after_within_the_connect_timeout(
    pg_app: Flask, proxy: TcpProxy, world: dict[str, Any]
) -> None:
    client = pg_app.test_client()
    assert client.get(bookings_url(world), headers=world["headers"]).status_code == 200
    proxy.cut()
    started = time.monotonic()
    response = client.get(bookings_url(world), headers=world["headers"])
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert set(response.get_json()) == {"message"}
    assert elapsed < 3.0


def test_service_resumes_by_itself_when_the_database_is_back(
    pg_app: Flask, proxy: TcpProxy, world: dict[str, Any]
) -> None:
    client = pg_app.test_client()
    proxy.cut()
    assert client.get(bookings_url(world), headers=world["headers"]).status_code == 503
    proxy.restore()
    assert client.get(bookings_url(world), headers=world["headers"]).status_code == 200


def test_a_database_that_disappears_mid_request_gives_503(
    pg_app: Flask, proxy: TcpProxy, world: dict[str, Any], fresh_postgres_database: str
) -> None:
    client = pg_app.test_client()
    with psycopg.connect(
        host=POSTGRES_HOST, port=POSTGRES_PORT, user="root", dbname=fresh_postgres_database
    ) as locker:
        locker.execute("LOCK TABLE bookings IN ACCESS EXCLUSIVE MODE")
        threading.Timer(0.2, proxy.cut).start()
        response = client.get(bookings_url(world), headers=world["headers"])
        locker.rollback()
    assert response.status_code == 503
    proxy.restore()
    assert client.get(bookings_url(world), headers=world["headers"]).status_code == 200


def test_a_query_past_the_statement_timeout_gives_503_and_the_worker_goes_on(
    pg_app: Flask, world: dict[str, Any], fresh_postgres_database: str
) -> None:
    client = pg_app.test_client()
    with psycopg.connect(
        host=POSTGRES_HOST, port=POSTGRES_PORT, user="root", dbname=fresh_postgres_database
    ) as locker:
        locker.execute("LOCK TABLE bookings IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        response = client.get(bookings_url(world), headers=world["headers"])
        elapsed = time.monotonic() - started
        locker.rollback()
    assert response.status_code == 503
    assert "longer than the database allows" in response.get_json()["message"]
    assert response.headers["Retry-After"].isdigit()
    assert elapsed < 2.0
    assert client.get(bookings_url(world), headers=world["headers"]).status_code == 200


@pytest.fixture(scope="module")
def read_only_role(fresh_postgres_database: str) -> Iterator[str]:
    with admin_connection() as connection:
        connection.execute(f"DROP ROLE IF EXISTS {READ_ONLY_ROLE}")
        connection.execute(f"CREATE ROLE {READ_ONLY_ROLE} LOGIN")
        connection.execute(f"ALTER ROLE {READ_ONLY_ROLE} SET default_transaction_read_only = on")
    with psycopg.connect(
        host=POSTGRES_HOST,
        port=POSTGRES_PORT,
        user="root",
        dbname=fresh_postgres_database,
        autocommit=True,
    ) as connection:
        connection.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READ_ONLY_ROLE}")
    yield READ_ONLY_ROLE
    with psycopg.connect(
        host=POSTGRES_HOST,
        port=POSTGRES_PORT,
        user="root",
        dbname=fresh_postgres_database,
        autocommit=True,
    ) as connection:
        connection.execute(f"DROP OWNED BY {READ_ONLY_ROLE}")
    with admin_connection() as connection:
        connection.execute(f"DROP ROLE IF EXISTS {READ_ONLY_ROLE}")


def replica_app(database: str, role: str, write_url: str | None = None) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": postgres_url(database, user=role),
            "WRITE_DATABASE_URL": write_url,
            "LAST_USED_WRITE_INTERVAL": 0,
        }
    )


def last_used_at(app: Flask, token_id: int) -> Any:
    with app.app_context():
        return db.session.execute(
            text("SELECT last_used_at FROM personal_access_tokens WHERE id = :id"),
            {"id": token_id},
        ).scalar_one()


EVERY_ENDPOINT = (
    "/api/v2/user",
    "/api/v2/events",
    "/api/v2/event/{e}",
    "/api/v2/event/{e}/stats",
    "/api/v2/event/{e}/tickets",
    "/api/v2/event/{e}/bookings?include=tickets.ticket,group.customer",
    "/api/v2/event/{e}/groups",
    "/api/v2/event/{e}/customers",
    "/api/v2/event/{e}/roles?include=permissions",
    "/api/v2/event/{e}/users?include=user,role",
)


def test_every_endpoint_answers_from_a_read_only_replica_without_writing(
    pg_app: Flask, world: dict[str, Any], read_only_role: str, fresh_postgres_database: str
) -> None:
    app = replica_app(fresh_postgres_database, read_only_role)
    token_id = int(world["headers"]["Authorization"].split()[1].split("|")[0])
    before = last_used_at(pg_app, token_id)
    client = app.test_client()
    for path in EVERY_ENDPOINT:
        response = client.get(path.format(e=world["event_id"]), headers=world["headers"])
        assert response.status_code == 200, (path, response.get_json())
    assert last_used_at(pg_app, token_id) == before
    with app.app_context():
        db.engine.dispose()


def test_last_used_at_goes_to_the_write_database_when_one_is_set(
    pg_app: Flask, world: dict[str, Any], read_only_role: str, fresh_postgres_database: str
) -> None:
    app = replica_app(
        fresh_postgres_database, read_only_role, write_url=postgres_url(fresh_postgres_database)
    )
    token_id = int(world["headers"]["Authorization"].split()[1].split("|")[0])
    with pg_app.app_context():
        db.session.execute(
            text("UPDATE personal_access_tokens SET last_used_at = NULL WHERE id = :id"),
            {"id": token_id},
        )
        db.session.commit()
    response = app.test_client().get("/api/v2/user", headers=world["headers"])
    assert response.status_code == 200
    assert last_used_at(pg_app, token_id) is not None
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()
