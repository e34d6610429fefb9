"""Warm stats read their cache in the rate limiter's Redis round trip (eventio.cache.responses).

These need Redis (the limiter and the cache share it): `make test` runs them in its
PostgreSQL + Redis pass; without Redis there is no round trip to share.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis.connection
from flask import Flask, request
from webargs import flaskparser

from eventio.cache.store import RedisCache
from eventio.stats.report import StatsFilters
from tests.api.conftest import Caller
from tests.factories import (
    BookingFactory,
    BookingTicketFactory,
    TicketFactory,
    UserFactory,
    issue_token,
)


@pytest.fixture(autouse=True)
def needs_redis(app: Flask) -> None:
    if not isinstance(app.extensions["eventio.cache"], RedisCache):
        pytest.skip("the limiter and the cache share a round trip only on Redis")


class Sent:
    """Every write to a Redis socket (one per round trip)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def commands(self) -> list[list[bytes]]:
        """The command names of each write, e.g. [[b"EVALSHA", b"GET"]]."""
        return [
            [part for part in write.split(b"\r\n") if part in (b"EVALSHA", b"GET", b"SET")]
            for write in self.writes
        ]

    def stats_keys_read(self) -> list[bytes]:
        """The stats cache keys named in the writes (as a script's keys, or a GET's)."""
        return [
            part
            for write in self.writes
            for part in write.split(b"\r\n")
            if part.startswith(b"eventio:stats:")
        ]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sent]:
    recorder = Sent()
    original = redis.connection.AbstractConnection.send_packed_command

    def spy(connection: Any, command: Any, check_health: bool = True) -> None:
        recorder.writes.append(command if isinstance(command, bytes) else b"".join(command))
        original(connection, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", spy)
    yield recorder


@pytest.fixture
def sold(api: Caller) -> int:
    ticket = TicketFactory(event_id=api.event_id, title="Adult").id
    booking = BookingFactory(event_id=api.event_id, status="confirmed").id
    BookingTicketFactory(booking_id=booking, ticket_id=ticket, qty=3)
    return int(ticket)


def stats(api: Caller, query: str = "") -> dict[str, Any]:
    return api.ok(f"/event/{api.event_id}/stats", query)


def test_warm_stats_take_one_round_trip_with_the_rate_limit_count(
    api: Caller, sold: int, sent: Sent
) -> None:
    cold = stats(api)
    sent.writes.clear()

    warm = api.get(f"/event/{api.event_id}/stats")

    assert warm.get_json() == cold
    assert sent.commands() == [[b"EVALSHA"]]  # the counter script reads the report too
    assert len(sent.stats_keys_read()) == 1
    assert warm.headers["X-RateLimit-Remaining"] == str(int(warm.headers["X-RateLimit-Limit"]) - 2)


def test_after_a_refresh_the_next_read_has_the_refreshed_report(api: Caller, sold: int) -> None:
    first = stats(api)
    BookingTicketFactory(
        booking_id=BookingFactory(event_id=api.event_id, status="confirmed").id,
        ticket_id=sold,
        qty=2,
    )
    assert stats(api) == first  # still cached

    refreshed = stats(api, "no-cache")
    warm = stats(api)

    assert refreshed["total_confirmed"] == 5
    assert warm == refreshed


def test_filters_read_their_own_key(api: Caller, sold: int, sent: Sent) -> None:
    stats(api)
    other = stats(api, f"ticketId={sold + 1}")
    sent.writes.clear()

    assert stats(api, f"ticketId={sold + 1}") == other
    assert other["stats"] == []
    assert sent.commands() == [[b"EVALSHA"]]
    assert sent.stats_keys_read() == [
        StatsFilters(ticket_id=sold + 1).cache_key(api.event_id).encode()
    ]


def test_a_query_only_webargs_can_read_is_served_by_a_read_of_its_own(
    api: Caller, sold: int, sent: Sent
) -> None:
    plain = stats(api, f"ticketId={sold}")
    sent.writes.clear()

    signed = stats(api, f"ticketId=%2B{sold}")  # `+5`: an integer to webargs

    assert signed == plain
    assert sent.commands() == [[b"EVALSHA"], [b"GET"]]


def test_no_cache_fetches_nothing_early(api: Caller, sold: int, sent: Sent) -> None:
    stats(api)
    sent.writes.clear()

    stats(api, "no-cache")

    assert sent.commands()[0] == [b"EVALSHA"]
    assert [b"SET"] in sent.commands()


def test_a_redis_that_lost_its_scripts_still_counts_and_serves(
    app: Flask, api: Caller, sold: int
) -> None:
    cold = stats(api)
    limiter_redis = app.extensions["eventio.ratelimit"].storage.get_connection()
    limiter_redis.script_flush()

    warm = api.get(f"/event/{api.event_id}/stats")

    assert warm.status_code == 200
    assert warm.get_json() == cold
    assert warm.headers["X-RateLimit-Remaining"] == str(int(warm.headers["X-RateLimit-Limit"]) - 2)


def test_a_refused_caller_gets_the_refusal_not_the_prefetched_report(
    api: Caller, sold: int, client: Any
) -> None:
    stats(api)
    stranger = issue_token(UserFactory().id)

    response = client.get(
        f"/api/v2/event/{api.event_id}/stats",
        headers={"Authorization": f"Bearer {stranger}"},
    )

    assert response.status_code == 403
    assert "stats" not in response.get_json()


def test_a_warm_report_is_sent_without_parsing_the_query_again(
    api: Caller, sold: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report is cached only once its query was parsed and validated, so the bytes the
    counter script brought back answer on their own (eventio.cache.responses)."""
    parsed: list[str] = []
    parse = flaskparser.parser.parse

    def counting(*args: Any, **kwargs: Any) -> Any:
        parsed.append(request.path)
        return parse(*args, **kwargs)

    monkeypatch.setattr(flaskparser.parser, "parse", counting)
    cold = api.get(f"/event/{api.event_id}/stats", {"ticketId": sold})
    assert len(parsed) == 1

    warm = api.get(f"/event/{api.event_id}/stats", {"ticketId": sold})

    assert len(parsed) == 1
    assert warm.status_code == 200
    assert warm.data == cold.data
    assert warm.headers["Content-Type"] == "application/json"
    assert warm.headers["ETag"] == cold.headers["ETag"]


@pytest.mark.parametrize(
    "query",
    [
        {"ticketId": str(2**63)},  # digits, but past the range
        {"ticket": "x" * 256},  # longer than the declared 255
    ],
)
def test_a_query_that_fails_validation_is_refused_on_a_warm_cache(
    api: Caller, sold: int, query: dict[str, str]
) -> None:
    stats(api)  # the event's report is warm

    response = api.get(f"/event/{api.event_id}/stats", query)

    assert response.status_code == 422
    assert "stats" not in response.get_json()


def test_with_the_cache_turned_off_a_report_left_in_redis_is_not_sent(
    app: Flask, api: Caller, sold: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`STATS_CACHE_TTL=0` computes every report: one cached before the setting changed
    is neither fetched early nor sent."""
    assert stats(api)["total_confirmed"] == 3  # cached under the default TTL
    BookingTicketFactory(
        booking_id=BookingFactory(event_id=api.event_id, status="confirmed").id,
        ticket_id=sold,
        qty=2,
    )
    monkeypatch.setitem(app.config, "STATS_CACHE_TTL", 0)

    assert stats(api)["total_confirmed"] == 5
