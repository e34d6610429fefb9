"""Under gunicorn (gunicorn.conf.py, one worker of one thread) a reader that stops in the
middle of an export gives back the thread and the export's transaction within the send
timeout: the next request is answered, and no backend is left idle in a transaction."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import insert, text

from eventio.db.extensions import db
from eventio.models import Booking
from tests.api.conftest import Caller, url
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
# More than the loopback socket buffers hold (the server's send buffer grows to 4 MiB),
# so the export's write blocks when its reader stops.
ROWS = 40_000


def get(port: int, target: str, headers: dict[str, str], timeout: float) -> int:
    """The status of a GET, read by a client that reads the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as client:
        lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        client.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        status = client.recv(64).split(b" ")[1]
        return int(status)


def idle_in_transaction() -> list[int]:
    with db.engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
                )
            ).scalars()
        )


def eventually(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def gunicorn_port(app: Flask, tmp_path: Path) -> Iterator[int]:
    database = os.environ.get("TEST_DATABASE_URL")
    if not database or not database.startswith("postgresql"):
        pytest.skip("the stalled export under gunicorn is measured on PostgreSQL")
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("EXPORT_")}
    environment.update(
        BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="1",
        DATABASE_URL=database,
        REDIS_URL=os.environ.get("TEST_REDIS_URL", ""),
        SECRET_KEY=app.config["SECRET_KEY"],
        EXPORT_SEND_TIMEOUT_SECONDS="1",
        EXPORT_MAX_SECONDS="30",
        EVENTIO_INSTANCE_PATH=str(tmp_path),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        LOG_LEVEL="WARNING",
        GUNICORN_LOG_LEVEL="warning",
    )
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:

            def up() -> bool:
                assert server.poll() is None, log_path.read_text()
                try:
                    return get(port, "/health/live", {}, 1) == 200
                except OSError:
                    return False

            assert eventually(up, 20), "gunicorn did not start in 20 s"
            yield port
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=5)


def test_a_stalled_reader_under_gunicorn_frees_the_thread_and_the_transaction(
    app: Flask, api: Caller, gunicorn_port: int
) -> None:
    db.session.execute(
        insert(Booking),
        [
            {
                "event_id": api.event_id,
                "booking_type": "participant",
                "booking_reference": f"STALL-{n:06d}",
                "status": "confirmed",
                "created_at": datetime(2026, 1, 1, 12, 0, 0),
            }
            for n in range(ROWS)
        ],
    )
    db.session.commit()
    db.session.remove()
    target = url(f"/event/{api.event_id}/bookings", {"format": "ndjson"})
    stalled = socket.socket()
    # A small receive window: the server's writes block soon after the reader stops.
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", gunicorn_port))
    try:
        headers = "".join(f"{k}: {v}\r\n" for k, v in api.headers.items())
        stalled.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode())
        assert stalled.recv(16).startswith(b"HTTP/1.1 200")
        # The reader stops here. The export is open: a backend idle in its transaction.
        assert eventually(lambda: idle_in_transaction() != [], 5)
        started = time.monotonic()
        # The one thread is back within the send timeout (1 s) and answers the next request.
        assert get(gunicorn_port, url("/user"), api.headers, 10) == 200
        assert time.monotonic() - started < 5
        assert eventually(lambda: idle_in_transaction() == [], 5)
    finally:
        stalled.close()
