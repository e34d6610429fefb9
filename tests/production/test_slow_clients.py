"""Slow clients against the production topology (nginx in front of gunicorn, started as
`make serve-proxy` starts it) and against bare gunicorn: 30 connections trickle their
headers or their bodies while `/health/live` and `POST /oauth/token` must still answer.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask_migrate import upgrade

from deploy import proxy
from deploy.slow_clients import (
    SLOW_BODY_CLIENTS,
    SLOW_HEADER_CLIENTS,
    TOKEN_FORM,
    SlowClients,
    Topology,
    free_port,
    local_topology,
    wait_until_live,
)
from eventio import create_app
from eventio.db.extensions import db

ANSWER_WITHIN = 1.0
BODY_LIMIT = 16384
# nginx's client_header_timeout (deploy/nginx/eventio.conf), and some slack for a busy host.
HEADER_TIMEOUT = 5.0


@pytest.fixture(scope="module", autouse=True)
def nginx_installed() -> None:
    if proxy.nginx_binary() is None:
        reason = "nginx is not installed (deploy/install-nginx installs it)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the production topology's tests")
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def clean_database() -> None:
    """Overrides the suite's table cleaning: the servers use a database of their own."""


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    """gunicorn (gunicorn.conf.py, one worker of 4 threads) on a free port, and nginx from
    the repository's template on another, in front of it; SQLite, migrated.

    One worker, so that bare gunicorn's failure is certain: with several, the kernel may
    hand most slow connections to one worker and leave another free to answer."""
    folder = tmp_path_factory.mktemp("topology")
    url = f"sqlite:///{folder / 'eventio.db'}"
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    home = folder / "home"
    home.mkdir()
    # Where gunicorn would put its control socket by default: it must put none.
    env = {"GUNICORN_ACCESS_LOG": "1", "HOME": str(home), "XDG_RUNTIME_DIR": str(home)}
    with local_topology(folder, url, BODY_LIMIT, env) as topology:
        yield topology


def probe(topology: Topology, port: int) -> tuple[float, float]:
    """Seconds `/health/live` and `POST /oauth/token` took; a timeout is an AssertionError."""
    started = time.monotonic()
    live = requests.get(topology.url(port, "/health/live"), timeout=ANSWER_WITHIN)
    live_seconds = time.monotonic() - started
    assert live.status_code == 200
    started = time.monotonic()
    token = requests.post(topology.url(port, "/oauth/token"), data=TOKEN_FORM, timeout=1.0)
    token_seconds = time.monotonic() - started
    # An unknown client: 401 in RFC 6749's body. It answered; that is what counts here.
    assert token.status_code == 401
    assert token.json()["error"] == "invalid_client"
    return live_seconds, token_seconds


def test_behind_nginx_slow_clients_are_held_and_the_api_answers_within_a_second(
    topology: Topology,
) -> None:
    with SlowClients(topology.nginx_port) as slow:
        opened = time.monotonic()
        time.sleep(0.5)
        timings = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            timings.append(probe(topology, topology.nginx_port))
            time.sleep(0.25)
        # Every one of them is still connected: nginx holds them, gunicorn never sees them.
        assert slow.open_count() == SLOW_HEADER_CLIENTS + SLOW_BODY_CLIENTS
        assert max(max(pair) for pair in timings) < ANSWER_WITHIN
        # Past client_header_timeout, nginx drops whoever has not sent a whole header.
        time.sleep(max(0.0, opened + HEADER_TIMEOUT + 2 - time.monotonic()))
        assert slow.open_count(slow.header_slice) == 0
        probe(topology, topology.nginx_port)


def test_bare_gunicorn_is_blocked_by_the_same_slow_clients(topology: Topology) -> None:
    """What nginx is there for: each of gunicorn's threads waits on one slow client for as
    long as it keeps sending, and nothing else is answered meanwhile."""
    live = topology.url(topology.gunicorn_port, "/health/live")
    assert requests.get(live, timeout=ANSWER_WITHIN).status_code == 200
    with SlowClients(topology.gunicorn_port):
        time.sleep(0.5)
        with pytest.raises(requests.Timeout):
            requests.get(live, timeout=ANSWER_WITHIN)
        with pytest.raises(requests.Timeout):
            requests.post(
                topology.url(topology.gunicorn_port, "/oauth/token"),
                data=TOKEN_FORM,
                timeout=ANSWER_WITHIN,
            )
    # Once they are gone, the threads are free again.
    assert wait_until_live(live, seconds=10) < 10


def raw_request(port: int, head: bytes, read_seconds: float = 5) -> bytes:
    """Send `head` (request line and headers) and return what the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_seconds) as connection:
        connection.sendall(head)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer_complete(answer):
            piece = connection.recv(65536)
            if not piece:
                break
            answer += piece
        return answer


def answer_complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def body_of(answer: bytes) -> dict[str, object]:
    return json.loads(answer.partition(b"\r\n\r\n")[2])  # type: ignore[no-any-return]


@pytest.mark.parametrize("through", ["nginx", "gunicorn"])
def test_a_huge_declared_body_is_refused_at_once_without_being_sent(
    topology: Topology, through: str
) -> None:
    """200 MB announced, none of it sent: the 413 comes on the headers alone (nginx's from
    client_max_body_size, the app's from its Content-Length check), in the contract's body
    and RFC 6749's."""
    port = topology.nginx_port if through == "nginx" else topology.gunicorn_port
    started = time.monotonic()
    answer = raw_request(
        port,
        b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 200000000\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\n",
    )
    assert time.monotonic() - started < ANSWER_WITHIN
    assert answer.startswith(b"HTTP/1.1 413")
    body = body_of(answer)
    assert body["message"] == f"The request body is larger than {BODY_LIMIT} bytes."
    assert body["error"] == "invalid_request"
    assert b"cache-control: no-store" in answer.lower()


@pytest.mark.parametrize("through", ["nginx", "gunicorn"])
def test_a_chunked_body_past_the_limit_is_cut_with_413(topology: Topology, through: str) -> None:
    port = topology.nginx_port if through == "nginx" else topology.gunicorn_port
    response = requests.post(
        topology.url(port, "/api/v2/events"),
        data=iter([b"a" * 8192] * 4),  # a generator: requests sends it chunked
        timeout=5,
    )
    assert response.status_code == 413
    assert response.json() == {"message": f"The request body is larger than {BODY_LIMIT} bytes."}
    assert response.headers["Cache-Control"] == "no-store"


def test_nginx_tells_no_version_and_passes_the_client_address(topology: Topology) -> None:
    response = requests.get(topology.url(topology.nginx_port, "/health/live"), timeout=5)
    assert response.headers["Server"] == "nginx"
    # A forged X-Forwarded-For does not become the client: the app logs the real peer.
    forged = requests.get(
        topology.url(topology.nginx_port, "/health/live"),
        headers={"X-Forwarded-For": "203.0.113.9", "X-Request-ID": "forwarded-check"},
        timeout=5,
    )
    assert forged.status_code == 200
    line = next(
        json.loads(line)
        for line in reversed(topology.gunicorn_log.read_text().splitlines())
        if '"forwarded-check"' in line and '"logger":"eventio.access"' in line
    )
    assert line["remote_addr"] == "127.0.0.1"


def test_gunicorn_access_lines_stay_json_for_a_hostile_path_and_agent(
    topology: Topology,
) -> None:
    agent = 'agent "quoted" \\ back\ttab'
    answer = raw_request(
        topology.gunicorn_port,
        b'GET /health/%22a\\"b\\\\c HTTP/1.1\r\nHost: x\r\n'
        + f"User-Agent: {agent}\r\nX-Request-ID: hostile-line\r\n".encode()
        + b"Connection: close\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 404")
    deadline = time.monotonic() + 5
    lines: list[dict[str, object]] = []
    while not lines and time.monotonic() < deadline:
        lines = [
            json.loads(line)  # raises on a line gunicorn's own escaping would have broken
            for line in topology.gunicorn_log.read_text().splitlines()
            if line.startswith('{"time": "[') and "hostile-line" in line
        ]
        time.sleep(0.05)
    assert len(lines) == 1
    assert lines[0]["agent"] == agent
    assert lines[0]["path"] == '/health/"a\\"b\\\\c'
    assert lines[0]["status"] == 404


def test_gunicorn_makes_no_control_socket_in_the_users_home(topology: Topology) -> None:
    """Two instances on one host would otherwise share ~/.gunicorn/gunicorn.ctl."""
    assert requests.get(topology.url(topology.gunicorn_port, "/health/live"), timeout=5).ok
    home = topology.folder / "home"
    assert not (home / ".gunicorn").exists()
    assert not (home / "gunicorn.ctl").exists()


def test_nginx_refuses_an_overlong_request_line_or_header_in_the_contracts_body(
    topology: Topology,
) -> None:
    response = requests.get(
        topology.url(topology.nginx_port, "/api/v2/events?filter[name]=" + "a" * 9000),
        timeout=5,
    )
    assert response.status_code == 414
    assert set(response.json()) == {"message"}
    assert response.headers["Cache-Control"] == "no-store"
    response = requests.get(
        topology.url(topology.nginx_port, "/health/live"),
        headers={"X-Big": "a" * 9000},
        timeout=5,
    )
    assert response.status_code == 431
    assert response.json() == {"message": "A request header is too large."}


def test_with_gunicorn_down_nginx_answers_503_with_retry_after(tmp_path: Path) -> None:
    prefix = tmp_path / "nginx"
    nginx_port, nobody_port = free_port(), free_port()
    config = proxy.write_nginx_config(
        prefix, f"127.0.0.1:{nginx_port}", f"127.0.0.1:{nobody_port}", BODY_LIMIT, "1"
    )
    nginx = proxy.start_nginx(config, prefix, subprocess.DEVNULL)  # type: ignore[arg-type]
    try:
        proxy.wait_until_accepting(f"127.0.0.1:{nginx_port}", nginx, "nginx")
        for path in ("/health/live", "/oauth/token"):
            response = requests.post(f"http://127.0.0.1:{nginx_port}{path}", timeout=5)
            assert response.status_code == 503, path
            assert response.json() == {"message": "The service is unavailable; try again shortly."}
            assert response.headers["Retry-After"] == "5"
    finally:
        proxy.stop(nginx)
