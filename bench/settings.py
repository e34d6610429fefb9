"""The knobs of a bench run (BENCH_* variables) and where its files go."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cpu
import wrk

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
BIN = Path(sys.executable).parent
SECRET_KEY = "eventio-bench-cursor-key"
LIST_INCLUDE = "tickets.ticket,group.customer"
DEEP_ROWS = 400_000
PAGE = 100
PROBES = 20  # sequential requests behind each unloaded median
REDIS_PIDS = cpu.named("redis-server")


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


@dataclass(frozen=True)
class Settings:
    """Every knob of a run, from BENCH_* environment variables."""

    database_url: str
    databases: tuple[str, ...]
    mariadb_url: str
    mariadb_port: int
    redis_url: str
    mariadb_redis_url: str
    bookings: int
    seed: int
    load: wrk.Load
    warmup: float
    slices: int
    api_port: int
    floor_port: int
    medium_target: int
    quiet_idle: float
    max_foreign: float
    attempts: int
    budget_minutes: float
    threads_per_worker: int
    only: re.Pattern[str] | None
    output: Path

    @classmethod
    def from_environment(cls) -> Settings:
        only = os.environ.get("BENCH_ONLY")
        redis_url = os.environ.get("BENCH_REDIS_URL") or "redis://127.0.0.1:6379/9"
        return cls(
            database_url=os.environ.get("BENCH_DATABASE_URL")
            or "postgresql://root@127.0.0.1:5432/eventio_bench",
            databases=databases(os.environ.get("BENCH_DATABASES") or "postgresql"),
            mariadb_url=os.environ.get("BENCH_MARIADB_URL")
            or "mysql://root@127.0.0.1/eventio_bench",
            mariadb_port=env_int("BENCH_MARIADB_PORT", 8103),
            redis_url=redis_url,
            # Its own: both APIs would otherwise share their cached counts and stats.
            mariadb_redis_url=os.environ.get("BENCH_MARIADB_REDIS_URL") or next_db(redis_url),
            bookings=env_int("BENCH_BOOKINGS", 1_000_000),
            seed=env_int("BENCH_SEED", 1),
            load=wrk.Load(
                threads=env_int("BENCH_THREADS", 2),
                connections=env_int("BENCH_CONNECTIONS", 8),
                seconds=env_float("BENCH_DURATION", 10),
            ),
            warmup=env_float("BENCH_WARMUP", 2),
            slices=max(1, env_int("BENCH_SLICES", 5)),
            api_port=env_int("BENCH_API_PORT", 8101),
            floor_port=env_int("BENCH_FLOOR_PORT", 8102),
            medium_target=env_int("BENCH_MEDIUM_BOOKINGS", 20_000),
            quiet_idle=env_float("BENCH_QUIET_IDLE", 0.85),
            max_foreign=env_float("BENCH_MAX_FOREIGN", 0.10),
            attempts=env_int("BENCH_ATTEMPTS", 3),
            budget_minutes=env_float("BENCH_BUDGET_MINUTES", 24),
            threads_per_worker=env_int("GUNICORN_THREADS", 4),
            only=re.compile(only) if only else None,
            # A partial run (BENCH_ONLY) never overwrites the committed page.
            output=(OUT / "benchmarks-partial.md") if only else ROOT / "docs" / "benchmarks.md",
        )

    @property
    def slice_seconds(self) -> int:
        """wrk takes whole seconds: each slice is the run's length over the slices, rounded."""
        return max(1, round(self.load.seconds / self.slices))

    def run_settings(self) -> dict[str, object]:
        """The load a run was measured under, as its report states it."""
        return {
            "threads": self.load.threads,
            "connections": self.load.connections,
            "seconds": self.load.seconds,
            "warmup": self.warmup,
            "slices": self.slices,
            "slice_seconds": self.slice_seconds,
        }

    def server_env(self) -> dict[str, str]:
        """What both servers (and the in-process app) run with."""
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": SECRET_KEY,
            "WEB_CONCURRENCY": "2",
            # A worker recycled in the middle of a 10 s run would be measured, not the code.
            "GUNICORN_MAX_REQUESTS": "0",
            # The limiter stays on (its Redis round trip is part of every request), out of reach.
            "RATE_LIMIT": "100000000 per minute",
            "FLASK_APP": "eventio",
        }


def next_db(redis_url: str) -> str:
    """The Redis URL of the database after this one's (`/9` -> `/10`)."""
    base, _, number = redis_url.rpartition("/")
    return f"{base}/{int(number) + 1}" if number.isdigit() and "//" in base else redis_url + "/1"


def databases(value: str) -> tuple[str, ...]:
    """BENCH_DATABASES: `postgresql` (the API against its floor), `mariadb` (the API on
    MariaDB beside the API on PostgreSQL), or both, comma-separated."""
    names = tuple(name.strip().lower() for name in value.split(",") if name.strip())
    unknown = set(names) - {"postgresql", "mariadb"}
    if unknown or not names:
        raise SystemExit(
            f"BENCH_DATABASES={value!r}: a comma-separated list of postgresql and mariadb"
        )
    return names


def log(message: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", flush=True)
