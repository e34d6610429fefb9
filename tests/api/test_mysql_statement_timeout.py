"""On MySQL and MariaDB a statement cut by the server's own limit answers 503, as
PostgreSQL's `statement_timeout` does (tests/production/test_database_outages.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pymysql
import pytest
from flask import Flask
from sqlalchemy.engine import make_url

from eventio import create_app
from eventio.db.extensions import db
from tests.api.conftest import Caller, assert_error, url


@pytest.fixture
def limited_app(app: Flask) -> Iterator[Flask]:
    """An app on the suite's MySQL database whose statements may take 500 ms."""
    with app.app_context():
        if db.engine.dialect.name != "mysql":
            pytest.skip("MySQL's statement limit; PostgreSQL's is tested in tests/production")
    limited = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": str(app.config["SQLALCHEMY_DATABASE_URI"]),
            "REDIS_URL": app.config["REDIS_URL"],
            "STATEMENT_TIMEOUT_MS": 500,
        }
    )
    yield limited
    with limited.app_context():
        db.engine.dispose()


def locker(app: Flask) -> pymysql.Connection:  # type: ignore[type-arg]
    """A connection of its own, to hold a table lock the app's reads wait behind."""
    with app.app_context():
        address = make_url(db.engine.url)
    return pymysql.connect(
        host=address.host,
        port=address.port or 3306,
        user=address.username,
        password=address.password or "",
        database=address.database,
    )


def test_a_statement_past_max_statement_time_is_a_503_with_retry_after(
    app: Flask, limited_app: Flask, api: Caller, booking: int
) -> None:
    client = limited_app.test_client()
    path = url(f"/event/{api.event_id}/bookings")
    assert client.get(path, headers=api.headers).status_code == 200
    connection = locker(app)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION lock_wait_timeout = 5")
            cursor.execute("LOCK TABLES bookings WRITE")
        started = time.monotonic()
        response = client.get(path, headers=api.headers)
        elapsed = time.monotonic() - started
    finally:
        with connection.cursor() as cursor:
            cursor.execute("UNLOCK TABLES")
        connection.close()
    body = assert_error(response, 503)
    assert body["message"] == "The request took longer than the database allows and was stopped."
    assert response.headers["Retry-After"] == str(limited_app.config["RETRY_AFTER_SECONDS"])
    assert elapsed < 3.0
    # The worker's connection goes on serving.
    assert client.get(path, headers=api.headers).status_code == 200
