"""Under pytest-xdist each worker gets a database and a Redis database of its own, derived
from TEST_DATABASE_URL and TEST_REDIS_URL before any test reads them, and the few tests
that cannot bear the other worker's load run while it waits (docs/testing.md)."""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL, make_url

from eventio.settings import database_url

# Redis databases test modules claim for themselves, whatever the suite's: a worker never
# takes one. 7: tests/production/test_ratelimit.py without TEST_REDIS_URL; 8: test_health.py;
# 11: test_stats_redis_outage.py; 14: test_faults_under_load.py.
CLAIMED_REDIS_DATABASES = frozenset({7, 8, 11, 14})
REDIS_DATABASES = 16  # Redis's default `databases`


def worker_number() -> int | None:
    """0 for xdist's `gw0`, 1 for `gw1`, …; None outside xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker.removeprefix("gw")) if worker.startswith("gw") else None


def isolate_worker() -> None:
    """In an xdist worker, point the suite's settings at this worker's own databases
    (created when missing), so workers never empty or lock each other's tables."""
    number = worker_number()
    if number is None:
        return
    suffix = f"_gw{number}"
    for name in ("TEST_DATABASE_URL", "TEST_LARAVEL_MARIADB_URL", "TEST_LARAVEL_POSTGRESQL_URL"):
        if os.environ.get(name):
            os.environ[name] = worker_database(os.environ[name], suffix)
            if name == "TEST_DATABASE_URL":
                ensure_database(os.environ[name])
    if os.environ.get("TEST_REDIS_URL"):
        os.environ["TEST_REDIS_URL"] = worker_redis_url(os.environ["TEST_REDIS_URL"], number)


def worker_database(url: str, suffix: str) -> str:
    """`<database><suffix>` on the same server, same driver and credentials."""
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}{suffix}").render_as_string(hide_password=False)


def ensure_database(url: str) -> None:
    """Create the worker's database on its server when it is missing (not on SQLite); on
    MariaDB with the character set and collation of the database it is derived from."""
    parsed = make_url(database_url(url, ""))
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                exists = connection.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"),
                    {"name": parsed.database},
                ).scalar()
                if not exists:
                    connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        finally:
            admin.dispose()
    elif backend == "mysql":
        admin = create_engine(parsed.set(database="mysql"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(f"CREATE DATABASE IF NOT EXISTS `{parsed.database}`"))
                copy_character_set(connection, base_database(parsed), parsed.database)
        finally:
            admin.dispose()


def base_database(parsed: URL) -> str:
    """The database a worker's was derived from: its name without `_gw<n>`."""
    name = parsed.database or ""
    return name.rsplit("_gw", 1)[0]


def copy_character_set(connection: Connection, base: str, worker: str | None) -> None:
    """Give the worker's MariaDB database the base database's defaults, when it exists."""
    row = connection.execute(
        text(
            "SELECT default_character_set_name, default_collation_name"
            " FROM information_schema.schemata WHERE schema_name = :name"
        ),
        {"name": base},
    ).first()
    if row is not None:
        connection.execute(
            text(f"ALTER DATABASE `{worker}` CHARACTER SET {row[0]} COLLATE {row[1]}")
        )


def worker_redis_url(url: str, number: int) -> str:
    """Worker 0 keeps the suite's Redis database; worker n takes the n-th below it
    (wrapping past 0), never one a test module claims for itself."""
    parts = urlsplit(url)
    path = parts.path.strip("/")
    base = int(path) if path.isdigit() else 0
    database = base
    for _ in range(number):
        database = (database - 1) % REDIS_DATABASES
        while database in CLAIMED_REDIS_DATABASES or database == base:
            database = (database - 1) % REDIS_DATABASES
    return urlunsplit(parts._replace(path=f"/{database}"))


# Tests whose timings cannot bear another worker's load beside them (they measure how a
# server copes, or race a replica's replay): while one runs, the other worker waits.
ALONE = (
    "tests/production/test_slow_clients.py",
    "tests/production/test_faults_under_load.py",
    "tests/replica/",
)


def runs_alone(nodeid: str) -> bool:
    path = nodeid.split("::", 1)[0]
    return any(path == alone or (alone.endswith("/") and path.startswith(alone)) for alone in ALONE)


@contextmanager
def machine_share(nodeid: str) -> Iterator[None]:
    """Under xdist, a test of ALONE holds the run's lock alone; any other shares it."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if worker_number() is None or not run:
        yield
        return
    path = Path(tempfile.gettempdir()) / f"eventio-tests-{run}.lock"
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if runs_alone(nodeid) else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
