"""`meta.total`: exact for small sets, reused briefly for large ones (COUNT_CACHE_*)."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.api.conftest import Caller
from tests.factories import BookingFactory


def bookings(api: Caller, count: int, status: str = "confirmed") -> None:
    for _ in range(count):
        BookingFactory(event_id=api.event_id, status=status)


def total(api: Caller, query: dict[str, str] | None = None) -> int:
    return int(api.ok(f"/event/{api.event_id}/bookings", query)["meta"]["total"])


@pytest.fixture
def threshold(app: Flask, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setitem(app.config, "COUNT_CACHE_MIN_ROWS", 5)
    monkeypatch.setitem(app.config, "COUNT_CACHE_TTL", 30)
    return 5


def test_the_default_threshold_and_lifetime(app: Flask) -> None:
    assert (app.config["COUNT_CACHE_MIN_ROWS"], app.config["COUNT_CACHE_TTL"]) == (1000, 30)


def test_a_large_total_is_reused_for_the_same_filter_set(api: Caller, threshold: int) -> None:
    bookings(api, threshold)
    assert total(api) == threshold
    bookings(api, 1)
    # Reused, also on another page or page size: they do not change which rows match.
    assert total(api) == threshold
    assert total(api, {"page": "2", "per_page": "2", "sort": "-id"}) == threshold
    # Another filter set is counted afresh.
    assert total(api, {"filter[status]": "confirmed"}) == threshold + 1


def test_a_small_total_is_always_exact(api: Caller, threshold: int) -> None:
    bookings(api, threshold - 2)
    assert total(api) == threshold - 2
    bookings(api, 1)
    assert total(api) == threshold - 1


def test_no_lifetime_means_always_exact(
    app: Flask, api: Caller, threshold: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "COUNT_CACHE_TTL", 0)
    bookings(api, threshold)
    assert total(api) == threshold
    bookings(api, 1)
    assert total(api) == threshold + 1
