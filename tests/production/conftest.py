"""Production tests talk to real PostgreSQL and Redis servers, reached directly.

On a bare machine (no servers) they are skipped with the reason; in CI (`CI` set) a
missing server fails them instead, so they can never pass by not running.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import psycopg
import pytest

POSTGRES_HOST = os.environ.get("PRODUCTION_TEST_PG_HOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("PRODUCTION_TEST_PG_PORT", "5432"))


REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True, scope="session")
def production_services() -> None:
    missing = [
        name
        for name, host, port in (
            ("PostgreSQL", POSTGRES_HOST, POSTGRES_PORT),
            ("Redis", REDIS_HOST, REDIS_PORT),
        )
        if not answers(host, port)
    ]
    if missing:
        reason = f"{' and '.join(missing)} not answering on this machine"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the production tests")
        pytest.skip(reason)


def postgres_url(database: str, user: str = "root", port: int = POSTGRES_PORT) -> str:
    return f"postgresql+psycopg://{user}@{POSTGRES_HOST}:{port}/{database}"


def admin_connection() -> psycopg.Connection:
    return psycopg.connect(
        host=POSTGRES_HOST, port=POSTGRES_PORT, user="root", dbname="postgres", autocommit=True
    )


@pytest.fixture(scope="session")
def fresh_postgres_database() -> Iterator[str]:
    """Make (and drop afterwards) an empty PostgreSQL database; yields its name."""
    name = f"eventio_prod_{os.getpid()}"
    with admin_connection() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    yield name
    with admin_connection() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
