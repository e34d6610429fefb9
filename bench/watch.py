"""What runs on a bench database: statements in flight, and the processes that serve it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import cpu
import psycopg
import pymysql

PG_ACTIVE = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() AND state = 'active'"
)
PG_BACKENDS = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid()"
)
MARIADB_ACTIVE = (
    "SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE() "
    "AND id <> CONNECTION_ID() AND command = 'Query'"
)


class DatabaseWatch(Protocol):
    name: str

    def busy(self) -> int:
        """Statements running on the bench database, other than the watch's own."""
        ...

    def backends(self) -> list[int]:
        """The server processes working for the bench database."""
        ...


@dataclass
class PostgresWatch:
    """PostgreSQL: one backend process per connection, each counted."""

    conn: psycopg.Connection[tuple[Any, ...]]
    name: str = "postgres"

    def busy(self) -> int:
        row = self.conn.execute(PG_ACTIVE).fetchone()
        return row[0] if row else 0

    def backends(self) -> list[int]:
        return [row[0] for row in self.conn.execute(PG_BACKENDS).fetchall()]


@dataclass
class MariaDBWatch:
    """MariaDB: one process, a thread per connection: the whole server is counted (with
    whatever else it serves on a shared machine)."""

    conn: pymysql.connections.Connection  # type: ignore[type-arg]
    name: str = "mariadb"
    pids: list[int] = field(default_factory=lambda: cpu.named("mariadbd") or cpu.named("mysqld"))

    def busy(self) -> int:
        with self.conn.cursor() as cursor:
            cursor.execute(MARIADB_ACTIVE)
            row = cursor.fetchone()
        return int(row[0]) if row else 0

    def backends(self) -> list[int]:
        return self.pids


@dataclass
class Together:
    """Several databases watched as one: busy while any of them is."""

    watches: list[DatabaseWatch]
    name: str = "databases"

    def busy(self) -> int:
        return sum(watch.busy() for watch in self.watches)

    def backends(self) -> list[int]:
        return [pid for watch in self.watches for pid in watch.backends()]
