"""An expired stats report is computed once, whatever the number of callers meanwhile.

Runs on both cache backends: in-process (SQLite pass) and Redis (PostgreSQL pass).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from flask import Flask

from eventio.api import stats as stats_view
from eventio.stats.report import StatsFilters
from tests.api.conftest import Caller, url
from tests.factories import BookingFactory, BookingTicketFactory, TicketFactory


class SlowCompute:
    """`compute`, counted, and slow enough that callers overlap."""

    def __init__(self, seconds: float) -> None:
        self.calls = 0
        self.seconds = seconds
        self._real = stats_view.compute
        self._lock = threading.Lock()

    def __call__(self, *args: Any) -> Any:
        with self._lock:
            self.calls += 1
        time.sleep(self.seconds)
        return self._real(*args)


@pytest.fixture
def sold(api: Caller) -> None:
    ticket = TicketFactory(event_id=api.event_id).id
    booking = BookingFactory(event_id=api.event_id, status="confirmed").id
    BookingTicketFactory(booking_id=booking, ticket_id=ticket, qty=4)


def fetch_together(app: Flask, api: Caller, callers: int) -> list[tuple[int, Any]]:
    answers: list[tuple[int, Any]] = []
    start = threading.Barrier(callers)

    def one() -> None:
        with app.test_client() as client:
            start.wait()
            response = client.get(url(f"/event/{api.event_id}/stats"), headers=api.headers)
            answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=one) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_callers_arriving_together_share_one_computation(
    app: Flask, api: Caller, sold: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = SlowCompute(0.3)
    monkeypatch.setattr(stats_view, "compute", slow)

    answers = fetch_together(app, api, 4)

    assert slow.calls == 1
    assert [status for status, _ in answers] == [200] * 4
    assert len({body["generated_at"] for _, body in answers}) == 1
    assert all(body["total_confirmed"] == 4 for _, body in answers)


def test_a_claim_that_lapses_without_a_value_is_taken_over(
    app: Flask, api: Caller, sold: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller that claimed the report died: the next one computes once the claim lapses,
    long before the statement timeout it would otherwise wait for."""
    monkeypatch.setitem(app.config, "STATEMENT_TIMEOUT_MS", 60_000)
    cache = app.extensions["eventio.cache"]
    assert cache.claim(StatsFilters().cache_key(api.event_id), 0.3)
    started = time.monotonic()

    body = api.ok(f"/event/{api.event_id}/stats")

    assert body["total_confirmed"] == 4
    assert time.monotonic() - started < 30


def test_a_failed_computation_releases_its_claim(
    api: Caller, sold: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = stats_view.compute

    def failing(*args: Any) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(stats_view, "compute", failing)
    assert api.get(f"/event/{api.event_id}/stats").status_code == 500
    monkeypatch.setattr(stats_view, "compute", real)
    started = time.monotonic()

    assert api.ok(f"/event/{api.event_id}/stats")["total_confirmed"] == 4
    assert time.monotonic() - started < 5


def test_a_hit_sends_the_cached_bytes_as_they_are(app: Flask, api: Caller, sold: None) -> None:
    """The report is kept as the body sent: a hit neither decodes nor re-encodes it (a
    body re-encoded from a decoded value would not keep these bytes)."""
    api.ok(f"/event/{api.event_id}/stats")
    cache = app.extensions["eventio.cache"]
    key = StatsFilters().cache_key(api.event_id)
    kept = b'{"event_id": %d,  "stats": [],\n "kept": "as is"}' % api.event_id
    cache.set_raw(key, kept, 60)

    response = api.get(f"/event/{api.event_id}/stats")

    assert response.status_code == 200
    assert response.data == kept
    assert response.mimetype == "application/json"
    assert cache.get(key) == {"event_id": api.event_id, "stats": [], "kept": "as is"}
