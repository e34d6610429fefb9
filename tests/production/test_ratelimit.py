"""Rate limits per user (and per address and place before a token), in memory and in Redis."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from redis.connection import parse_url
from werkzeug.test import TestResponse

from eventio import create_app
from eventio.auth.guard import utcnow
from eventio.db.extensions import db
from eventio.oauth.clients import create_client
from tests.conftest import bearer
from tests.factories import UserFactory, issue_token
from tests.support.tcp_proxy import TcpProxy

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
# The suite's own Redis database when TEST_REDIS_URL names one: suites run side by side
# on one server must not flush each other's counters.
REDIS_DB = (
    int(parse_url(os.environ["TEST_REDIS_URL"]).get("db", 0))
    if os.environ.get("TEST_REDIS_URL")
    else 7
)
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
USER = "/api/v2/user"
TOO_MANY = {"message": "Too Many Attempts."}

MakeApp = Callable[..., Flask]


@pytest.fixture
def redis_db() -> Iterator[redis.Redis]:
    """Our own Redis database, empty before and after."""
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def make_app(app: Flask) -> Iterator[MakeApp]:
    """Apps of our own (5 per minute) on the suite's database, disposed afterwards."""
    made: list[Flask] = []

    def make(**config: Any) -> Flask:
        settings = {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": None,
            "RATE_LIMIT": "5 per minute",
            **config,
        }
        made.append(create_app(settings))
        return made[-1]

    yield make
    for each in made:
        with each.app_context():
            db.engine.dispose()


@pytest.fixture(params=["memory", "redis"])
def limited(request: pytest.FixtureRequest, make_app: MakeApp) -> FlaskClient:
    """A client of an app limited to 5 per minute, counting in memory or in Redis."""
    if request.param == "memory":
        return make_app().test_client()
    request.getfixturevalue("redis_db")
    return make_app(REDIS_URL=REDIS_URL).test_client()


@pytest.fixture
def limiter_warnings(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The rate limiter's log; an in-process Alembic upgrade (fileConfig) disables old loggers."""
    logger = logging.getLogger("eventio.ratelimit")
    was_disabled, logger.disabled = logger.disabled, False
    caplog.set_level(logging.INFO, logger="eventio.ratelimit")
    yield caplog
    logger.disabled = was_disabled


def get(client: FlaskClient, headers: dict[str, str] | None = None, **environ: str) -> TestResponse:
    return client.get(USER, headers=headers or {}, environ_base=environ)


def remaining(response: TestResponse) -> int:
    return int(response.headers["X-RateLimit-Remaining"])


def assert_too_many(response: TestResponse) -> None:
    assert response.status_code == 429
    assert response.get_json() == TOO_MANY
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.headers["X-RateLimit-Limit"] == "5"
    assert response.headers["X-RateLimit-Remaining"] == "0"


def test_headers_count_down_and_the_sixth_request_is_429(
    limited: FlaskClient, manager: dict[str, Any]
) -> None:
    answers = [get(limited, manager["headers"]) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert {a.headers["X-RateLimit-Limit"] for a in answers} == {"5"}
    assert [remaining(a) for a in answers] == [4, 3, 2, 1, 0]
    assert_too_many(get(limited, manager["headers"]))


def oauth_token(client: FlaskClient, client_id: str, secret: str) -> str:
    answer = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return str(answer.get_json()["access_token"])


def test_every_token_of_a_user_draws_on_one_budget(
    limited: FlaskClient, manager: dict[str, Any]
) -> None:
    """Minting tokens (by the CLI or `POST /oauth/token`) buys no more requests: the budget
    is the user's, as Laravel's `throttle:api` keys on the user id."""
    partner = create_client(db.session, manager["user"].id, "warehouse", ["*"], utcnow())
    minted = [oauth_token(limited, partner.client_id, partner.secret) for _ in range(2)]
    tokens = [manager["token"], issue_token(manager["user"].id), *minted]
    answers = [get(limited, bearer(token)) for token in tokens]
    assert [a.status_code for a in answers] == [200] * 4
    assert [remaining(a) for a in answers] == [4, 3, 2, 1]
    last = get(limited, bearer(oauth_token(limited, partner.client_id, partner.secret)))
    assert (last.status_code, remaining(last)) == (200, 0)
    assert_too_many(get(limited, bearer(oauth_token(limited, partner.client_id, partner.secret))))
    assert_too_many(get(limited, bearer(issue_token(manager["user"].id))))


def test_two_users_have_budgets_of_their_own(limited: FlaskClient, manager: dict[str, Any]) -> None:
    other = bearer(issue_token(UserFactory().id))
    for _ in range(5):
        assert get(limited, manager["headers"]).status_code == 200
    assert_too_many(get(limited, manager["headers"]))
    answer = get(limited, other)
    assert (answer.status_code, remaining(answer)) == (200, 4)


def token_attempt(client: FlaskClient, **environ: str) -> TestResponse:
    return client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "guess"},
        environ_base=environ,
    )


def test_401_floods_on_the_api_leave_the_token_endpoints_budget_whole_and_back(
    limited: FlaskClient, manager: dict[str, Any]
) -> None:
    wrong = bearer(manager["token"] + "x")
    for _ in range(5):
        assert get(limited, wrong).status_code == 401
    assert_too_many(get(limited, wrong))
    attempt = token_attempt(limited)
    assert (attempt.status_code, remaining(attempt)) == (401, 4)

    for _ in range(4):
        assert token_attempt(limited).status_code == 401
    refused = token_attempt(limited)
    assert refused.status_code == 429
    assert refused.headers["Cache-Control"] == "no-store"
    assert refused.headers["Pragma"] == "no-cache"
    # The API's budget at this address is spent by its own 401s only, the user's by the user.
    assert_too_many(get(limited))
    served = get(limited, manager["headers"])
    assert (served.status_code, remaining(served)) == (200, 4)


def test_the_token_endpoints_budget_is_spent_apart_from_the_apis(
    limited: FlaskClient, manager: dict[str, Any]
) -> None:
    for _ in range(5):
        assert token_attempt(limited).status_code == 401
    assert token_attempt(limited).status_code == 429
    assert token_attempt(limited, REMOTE_ADDR="10.1.2.3").status_code == 401
    unauthenticated = get(limited)
    assert (unauthenticated.status_code, remaining(unauthenticated)) == (401, 4)


def test_a_429_of_the_token_endpoint_is_never_stored(make_app: MakeApp) -> None:
    client = make_app(RATE_LIMIT="1 per minute").test_client()
    assert token_attempt(client).status_code == 401
    refused = token_attempt(client)
    assert refused.status_code == 429
    assert refused.get_json() == TOO_MANY
    assert refused.headers["Cache-Control"] == "no-store"
    assert refused.headers["Pragma"] == "no-cache"
    assert refused.headers["Retry-After"].isdigit()


def test_metrics_has_a_budget_of_its_own_per_address(
    make_app: MakeApp, manager: dict[str, Any]
) -> None:
    client = make_app(METRICS_TOKEN="scrape-me").test_client()
    guesses = [client.get("/metrics", headers=bearer("guess")) for _ in range(5)]
    assert [g.status_code for g in guesses] == [401] * 5
    assert [remaining(g) for g in guesses] == [4, 3, 2, 1, 0]
    assert_too_many(client.get("/metrics", headers=bearer("scrape-me")))
    elsewhere = client.get(
        "/metrics", headers=bearer("scrape-me"), environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert elsewhere.status_code == 200
    # Neither the API's nor the token endpoint's budget at the address was touched.
    assert remaining(get(client)) == 4
    assert remaining(token_attempt(client)) == 4
    assert remaining(get(client, manager["headers"])) == 4


def test_unauthenticated_requests_are_limited_per_address(
    limited: FlaskClient, manager: dict[str, Any]
) -> None:
    wrong = bearer(manager["token"] + "x")
    answers = [get(limited, wrong if i % 2 else None) for i in range(5)]
    assert [a.status_code for a in answers] == [401] * 5
    assert [remaining(a) for a in answers] == [4, 3, 2, 1, 0]
    assert_too_many(get(limited))
    assert_too_many(get(limited, wrong))
    elsewhere = get(limited, REMOTE_ADDR="10.1.2.3")
    assert (elsewhere.status_code, remaining(elsewhere)) == (401, 4)
    # A valid token from the exhausted address draws on the token's budget.
    valid = get(limited, manager["headers"])
    assert (valid.status_code, remaining(valid)) == (200, 4)


def test_every_api_answer_carries_the_headers(
    limited: FlaskClient, manager: dict[str, Any]
) -> None:
    missing = limited.get("/api/v2/event/999999/bookings", headers=manager["headers"])
    invalid = limited.get("/api/v2/event/999999/bookings?sort=nope", headers=manager["headers"])
    for answer in (missing, invalid):
        assert answer.status_code in (404, 422)
        assert answer.headers["X-RateLimit-Limit"] == "5"
    assert [remaining(missing), remaining(invalid)] == [4, 3]


def test_health_endpoints_are_not_limited(make_app: MakeApp) -> None:
    client = make_app(RATE_LIMIT="1 per minute").test_client()
    for _ in range(3):
        for path in ("/health/live", "/health/ready"):
            answer = client.get(path)
            assert answer.status_code == 200
            assert "X-RateLimit-Limit" not in answer.headers


def test_the_limit_is_configurable_and_can_be_switched_off(
    make_app: MakeApp, manager: dict[str, Any]
) -> None:
    two = make_app(RATE_LIMIT="2 per minute").test_client()
    assert [get(two, manager["headers"]).status_code for _ in range(3)] == [200, 200, 429]
    off = make_app(RATE_LIMIT_ENABLED=False).test_client()
    answers = [get(off, manager["headers"]) for _ in range(7)]
    assert {a.status_code for a in answers} == {200}
    assert "X-RateLimit-Limit" not in answers[-1].headers


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_every_limit_of_several_counts_and_the_headers_name_the_narrowest(
    storage: str, make_app: MakeApp, manager: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    """`RATE_LIMIT` may list several budgets, as Laravel's throttle may: a request served
    counts against each; the headers describe the narrowest window until another budget
    runs out first, and then the 429 describes that one."""
    redis_url = None
    if storage == "redis":
        request.getfixturevalue("redis_db")
        redis_url = REDIS_URL
    client = make_app(RATE_LIMIT="5 per minute; 3 per hour", REDIS_URL=redis_url).test_client()
    answers = [get(client, manager["headers"]) for _ in range(3)]
    assert [a.status_code for a in answers] == [200] * 3
    assert [a.headers["X-RateLimit-Limit"] for a in answers] == ["5"] * 3
    assert [remaining(a) for a in answers] == [4, 3, 2]
    refused = get(client, manager["headers"])
    assert refused.status_code == 429
    assert refused.get_json() == TOO_MANY
    assert (refused.headers["X-RateLimit-Limit"], remaining(refused)) == ("3", 0)
    # The hour's window: far more than a minute to wait.
    assert 60 < int(refused.headers["Retry-After"]) <= 3600


def test_a_malformed_limit_fails_at_start(make_app: MakeApp) -> None:
    with pytest.raises(ValueError):
        make_app(RATE_LIMIT="lots per fortnight")


def test_two_workers_share_one_budget_in_redis(
    make_app: MakeApp, redis_db: redis.Redis, manager: dict[str, Any]
) -> None:
    first = make_app(REDIS_URL=REDIS_URL).test_client()
    second = make_app(REDIS_URL=REDIS_URL).test_client()
    seen = [remaining(get(worker, manager["headers"])) for worker in (first, second) * 2]
    assert seen == [4, 3, 2, 1]
    assert remaining(get(second, manager["headers"])) == 0
    assert_too_many(get(first, manager["headers"]))
    assert_too_many(get(second, manager["headers"]))


@pytest.fixture
def redis_proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy(REDIS_HOST, REDIS_PORT).start()
    yield proxy
    proxy.cut()


def test_a_redis_outage_fails_open_with_one_warning_and_limits_resume(
    make_app: MakeApp,
    redis_db: redis.Redis,
    redis_proxy: TcpProxy,
    manager: dict[str, Any],
    limiter_warnings: pytest.LogCaptureFixture,
) -> None:
    client = make_app(REDIS_URL=f"redis://127.0.0.1:{redis_proxy.port}/{REDIS_DB}").test_client()
    assert [remaining(get(client, manager["headers"])) for _ in range(2)] == [4, 3]

    redis_proxy.cut()
    started = time.monotonic()
    assert [get(client, manager["headers"]).status_code for _ in range(3)] == [200] * 3
    assert time.monotonic() - started < 3
    problems = [r for r in limiter_warnings.records if r.levelno >= logging.WARNING]
    assert len(problems) == 1, [r.getMessage() for r in problems]

    redis_proxy.restore()
    wait_until_redis_counts_again(client, redis_db)
    # Back on Redis: the two hits from before the outage still count.
    assert [remaining(get(client, manager["headers"])) for _ in range(3)] == [2, 1, 0]
    assert_too_many(get(client, manager["headers"]))
    problems = [r for r in limiter_warnings.records if r.levelno >= logging.WARNING]
    assert len(problems) == 1, [r.getMessage() for r in problems]


def test_while_redis_is_down_it_is_pinged_after_a_growing_pause_not_per_request(
    make_app: MakeApp,
    redis_db: redis.Redis,
    redis_proxy: TcpProxy,
    manager: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make_app(
        REDIS_URL=f"redis://127.0.0.1:{redis_proxy.port}/{REDIS_DB}", RATE_LIMIT="100 per minute"
    )
    client = app.test_client()
    assert remaining(get(client, manager["headers"])) == 99
    storage = app.extensions["eventio.ratelimit"].storage
    pings: list[float] = []
    ping = storage.check

    def counted_ping() -> bool:
        pings.append(time.monotonic())
        return bool(ping())

    monkeypatch.setattr(storage, "check", counted_ping)
    redis_proxy.cut()
    went_down = time.monotonic()
    for _ in range(10):
        assert get(client, manager["headers"]).status_code == 200
    if time.monotonic() - went_down < 1:
        assert pings == []  # the first ping waits a second
    time.sleep(max(0.0, went_down + 1.1 - time.monotonic()))
    for _ in range(10):
        assert get(client, manager["headers"]).status_code == 200
    assert len(pings) == 1  # one ping, then a pause of two seconds


def wait_until_redis_counts_again(client: FlaskClient, redis_db: redis.Redis) -> None:
    """The limiter pings Redis again after a back-off of 1, 2, 4… seconds."""
    deadline = time.monotonic() + 15
    probe = 0
    while time.monotonic() < deadline:
        probe += 1
        address = f"10.99.0.{probe}"
        assert get(client, REMOTE_ADDR=address).status_code == 401
        if redis_db.keys(f"*{address}*"):
            return
        time.sleep(0.25)
    pytest.fail("rate limits did not go back to Redis within 15 s")
