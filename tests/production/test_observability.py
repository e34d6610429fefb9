"""Observability: one JSON access line per request, request ids, JSON logs, `/metrics`."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response
from flask.testing import FlaskClient
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from eventio import create_app
from eventio.cache.store import MemoryCache
from eventio.db.extensions import db
from eventio.http.errors import error_response
from eventio.observability.logs import StderrHandler, TextFormatter
from tests.support.buffered_client import BufferedClient

UUID_HEX = re.compile(r"[0-9a-f]{32}")
BOOKINGS_RULE = "/api/v2/event/<id:event_id>/bookings"
STATS_RULE = "/api/v2/event/<id:event_id>/stats"
ACCESS_FIELDS = {
    "time",
    "level",
    "logger",
    "message",
    "request_id",
    "method",
    "path",
    "endpoint",
    "status",
    "duration_ms",
    "token_id",
    "cache",
    "remote_addr",
}
Labels = dict[str, str]
Scrape = Callable[[], dict[tuple[str, frozenset[tuple[str, str]]], float]]


def make_app(app: Flask, **config: Any) -> Flask:
    """Another app on the test database, as a separate process would build it."""
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": app.config["REDIS_URL"],
            **config,
        }
    )


def dispose(app: Flask) -> None:
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture(scope="module")
def observed(app: Flask) -> Iterator[Flask]:
    """Metrics on, and two routes that only tests need: a 429, and the pool gauge mid-request."""
    observed = make_app(app, METRICS_ENABLED=True)
    observed.test_client_class = BufferedClient

    @observed.get("/test/throttled")
    def throttled() -> Response:
        return error_response(429, "Too Many Attempts.")

    @observed.get("/test/pool-while-connected")
    def pool_while_connected() -> Response:
        db.session.execute(text("SELECT 1"))
        return Response(generate_latest(REGISTRY), mimetype="text/plain")

    yield observed
    dispose(observed)


@pytest.fixture
def observed_client(observed: Flask) -> FlaskClient:
    cache = observed.extensions["eventio.cache"]
    if isinstance(cache, MemoryCache):
        cache._entries.clear()
    return observed.test_client()


@pytest.fixture
def log_lines(capsys: pytest.CaptureFixture[str]) -> Callable[[], list[dict[str, Any]]]:
    """Every line written to stderr since the last call, each parsed as JSON."""

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]

    return read


def access_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["logger"] == "eventio.access"]


def parse_metrics(body: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def scrape(observed_client: FlaskClient) -> Scrape:
    def read() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        response = observed_client.get("/metrics")
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/plain"
        return parse_metrics(response.get_data(as_text=True))

    return read


def token_id(manager: dict[str, Any]) -> int:
    return int(manager["token"].split("|", 1)[0])


# Logs


def test_a_request_writes_one_json_access_line_with_every_field(
    observed_client: FlaskClient, manager: dict[str, Any], log_lines: Any
) -> None:
    log_lines()
    event_id = manager["event"].id
    response = observed_client.get(
        f"/api/v2/event/{event_id}/bookings?sort=-id", headers=manager["headers"]
    )
    assert response.status_code == 200
    lines = log_lines()
    [line] = access_lines(lines)
    assert set(line) == ACCESS_FIELDS
    assert UUID_HEX.fullmatch(line["request_id"])
    assert response.headers["X-Request-ID"] == line["request_id"]
    assert line["level"] == "INFO"
    assert line["method"] == "GET"
    assert line["path"] == f"/api/v2/event/{event_id}/bookings"
    assert line["endpoint"] == BOOKINGS_RULE
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["token_id"] == token_id(manager)
    assert line["cache"] is None
    assert line["remote_addr"] == "127.0.0.1"


def test_an_unauthenticated_request_is_logged_without_a_token_id(
    observed_client: FlaskClient, log_lines: Any
) -> None:
    log_lines()
    assert observed_client.get("/api/v2/user").status_code == 401
    [line] = access_lines(log_lines())
    assert (line["status"], line["token_id"], line["endpoint"]) == (401, None, "/api/v2/user")


def test_a_sane_request_id_is_echoed_and_logged(
    observed_client: FlaskClient, log_lines: Any
) -> None:
    log_lines()
    given = "3f2a9c1e-7b4d-4e0a-9d8c-1a2b3c4d5e6f"
    response = observed_client.get("/api/v2/user", headers={"X-Request-ID": given})
    assert response.headers["X-Request-ID"] == given
    [line] = access_lines(log_lines())
    assert line["request_id"] == given


@pytest.mark.parametrize(
    "unsafe",
    [
        "abc\ndef",
        'abc\r\n{"logger": "eventio.access", "status": 200}',
        "a" * 129,
        "two words",
        "<script>",
        "",
    ],
)
def test_an_unsafe_request_id_is_replaced(
    observed_client: FlaskClient, log_lines: Any, unsafe: str
) -> None:
    log_lines()
    response = observed_client.get("/api/v2/user", environ_overrides={"HTTP_X_REQUEST_ID": unsafe})
    replaced = response.headers["X-Request-ID"]
    assert UUID_HEX.fullmatch(replaced) and replaced != unsafe
    lines = log_lines()
    [line] = access_lines(lines)
    assert line["request_id"] == replaced


def test_a_path_cannot_forge_a_log_line(observed_client: FlaskClient, log_lines: Any) -> None:
    log_lines()
    observed_client.get('/x%0A{"logger":"eventio.access"}')
    [line] = access_lines(log_lines())
    assert line["path"] == '/x\n{"logger":"eventio.access"}'
    assert line["endpoint"] == "unmatched"


def test_the_token_secret_never_reaches_the_logs(
    observed_client: FlaskClient,
    manager: dict[str, Any],
    log_lines: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    log_lines()
    token = manager["token"]
    secret = token.split("|", 1)[1]
    event_id = manager["event"].id
    observed_client.get(f"/api/v2/event/{event_id}/bookings", headers=manager["headers"])
    observed_client.get(f"/api/v2/event/{event_id}/stats", headers=manager["headers"])
    wrong = {"Authorization": f"Bearer {token_id(manager)}|{secret[::-1]}"}
    assert observed_client.get("/api/v2/user", headers=wrong).status_code == 401
    output = json.dumps(log_lines())
    records = " ".join(f"{r.getMessage()} {r.__dict__!r}" for r in caplog.records)
    assert len(access_lines(json.loads(output))) == 3
    for leaked in (secret, secret[::-1], "Bearer", "Authorization"):
        assert leaked not in output
        assert leaked not in records


def test_a_server_error_is_logged_once_with_the_contract_body(
    observed_client: FlaskClient,
    manager: dict[str, Any],
    log_lines: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the report exploded")

    monkeypatch.setattr("eventio.api.stats.compute", broken)
    log_lines()
    event_id = manager["event"].id
    response = observed_client.get(f"/api/v2/event/{event_id}/stats", headers=manager["headers"])
    assert response.status_code == 500
    assert response.get_json() == {"message": "Server Error"}
    lines = log_lines()
    [line] = access_lines(lines)
    assert (line["status"], line["endpoint"], line["cache"]) == (500, STATS_RULE, "miss")
    [error] = [line for line in lines if line["level"] == "ERROR"]
    assert error["logger"] == "eventio.errors"
    assert "the report exploded" in error["exception"]
    # The traceback carries the request id of its access line.
    assert error["request_id"] == line["request_id"] == response.headers["X-Request-ID"]


@pytest.mark.parametrize("testing", [False, True])
def test_a_failure_after_the_view_is_logged_once(app: Flask, log_lines: Any, testing: bool) -> None:
    late = make_app(app, TESTING=testing)
    late.test_client_class = BufferedClient

    @late.get("/late-failure")
    def late_failure() -> Response:
        return error_response(200, "fine so far")

    @late.after_request
    def fail_late(response: Response) -> Response:
        raise RuntimeError("after_request failed")

    log_lines()
    if testing:
        # Flask lets it through to the server (PROPAGATE_EXCEPTIONS): still one line, a 500.
        with pytest.raises(RuntimeError):
            late.test_client().get("/late-failure")
    else:
        response = late.test_client().get("/late-failure")
        assert response.status_code == 500
        assert response.get_json() == {"message": "Server Error"}
    [line] = access_lines(log_lines())
    assert (line["status"], line["endpoint"]) == (500, "/late-failure")
    dispose(late)


def test_app_warnings_are_json_and_handlers_are_not_duplicated(app: Flask, log_lines: Any) -> None:
    for _ in range(2):
        dispose(make_app(app))
    assert sum(isinstance(h, StderrHandler) for h in logging.getLogger().handlers) == 1
    log_lines()
    logging.getLogger("eventio.cache").warning("redis unreachable, serving without the cache")
    [line] = log_lines()
    assert line["level"] == "WARNING"
    assert line["logger"] == "eventio.cache"
    assert line["message"] == "redis unreachable, serving without the cache"


def test_the_text_format_keeps_a_record_on_one_line() -> None:
    record = logging.LogRecord(
        "eventio.access", logging.INFO, __file__, 1, "GET %s", ("/a\nb",), None
    )
    record.fields = {"path": "/a\nb", "status": 404, "token_id": None}
    line = TextFormatter().format(record)
    assert "\n" not in line
    assert line.endswith('eventio.access: GET /a\\nb path="/a\\nb" status=404 token_id=-')


def test_an_unknown_log_format_is_refused(app: Flask) -> None:
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        make_app(app, LOG_FORMAT="xml")


# Metrics


def test_requests_are_counted_by_url_rule_and_status(
    observed_client: FlaskClient, manager: dict[str, Any], scrape: Scrape
) -> None:
    before = scrape()
    event_id = manager["event"].id
    for _ in range(2):
        observed_client.get(f"/api/v2/event/{event_id}/bookings", headers=manager["headers"])
    observed_client.get("/no/such/route")
    after = scrape()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    bookings = {"endpoint": BOOKINGS_RULE, "status": "200"}
    assert delta("eventio_http_requests_total", **bookings) == 2
    assert delta("eventio_http_request_duration_seconds_count", **bookings) == 2
    assert delta("eventio_http_request_duration_seconds_bucket", le="+Inf", **bookings) == 2
    assert delta("eventio_http_requests_total", endpoint="unmatched", status="404") == 1
    endpoints = {dict(labels).get("endpoint") for _, labels in after}
    assert not any(str(event_id) in (endpoint or "") for endpoint in endpoints)


def test_stats_cache_hits_and_misses_are_counted(
    observed_client: FlaskClient, manager: dict[str, Any], scrape: Scrape
) -> None:
    before = scrape()
    stats = f"/api/v2/event/{manager['event'].id}/stats"
    for _ in range(2):
        assert observed_client.get(stats, headers=manager["headers"]).status_code == 200
    after = scrape()
    for result in ("hit", "miss"):
        name = "eventio_stats_cache_lookups_total"
        assert value(after, name, result=result) - value(before, name, result=result) == 1


def test_rate_limit_rejections_are_counted(observed_client: FlaskClient, scrape: Scrape) -> None:
    before = scrape()
    for _ in range(3):
        assert observed_client.get("/test/throttled").status_code == 429
    after = scrape()
    name, labels = "eventio_http_rate_limited_total", {"endpoint": "/test/throttled"}
    assert value(after, name, **labels) - value(before, name, **labels) == 3


def test_the_pool_gauges_follow_checkouts(
    observed: Flask, observed_client: FlaskClient, scrape: Scrape
) -> None:
    # On PostgreSQL a thread that served an API request keeps its read connection out of
    # the pool (eventio.db.reads): those count as checked out, before, during and after.
    held = len(observed.extensions.get("eventio.reads", ()))
    during = parse_metrics(observed_client.get("/test/pool-while-connected").get_data(as_text=True))
    assert value(during, "eventio_db_pool_checked_out", engine="default") >= held + 1
    after = scrape()
    assert value(after, "eventio_db_pool_checked_out", engine="default") == held
    assert value(after, "eventio_db_pool_size", engine="default") >= 1


def test_metrics_are_off_by_default(client: FlaskClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 404
    assert response.get_json() == {"message": "The route metrics could not be found."}


def test_metrics_can_be_switched_off_even_with_a_token(app: Flask) -> None:
    disabled = make_app(app, METRICS_ENABLED="false", METRICS_TOKEN="scrape-me")
    assert disabled.test_client().get("/metrics").status_code == 404
    dispose(disabled)


def test_a_metrics_token_is_required_when_set(app: Flask) -> None:
    guarded = make_app(app, METRICS_TOKEN="scrape-me")
    client = guarded.test_client()
    for headers in ({}, {"Authorization": "Bearer scrape-you"}, {"Authorization": "scrape-me"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert response.get_json() == {"message": "Unauthenticated."}
    response = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert response.status_code == 200
    assert "eventio_http_requests_total" in response.get_data(as_text=True)
    dispose(guarded)


WORKER = textwrap.dedent(
    """
    import json, os, sys
    from sqlalchemy import text
    from eventio import create_app
    from eventio.db.extensions import db
    from eventio.observability import child_exit

    role, requests = sys.argv[1], int(sys.argv[2])
    app = create_app({"DATABASE_URL": os.environ["OBS_DB"], "REDIS_URL": None,
                      "METRICS_ENABLED": True, "LOG_LEVEL": "WARNING"})
    client = app.test_client()
    for _ in range(requests):
        client.get("/nowhere").close()
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.remove()
    if role == "reader":
        scrapes = [client.get("/metrics").get_data(as_text=True)]
        for pid in sys.argv[3:]:
            child_exit(None, type("Worker", (), {"pid": int(pid)}))
        scrapes.append(client.get("/metrics").get_data(as_text=True))
        print(json.dumps(scrapes))
    """
)


def test_multiprocess_mode_sums_the_workers(tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
        "EVENTIO_INSTANCE_PATH": str(tmp_path / "instance"),
        "OBS_DB": f"sqlite:///{tmp_path / 'workers.db'}",
    }

    def run(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", WORKER, *args], env=env, stdout=subprocess.PIPE, text=True
        )

    workers = [run("worker", "2"), run("worker", "3")]
    for worker in workers:
        assert worker.wait(timeout=60) == 0
    reader = run("reader", "0", str(workers[0].pid))
    out, _ = reader.communicate(timeout=60)
    assert reader.returncode == 0
    before, after = (parse_metrics(body) for body in json.loads(out))
    unmatched = {"endpoint": "unmatched", "status": "404"}
    assert value(before, "eventio_http_requests_total", **unmatched) == 5
    assert value(before, "eventio_http_request_duration_seconds_count", **unmatched) == 5
    # Three processes each report their pool; a dead worker's share goes with child_exit.
    per_process = value(before, "eventio_db_pool_size", engine="default") / 3
    assert per_process >= 1
    assert value(after, "eventio_db_pool_size", engine="default") == 2 * per_process
    assert value(after, "eventio_http_requests_total", **unmatched) == 5


def test_behind_a_trusted_proxy_links_and_addresses_come_from_forwarded_headers(
    app: Flask,
) -> None:
    from tests.factories import EventFactory, UserFactory, grant, issue_token

    proxied = create_app({**app.config, "PROXY_FIX_HOPS": 1})
    user, event = UserFactory(), EventFactory()
    grant(user.id, event.id, {"event": "read"})
    token = issue_token(user.id)
    response = proxied.test_client().get(
        f"/api/v2/event/{event.id}/tickets",
        headers={
            "Authorization": f"Bearer {token}",
            "X-Forwarded-For": "203.0.113.9",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "api.eventio.uk",
        },
    )
    assert response.status_code == 200
    assert response.get_json()["meta"]["path"].startswith("https://api.eventio.uk/api/v2/")
