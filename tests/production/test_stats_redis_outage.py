"""Stats with Redis cut for real: computed fresh, one warning per outage, cache resumes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask

from eventio import create_app
from tests.conftest import bearer
from tests.factories import (
    BookingFactory,
    BookingTicketFactory,
    EventFactory,
    TicketFactory,
    UserFactory,
    grant,
    issue_token,
)
from tests.production.conftest import REDIS_HOST, REDIS_PORT
from tests.support.tcp_proxy import TcpProxy

REDIS_DB = 11


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy(REDIS_HOST, REDIS_PORT).start()
    yield proxy
    proxy.cut()
    redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB).flushdb()


@pytest.fixture
def cached_app(app: Flask, proxy: TcpProxy) -> Flask:
    """The suite's database, with a stats cache in Redis reached through the proxy."""
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "SQLALCHEMY_ENGINE_OPTIONS": app.config["SQLALCHEMY_ENGINE_OPTIONS"],
            "REDIS_URL": f"redis://127.0.0.1:{proxy.port}/{REDIS_DB}",
            "RATE_LIMIT_ENABLED": False,
        }
    )


@pytest.fixture
def world() -> dict[str, Any]:
    user, event = UserFactory(), EventFactory()
    grant(user.id, event.id, {"event": "read"})
    ticket = TicketFactory(event_id=event.id)
    booking = BookingFactory(event_id=event.id, status="confirmed")
    BookingTicketFactory(booking_id=booking.id, ticket_id=ticket.id, qty=3)
    return {"url": f"/api/v2/event/{event.id}/stats", "headers": bearer(issue_token(user.id))}


def add_sale(world_event_url: str) -> None:
    event_id = int(world_event_url.split("/")[4])
    ticket = TicketFactory(event_id=event_id)
    booking = BookingFactory(event_id=event_id, status="confirmed")
    BookingTicketFactory(booking_id=booking.id, ticket_id=ticket.id, qty=5)


def test_stats_are_computed_fresh_while_redis_is_cut_and_cached_again_after(
    cached_app: Flask, proxy: TcpProxy, world: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    client = cached_app.test_client()
    first = client.get(world["url"], headers=world["headers"]).get_json()
    assert first["total_confirmed"] == 3

    proxy.cut()
    add_sale(world["url"])
    with caplog.at_level(logging.WARNING, logger="eventio.cache"):
        during = [client.get(world["url"], headers=world["headers"]) for _ in range(3)]
    assert [r.status_code for r in during] == [200, 200, 200]
    assert all(r.get_json()["total_confirmed"] == 8 for r in during)  # fresh, not cached
    warnings = [r for r in caplog.records if r.name == "eventio.cache"]
    assert len(warnings) == 1 and "redis unreachable" in warnings[0].getMessage()

    proxy.restore()
    cache = cached_app.extensions["eventio.cache"]
    cache._down_until = 0.0  # the 2 s pause after a failure, skipped for the test
    refreshed = client.get(world["url"] + "?no-cache", headers=world["headers"]).get_json()
    assert refreshed["total_confirmed"] == 8
    add_sale(world["url"])
    cached = client.get(world["url"], headers=world["headers"]).get_json()
    # Served from Redis again: the refreshed numbers, not the newest sale.
    assert cached == refreshed
