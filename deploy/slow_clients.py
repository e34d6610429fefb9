"""Slow clients against the local production topology, and the figures of docs/reliability.md.

`.venv/bin/python -m deploy.slow_clients` starts gunicorn (one worker of 4 threads, SQLite
in a temporary folder) and nginx in front of it (deploy/nginx/eventio.conf), opens 30
(`SLOW_CLIENTS`) connections that trickle their headers or bodies, and measures `/health/live` and
`POST /oauth/token` through nginx and then straight at gunicorn. The same pieces serve
tests/production/test_slow_clients.py.
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from deploy import proxy

SLOW_HEADER_CLIENTS = 20
SLOW_BODY_CLIENTS = 10
DRIP_SECONDS = 2.0  # one header line, or one body byte, per connection this often
TOKEN_FORM = {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Topology:
    """gunicorn on one port and nginx, in front of it, on another; both of this run."""

    gunicorn_port: int
    nginx_port: int
    folder: Path
    gunicorn: subprocess.Popen[bytes]
    nginx: subprocess.Popen[bytes]

    @property
    def gunicorn_log(self) -> Path:
        return self.folder / "gunicorn.log"

    def url(self, port: int, path: str) -> str:
        return f"http://127.0.0.1:{port}{path}"


@contextlib.contextmanager
def local_topology(
    folder: Path, database_url: str, body_limit: int, extra_env: dict[str, str] | None = None
) -> Iterator[Topology]:
    """Both servers on free ports, every file of theirs under `folder`; stopped on exit."""
    gunicorn_port, nginx_port = free_port(), free_port()
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "4",
        "RATE_LIMIT_ENABLED": "0",
        "MAX_BODY_BYTES": str(body_limit),
        "PROXY_FIX_HOPS": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
        **(extra_env or {}),
    }
    prefix = folder / "nginx"
    config = proxy.write_nginx_config(
        prefix, f"127.0.0.1:{nginx_port}", f"127.0.0.1:{gunicorn_port}", body_limit, "1"
    )
    proxy.check_nginx_config(config, prefix)
    with (folder / "gunicorn.log").open("wb") as log, (folder / "nginx.log").open("wb") as nlog:
        gunicorn = proxy.start_gunicorn(f"127.0.0.1:{gunicorn_port}", env, log)
        nginx = proxy.start_nginx(config, prefix, nlog)
    try:
        proxy.wait_until_accepting(f"127.0.0.1:{gunicorn_port}", gunicorn, "gunicorn")
        proxy.wait_until_accepting(f"127.0.0.1:{nginx_port}", nginx, "nginx")
        topology = Topology(gunicorn_port, nginx_port, folder, gunicorn, nginx)
        wait_until_live(topology.url(nginx_port, "/health/live"), seconds=30)
        yield topology
    finally:
        proxy.stop(nginx)
        proxy.stop(gunicorn)


def wait_until_live(url: str, seconds: float) -> float:
    """Seconds until `url` answered 200 (each try may take a second)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=1).status_code == 200:
                return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {seconds} s")


class SlowClients:
    """Connections that send a request line, then a header line (or, once their headers
    are complete, a body byte) every DRIP_SECONDS, and never finish."""

    def __init__(
        self,
        port: int,
        header_clients: int = SLOW_HEADER_CLIENTS,
        body_clients: int = SLOW_BODY_CLIENTS,
    ) -> None:
        self.port = port
        self.header_clients, self.body_clients = header_clients, body_clients
        self.sockets: list[socket.socket] = []
        self.stopped = threading.Event()
        self.dripper = threading.Thread(target=self.drip, daemon=True)

    def __enter__(self) -> SlowClients:
        for index in range(self.header_clients + self.body_clients):
            connection = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            if index < self.header_clients:
                connection.sendall(b"GET /health/live HTTP/1.1\r\nHost: slow\r\n")
            else:
                connection.sendall(
                    b"POST /oauth/token HTTP/1.1\r\nHost: slow\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\n"
                    b"Content-Length: 1000\r\n\r\n"
                )
            self.sockets.append(connection)
        self.dripper.start()
        return self

    def drip(self) -> None:
        while not self.stopped.wait(DRIP_SECONDS):
            for index, connection in enumerate(self.sockets):
                piece = b"X-Slow: 1\r\n" if index < self.header_clients else b"a"
                # One the server closed fails here; `open_count` tells how many.
                with contextlib.suppress(OSError):
                    connection.sendall(piece)

    def open_count(self, which: slice = slice(None)) -> int:
        """How many of them the server still holds (not closed, not reset)."""
        held = 0
        for connection in self.sockets[which]:
            connection.setblocking(False)
            try:
                held += connection.recv(1, socket.MSG_PEEK) != b""
            except BlockingIOError:
                held += 1  # nothing to read: still waiting for the rest of the request
            except OSError:
                pass
            finally:
                connection.setblocking(True)
        return held

    @property
    def header_slice(self) -> slice:
        return slice(0, self.header_clients)

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.dripper.join(timeout=DRIP_SECONDS + 1)
        for connection in self.sockets:
            connection.close()


def timed(method: str, url: str, timeout: float, **kwargs: object) -> float | None:
    """Seconds the request took to answer, None when it did not answer within `timeout`."""
    started = time.monotonic()
    try:
        requests.request(method, url, timeout=timeout, **kwargs)  # type: ignore[arg-type]
    except requests.RequestException:
        return None
    return time.monotonic() - started


def measure(
    topology: Topology, port: int, seconds: float, timeout: float, clients: int
) -> dict[str, object]:
    """Probe `/health/live` and `POST /oauth/token` every 0.25 s for `seconds`, `clients`
    slow clients (two thirds trickling headers, a third bodies) connected throughout."""
    live: list[float | None] = []
    token: list[float | None] = []
    with SlowClients(port, clients - clients // 3, clients // 3) as slow:
        time.sleep(0.5)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            live.append(timed("GET", topology.url(port, "/health/live"), timeout))
            url = topology.url(port, "/oauth/token")
            token.append(timed("POST", url, timeout, data=TOKEN_FORM))
            time.sleep(0.25)
        held = slow.open_count()
    return {"held": held, "live": live, "token": token}


def summary(timings: list[float | None]) -> str:
    answered = [t for t in timings if t is not None]
    if not answered:
        return f"0 of {len(timings)} answered"
    median, slowest = statistics.median(answered) * 1000, max(answered) * 1000
    return (
        f"{len(answered)} of {len(timings)} answered, "
        f"median {median:.0f} ms, slowest {slowest:.0f} ms"
    )


def refusal_seconds(port: int, declared: int) -> tuple[str, float]:
    """Announce a `declared`-byte token request, send none of it: the status line that
    comes back and the seconds it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(
            b"POST /oauth/token HTTP/1.1\r\nHost: x\r\n"
            + f"Content-Length: {declared}\r\n".encode()
            + b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
        )
        status = connection.recv(65536).split(b"\r\n", 1)[0].decode()
    return status, time.monotonic() - started


def main() -> int:
    from flask_migrate import upgrade

    from eventio import create_app
    from eventio.db.extensions import db
    from eventio.http.input_guards import max_body_bytes

    if proxy.nginx_binary() is None:
        print("nginx is not installed: deploy/install-nginx", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="eventio-slow-") as name:
        folder = Path(name)
        url = f"sqlite:///{folder / 'eventio.db'}"
        app = create_app({"DATABASE_URL": url})
        with app.app_context():
            upgrade()
            db.engine.dispose()
        # SLOW_CLIENTS=500: nginx holds as many as its worker_connections (4096) allow.
        clients = int(os.environ.get("SLOW_CLIENTS") or SLOW_HEADER_CLIENTS + SLOW_BODY_CLIENTS)
        with local_topology(folder, url, max_body_bytes()) as topology:
            for name, port in (("nginx", topology.nginx_port), ("bare", topology.gunicorn_port)):
                figures = measure(topology, port, seconds=4, timeout=1.0, clients=clients)
                print(
                    f"{name}: {clients} slow clients, {figures['held']} still connected after"
                    f" 4.5 s; /health/live {summary(figures['live'])};"  # type: ignore[arg-type]
                    f" POST /oauth/token {summary(figures['token'])}"  # type: ignore[arg-type]
                )
                if name == "nginx":
                    time.sleep(1)
                else:
                    recovered = wait_until_live(topology.url(port, "/health/live"), 30)
                    print(f"bare: /health/live answers again {recovered:.1f} s after they left")
            for name, port in (("nginx", topology.nginx_port), ("bare", topology.gunicorn_port)):
                status, seconds = refusal_seconds(port, 200_000_000)
                print(
                    f"{name}: 200 MB declared, none sent: `{status}` after {seconds * 1000:.0f} ms"
                )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.exit(main())
