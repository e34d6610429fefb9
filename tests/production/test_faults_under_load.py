"""Faults under load, the fast version of `make loadtest`: gunicorn (2 workers) serves the
demo world from PostgreSQL and Redis reached through TCP proxies; a threaded client walks
the load mix (reliability/load_mix.py), judging every answer against the one the same
request got at rest, while a worker is killed, Redis restarted and PostgreSQL cut.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests
from flask_migrate import upgrade

from eventio import create_app
from eventio.db.extensions import db
from reliability.load_client import LoadClient
from reliability.load_mix import (
    CALLERS,
    OK,
    UNAVAILABLE,
    Probe,
    build_mix,
    expected_bodies,
    headers_for,
    issue_tokens,
    read_facts,
    verdict,
    with_port,
)
from reliability.load_service import Gunicorn, app_env, start_gunicorn
from tests.production.conftest import (
    POSTGRES_HOST,
    POSTGRES_PORT,
    REDIS_HOST,
    REDIS_PORT,
    admin_connection,
    postgres_url,
)
from tests.support.tcp_proxy import TcpProxy

REDIS_DB = 14
BOOKINGS = 3000
REQUEST_TIMEOUT = 10.0  # the client gives up here: no request may come near it
RECOVERY_LIMIT = 5.0
CLIENT_THREADS = 4


@dataclass
class Service:
    server: Gunicorn
    pg_proxy: TcpProxy
    redis_proxy: TcpProxy
    probes: list[Probe]
    tokens: dict[str, str]
    bodies: list[bytes]

    def load(self) -> LoadClient:
        return LoadClient(
            self.server.url,
            self.probes,
            self.tokens,
            self.bodies,
            threads=CLIENT_THREADS,
            timeout=REQUEST_TIMEOUT,
        )


@pytest.fixture(autouse=True)
def clean_database() -> None:
    """Overrides the suite's table cleaning: this module keeps its own database."""


@pytest.fixture(scope="module")
def demo_database() -> Iterator[str]:
    """A database of this module's own holding a small demo world; its URL."""
    name = f"eventio_faults_{os.getpid()}"
    with admin_connection() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    url = postgres_url(name)
    app = create_app({"DATABASE_URL": url, "RATE_LIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        loaded = app.test_cli_runner().invoke(args=["demo", "--bookings", str(BOOKINGS)])
        assert loaded.exit_code == 0, loaded.output
        db.engine.dispose()
    yield url
    with admin_connection() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def service(demo_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    # Cache entries of another world (same event ids, other rows) must not be served.
    redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB).flushdb()
    pg_proxy = TcpProxy(POSTGRES_HOST, POSTGRES_PORT).start()
    redis_proxy = TcpProxy(REDIS_HOST, REDIS_PORT).start()
    env = app_env(
        with_port(demo_database, "127.0.0.1", pg_proxy.port),
        f"redis://127.0.0.1:{redis_proxy.port}/{REDIS_DB}",
    )
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    server = start_gunicorn(env, log, workers=2)
    try:
        tokens = issue_tokens(demo_database, CALLERS)
        probes = build_mix(read_facts(demo_database))
        server.wait_ready(headers_for(tokens["manager"], 0))
        server.wait_workers(2)
        with requests.Session() as session:
            bodies = expected_bodies(server.url, probes, tokens, session)
        yield Service(server, pg_proxy, redis_proxy, probes, tokens, bodies)
    finally:
        server.stop()
        pg_proxy.cut()
        redis_proxy.cut()
        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB).flushdb()
        print_errors(log)


def print_errors(log: Path) -> None:
    """The server's error lines, shown by pytest when a test failed."""
    if log.exists():
        for line in log.read_text().splitlines():
            if '"level":"ERROR"' in line or "[ERROR]" in line:
                print(line[:2000])


@pytest.fixture(autouse=True)
def every_dependency_up(service: Service) -> Iterator[None]:
    service.pg_proxy.restore()
    service.redis_proxy.restore()
    yield
    service.pg_proxy.restore()
    service.redis_proxy.restore()


def assert_recovered(client: LoadClient, fault_end: float, until: float) -> None:
    timeline = client.timeline()
    recovery = timeline.recovery(fault_end, until)
    assert recovery is not None and recovery <= RECOVERY_LIMIT, (recovery, client.verdicts())
    back = fault_end + recovery + 1
    assert timeline.bad_between(back, until + 1) == 0, "wrong answers after recovery"


def test_steady_load_gets_every_caller_its_own_answers(service: Service) -> None:
    with service.load() as client:
        deadline = time.time() + 8
        while time.time() < deadline and len({a.probe for a in client.answers}) < len(
            service.probes
        ):
            time.sleep(0.1)
    assert client.verdicts() == {OK: len(client.answers)}
    # Every request of the mix was answered, the three a caller may not make included.
    assert {a.probe for a in client.answers} == set(range(len(service.probes)))
    assert client.slowest() < REQUEST_TIMEOUT


def test_a_worker_killed_under_load_is_replaced_and_no_answer_is_wrong(
    service: Service,
) -> None:
    before = set(service.server.wait_workers(2))
    with service.load() as client:
        client.wait_until(time.time() + 1)
        killed_at = time.time()
        victim = service.server.kill_worker()
        replaced = set(service.server.wait_workers(2, RECOVERY_LIMIT, gone={victim}))
        client.wait_until(killed_at + RECOVERY_LIMIT)
        until = time.time()
    assert victim in before and victim not in replaced
    verdicts = client.verdicts()
    # Only the requests in flight on the killed worker lose their connection.
    assert set(verdicts) <= {OK, "connection-error"}, verdicts
    assert verdicts["connection-error"] <= CLIENT_THREADS
    lost = [a for a in client.answers if a.verdict != OK]
    assert all(killed_at - 0.1 <= a.ended <= killed_at + 1 for a in lost), lost
    assert_recovered(client, killed_at, until)
    assert client.slowest() < REQUEST_TIMEOUT


def test_redis_restarted_under_load_changes_no_answer(service: Service) -> None:
    with service.load() as client:
        client.wait_until(time.time() + 1)
        cut_at = time.time()
        service.redis_proxy.cut()
        # Back empty, as a restarted cache: the stats and counts are computed again.
        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB).flushdb()
        client.wait_until(cut_at + 1.5)
        service.redis_proxy.restore()
        restored_at = time.time()
        client.wait_until(restored_at + 3)
        until = time.time()
    verdicts = client.verdicts()
    assert verdicts == {OK: len(client.answers)}, verdicts
    during = [a for a in client.answers if cut_at + 0.2 <= a.started and a.ended <= restored_at]
    assert during, "nothing was answered while Redis was away"
    assert_recovered(client, restored_at, until)
    assert client.slowest() < REQUEST_TIMEOUT


def test_postgres_cut_under_load_answers_503_then_recovers(service: Service) -> None:
    with service.load() as client:
        client.wait_until(time.time() + 1)
        cut_at = time.time()
        service.pg_proxy.cut()
        client.wait_until(cut_at + 3)
        service.pg_proxy.restore()
        restored_at = time.time()
        client.wait_until(restored_at + RECOVERY_LIMIT + 1)
        until = time.time()
    verdicts = client.verdicts()
    # docs/errors.md: a 503 with Retry-After while the database is gone, nothing else.
    assert set(verdicts) <= {OK, UNAVAILABLE}, verdicts
    unavailable = [a for a in client.answers if a.verdict == UNAVAILABLE]
    assert unavailable, "the cut was never seen"
    assert all(a.ended >= cut_at for a in unavailable), "a 503 before the cut"
    assert_recovered(client, restored_at, until)
    assert client.slowest() < REQUEST_TIMEOUT


def test_the_judge_rejects_another_callers_body_and_an_undocumented_503(
    service: Service,
) -> None:
    """The rules above can fail: a body meant for another caller or event is wrong."""
    probes = service.probes
    mine = next(i for i, p in enumerate(probes) if (p.caller, p.key) == ("manager", "bookings"))
    theirs = next(i for i, p in enumerate(probes) if (p.caller, p.key) == ("manager-2", "bookings"))
    probe, expected = probes[mine], service.bodies[mine]
    unavailable = b'{"message":"The database is unavailable; try again shortly."}'
    assert verdict(probe, expected, 200, {}, expected) == OK
    assert verdict(probe, expected, 200, {}, service.bodies[theirs]) == "wrong-body"
    assert verdict(probe, expected, 503, {"Retry-After": "5"}, unavailable) == UNAVAILABLE
    assert verdict(probe, expected, 503, {}, unavailable) == "503-undocumented"
    assert verdict(probe, expected, 503, {"Retry-After": "5"}, b"{}") == "503-undocumented"
    assert verdict(probe, expected, 500, {}, b'{"message":"Server Error"}') == "status-500"
