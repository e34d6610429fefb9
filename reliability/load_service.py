"""The service under load: gunicorn (gunicorn.conf.py) and a Redis server this run owns."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import requests

from reliability import bench_module

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
# Out of reach, but on: the limiter's Redis round trip is part of every request.
UNREACHABLE_RATE_LIMIT = "100000000 per minute"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def app_env(database_url: str, redis_url: str) -> dict[str, str]:
    """What the API runs with: production settings, the rate limit out of reach."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "eventio-loadtest-cursor-key",
        "RATE_LIMIT": UNREACHABLE_RATE_LIMIT,
        # A worker recycled mid-run would be a fault of its own; the run injects its own.
        "GUNICORN_MAX_REQUESTS": "0",
    }


@dataclass
class Gunicorn:
    """A gunicorn master this run started (gunicorn.conf.py), and stops."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    metrics: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        return [int(child) for child in children]

    def wait_workers(
        self, count: int, seconds: float = 30, gone: Collection[int] = ()
    ) -> list[int]:
        """Wait until the master has `count` workers, none of them `gone`; their pids."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            workers = self.workers()
            if len(workers) == count and not set(workers) & set(gone):
                return workers
            time.sleep(0.02)
        raise RuntimeError(f"gunicorn has workers {self.workers()}, {count} expected")

    def wait_ready(self, headers: Mapping[str, str], seconds: float = 60) -> None:
        """Wait for a 200 from `/api/v2/user`, then warm both workers with a few more."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log}")
            with suppress(requests.RequestException):
                response = requests.get(f"{self.url}/api/v2/user", headers=headers, timeout=5)
                if response.status_code == 200:
                    for _ in range(8):  # fresh connections: both workers answer some
                        requests.get(f"{self.url}/api/v2/user", headers=headers, timeout=10)
                    return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {seconds:.0f} s; see {self.log}")

    def connection_split(self) -> list[int]:
        """Established client connections per worker, most first ([] without `ss`)."""
        return bench_module("cpu").connections_per_worker(self.port, self.workers())

    def kill_worker(self) -> int:
        """SIGKILL one worker, as the kernel's OOM killer would; its pid."""
        victim = self.workers()[0]
        os.kill(victim, signal.SIGKILL)
        return victim

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        shutil.rmtree(self.metrics, ignore_errors=True)


def start_gunicorn(env: Mapping[str, str], log: Path, workers: int = 2) -> Gunicorn:
    """gunicorn -c gunicorn.conf.py wsgi:app on a free port, with `workers` workers."""
    port = free_port()
    metrics = Path(tempfile.mkdtemp(prefix="eventio-load-metrics-"))
    full_env = {
        **os.environ,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        **env,
    }
    command = [str(GUNICORN), "--config", str(ROOT / "gunicorn.conf.py"), "wsgi:app"]
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=full_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Gunicorn(process, port, log, metrics)


@dataclass
class RedisServer:
    """A redis-server of this run's own, on a free port, no persistence: a restart
    comes back empty, as a cache host that lost its memory."""

    port: int
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(cls, folder: Path) -> RedisServer:
        if shutil.which("redis-server") is None:
            raise SystemExit("redis-server is not installed: `apt-get install -y redis-server`.")
        return cls(free_port(), folder)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, seconds: float = 10) -> None:
        command = [
            "redis-server",
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.folder),
        ]  # fmt: skip
        with (self.folder / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + seconds
        while not answers(self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"redis-server did not start; see {self.folder}/redis.log")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
