"""A thread-per-request server (Werkzeug's, `make run`) leaves no read connection behind:
each thread's held connection goes back to the pool when the thread ends (eventio.db.reads)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from flask import Flask

from eventio import create_app
from eventio.db.extensions import db
from tests.api.conftest import Caller, url
from tests.support.live_server import live_server


@pytest.fixture
def small_pool_app(app: Flask) -> Iterator[Flask]:
    """The test database, served by an app whose pool holds two connections, no overflow."""
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            pytest.skip("SQLite reads on the session's connection")
    small = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": os.environ["TEST_DATABASE_URL"],
            "REDIS_URL": os.environ.get("TEST_REDIS_URL") or None,
            "DB_POOL_SIZE": 2,
            "DB_MAX_OVERFLOW": 0,
            "DB_POOL_TIMEOUT": 2,
        }
    )
    yield small
    with small.app_context():
        db.engine.dispose()


def test_a_burst_on_the_dev_server_keeps_the_pool(
    small_pool_app: Flask, api: Caller, booking: int
) -> None:
    paths = [
        url("/user"),
        url(f"/event/{api.event_id}/bookings", {"include": "tickets"}),
        url(f"/event/{api.event_id}/bookings/{booking}"),
    ]
    with live_server(small_pool_app) as base, requests.Session() as session:
        sequential = [
            session.get(base + paths[n % 3], headers=api.headers, timeout=10).status_code
            for n in range(45)
        ]

        def fetch(n: int) -> int:
            response = requests.get(base + paths[n % 3], headers=api.headers, timeout=10)
            return response.status_code

        with ThreadPoolExecutor(max_workers=2) as pool:
            concurrent = list(pool.map(fetch, range(30)))
        after = [
            session.get(base + paths[0], headers=api.headers, timeout=10).status_code
            for _ in range(10)
        ]
    assert sequential == [200] * 45
    assert concurrent == [200] * 30
    assert after == [200] * 10
    with small_pool_app.app_context():
        pool = db.engine.pool
        assert pool.checkedout() <= 2  # type: ignore[attr-defined]
