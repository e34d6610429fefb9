"""Prometheus metrics: requests, latency, stats cache, 429s, database pool; served at `/metrics`.

The metric objects live at module level, once per process, whatever the number of apps.
Under gunicorn, `PROMETHEUS_MULTIPROC_DIR` makes every worker write its samples to that
folder and `/metrics` sums them; `child_exit` drops a dead worker's gauges.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Flask, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from sqlalchemy import Engine, event

from eventio.auth.guard import bearer_token
from eventio.db.extensions import db
from eventio.http.errors import ApiError
from eventio.settings import prometheus_multiproc_dir, settings

# Its endpoint is `observability.metrics`: rate limited by address (eventio/http/pipeline.py).
bp = Blueprint("observability", __name__)
# Up to the gunicorn timeout (30 s); the statement timeout is 10 s.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# The `*_created` timestamps double the series and no dashboard of ours reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

REQUESTS = Counter(
    "eventio_http_requests_total",
    "Requests answered, by Flask url rule and status.",
    ["endpoint", "status"],
)
LATENCY = Histogram(
    "eventio_http_request_duration_seconds",
    "Time from the request to the last byte of the response.",
    ["endpoint", "status"],
    buckets=LATENCY_BUCKETS,
)
CACHE_LOOKUPS = Counter(
    "eventio_stats_cache_lookups_total",
    "Stats cache lookups, by result (hit or miss).",
    ["result"],
)
RATE_LIMITED = Counter(
    "eventio_http_rate_limited_total",
    "Requests refused with 429 Too Many Requests.",
    ["endpoint"],
)
# `livesum`: the total over live workers; a dead worker's value is dropped by child_exit.
POOL_CHECKED_OUT = Gauge(
    "eventio_db_pool_checked_out",
    "Database connections checked out of the pool (in use, or held by a thread for its "
    "requests' reads), by engine.",
    ["engine"],
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "eventio_db_pool_size",
    "Database connections the pool keeps (not counting overflow), by engine.",
    ["engine"],
    multiprocess_mode="livesum",
)


def observe_request(endpoint: str, status: int, seconds: float, cache: str | None) -> None:
    REQUESTS.labels(endpoint, str(status)).inc()
    LATENCY.labels(endpoint, str(status)).observe(seconds)
    if cache is not None:
        CACHE_LOOKUPS.labels(cache).inc()
    if status == 429:
        RATE_LIMITED.labels(endpoint).inc()


def set_pool_gauges(engine: Engine, label: str, returning: int = 0) -> None:
    """Read the pool itself, so a missed event never leaves the gauge drifting."""
    pool: Any = engine.pool
    if callable(getattr(pool, "checkedout", None)):
        POOL_CHECKED_OUT.labels(label).set(max(pool.checkedout() - returning, 0))
    if callable(getattr(pool, "size", None)):
        POOL_SIZE.labels(label).set(pool.size())


def watch_pool(engine: Engine, label: str) -> None:
    """Update the pool gauges on every checkout and checkin, in the worker that does it."""

    def on_checkout(*_: Any) -> None:
        set_pool_gauges(engine, label)

    def on_checkin(*_: Any) -> None:
        # The event fires just before the connection is back in the pool.
        set_pool_gauges(engine, label, returning=1)

    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "checkin", on_checkin)


def engines() -> dict[str, Engine]:
    return {key or "default": engine for key, engine in db.engines.items()}


def registry() -> CollectorRegistry:
    """This process's registry, or a fresh one summing every worker's files."""
    if not settings().prometheus_multiproc_dir:
        return REGISTRY
    summed = CollectorRegistry()
    multiprocess.MultiProcessCollector(summed)  # type: ignore[no-untyped-call]
    return summed


def metrics() -> Response:
    """Report the metrics in the Prometheus text format."""
    expected = settings().metrics_token
    if expected:
        given = bearer_token() or ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise ApiError.unauthenticated()
    for label, engine in engines().items():
        set_pool_gauges(engine, label)
    return Response(generate_latest(registry()), headers={"Content-Type": CONTENT_TYPE_LATEST})


bp.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])


def install(app: Flask) -> None:
    """Watch the app's pools (eventio/http/pipeline.py registers `bp`, serving `/metrics`)."""
    with app.app_context():
        for label, engine in engines().items():
            watch_pool(engine, label)
    app.register_blueprint(bp)


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn hook: forget a dead worker's live gauges (multiprocess mode only)."""
    if prometheus_multiproc_dir():
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
