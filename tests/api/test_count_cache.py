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


def test_a_repeated_filter_in_either_order_gets_its_own_total(api: Caller, threshold: int) -> None:
    """A repeated key keeps its last value: `a&b` and `b&a` match different rows."""
    bookings(api, threshold, "confirmed")
    bookings(api, threshold + 2, "waiting_list")
    confirmed_last = "filter[status]=waiting_list&filter[status]=confirmed"
    waiting_last = "filter[status]=confirmed&filter[status]=waiting_list"
    assert total(api, confirmed_last) == threshold
    assert total(api, waiting_last) == threshold + 2
    assert total(api, confirmed_last) == threshold  # both still cached, each its own


def test_a_repeated_include_cancelled_in_either_order_gets_its_own_total(
    api: Caller, threshold: int
) -> None:
    bookings(api, threshold, "confirmed")
    bookings(api, 3, "cancelled")
    on_last = "include_cancelled=0&include_cancelled=1"
    off_last = "include_cancelled=1&include_cancelled=0"
    assert total(api, on_last) == threshold + 3
    assert total(api, off_last) == threshold
    assert total(api, on_last) == threshold + 3


def test_the_same_query_written_differently_shares_the_total(api: Caller, threshold: int) -> None:
    """Keyed on the parsed query: a filter overridden later is the same filter set."""
    bookings(api, threshold)
    assert total(api, "filter[status]=confirmed") == threshold
    bookings(api, 1)
    assert total(api, "filter[status]=waiting_list&filter[status]=confirmed") == threshold
