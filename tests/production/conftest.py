"""PostgreSQL fixtures for the production tests: a database of their own, reached directly."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest

POSTGRES_HOST = os.environ.get("PRODUCTION_TEST_PG_HOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("PRODUCTION_TEST_PG_PORT", "5432"))


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
