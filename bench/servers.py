"""The API and the floor under gunicorn, started and always stopped by the run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import requests
from settings import BENCH, BIN, OUT, ROOT, Settings


@dataclass
class Server:
    """A gunicorn master (2 workers) this run started, and stops."""

    name: str
    process: subprocess.Popen[bytes]
    port: int

    def workers(self) -> list[int]:
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        return [int(child) for child in children]

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            # Its whole process group (it leads one): a worker still busy with a slow
            # request must not outlive the run, serving and querying on its own.
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def start_server(
    settings: Settings,
    name: str,
    app: str,
    port: int,
    extra: list[str],
) -> Server:
    if not port_free(port):
        raise SystemExit(
            f"Port {port} is in use; set BENCH_API_PORT / BENCH_FLOOR_PORT / BENCH_MARIADB_PORT."
        )
    metrics = OUT / f"metrics-{name}"
    env = {
        **settings.server_env(),
        "BIND": f"127.0.0.1:{port}",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
    }
    # Each worker listens on a socket of its own (SO_REUSEPORT), so the kernel spreads
    # wrk's connections over the workers. On one shared socket, the worker that had the
    # previous run's connections was the one awake to accept all of the next run's: the
    # API came out 8 + 0 on every retry, and a page was measured on one worker (one core).
    command = [
        str(BIN / "gunicorn"),
        "--config",
        str(ROOT / "gunicorn.conf.py"),
        "--reuse-port",
        *extra,
        app,
    ]
    with (OUT / f"{name}.log").open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(name, process, port)


def wait_ready(server: Server, token: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    url = f"http://127.0.0.1:{server.port}/api/v2/user"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"The {server.name} server exited; see {OUT / (server.name + '.log')}")
        with suppress(requests.RequestException):
            if requests.get(url, headers=auth(token), timeout=2).status_code == 200:
                # Every worker imports lazily; a few more requests reach both.
                for _ in range(8):
                    requests.get(url, headers=auth(token), timeout=5)
                return
        time.sleep(0.25)
    raise SystemExit(f"The {server.name} server did not answer within {seconds:.0f} s")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


@contextmanager
def servers(settings: Settings, token: str) -> Iterator[tuple[Server, Server]]:
    """The API and the floor under gunicorn, stopped whatever happens."""
    started: list[Server] = []
    try:
        started.append(start_server(settings, "api", "wsgi:app", settings.api_port, []))
        started.append(
            start_server(
                settings,
                "floor",
                "floor:app",
                settings.floor_port,
                ["--pythonpath", str(BENCH), "--name", "eventio-floor"],
            )
        )
        for server in started:
            wait_ready(server, token)
        yield started[0], started[1]
    finally:
        for server in started:
            server.stop()


@contextmanager
def api_servers(
    settings: Settings, mariadb: Settings, tokens: dict[str, str]
) -> Iterator[tuple[Server, Server]]:
    """The API on PostgreSQL (`settings`) and the API on MariaDB (`mariadb`), under gunicorn
    alike, stopped whatever happens. `tokens`: each database's own token, by server name."""
    started: list[Server] = []
    try:
        started.append(start_server(settings, "api", "wsgi:app", settings.api_port, []))
        started.append(
            start_server(
                mariadb,
                "api-mariadb",
                "wsgi:app",
                settings.mariadb_port,
                ["--name", "eventio-mariadb"],
            )
        )
        for server in started:
            wait_ready(server, tokens[server.name])
        yield started[0], started[1]
    finally:
        for server in started:
            server.stop()
