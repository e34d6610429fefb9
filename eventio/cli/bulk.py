"""Bulk writes: COPY on PostgreSQL, multi-row INSERTs on MySQL and MariaDB, Core `insert()`
executemany in batches elsewhere."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from types import TracebackType
from typing import Any

from pymysql.converters import escape_string
from sqlalchemy import Connection, insert, text

from eventio.cli.demo_world import Table
from eventio.db.extensions import db

BATCH = 5000


class BulkWriter:
    """Writes rows with explicit ids through one connection, inside its transaction."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.written: set[str] = set()

    @classmethod
    def for_connection(cls, connection: Connection) -> BulkWriter:
        if connection.dialect.name == "postgresql":
            return CopyWriter(connection)
        if connection.dialect.name == "mysql":
            return MySQLWriter(connection)
        return cls(connection)

    def __enter__(self) -> BulkWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close(failed=error is not None)

    def close(self, failed: bool = False) -> None:
        """Give the connection back as it was lent (its session settings); after a failure,
        leave the schema as it was found."""

    def write(self, table: Table) -> None:
        if not table.rows:
            return
        self.written.add(table.name)
        statement = insert(db.metadata.tables[table.name])
        rows: Iterable[tuple[Any, ...]] = iter(table.rows)
        while batch := [dict(zip(table.columns, row, strict=True)) for row in islice(rows, BATCH)]:
            self.connection.execute(statement, batch)

    def defer_indexes_and_keys(self, names: Iterable[str]) -> None:
        """Build these tables' secondary indexes and foreign keys after the load."""

    def finish(self) -> None:
        """Make the database ready to serve what was written."""


# Indexes that back no constraint: dropped, then built again from their definition.
SECONDARY_INDEXES = text(
    "SELECT format('DROP INDEX %I', indexname), indexdef FROM pg_indexes i"
    " WHERE schemaname = current_schema() AND tablename = ANY(:tables) AND NOT EXISTS ("
    "  SELECT 1 FROM pg_constraint c WHERE c.conindid = format('%I.%I', schemaname, indexname)"
    "  ::regclass) ORDER BY indexname"
)
# Foreign keys from or to the tables: checked row by row while loading, once when added.
FOREIGN_KEYS = text(
    "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname),"
    " format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname,"
    " pg_get_constraintdef(oid)) FROM pg_constraint WHERE contype = 'f' AND EXISTS ("
    "  SELECT 1 FROM unnest(CAST(:tables AS text[])) t"
    "  WHERE to_regclass(t) IN (conrelid, confrelid)) ORDER BY conname"
)


class CopyWriter(BulkWriter):
    """PostgreSQL: COPY through psycopg's cursor; deferred indexes and foreign keys made
    once at the end, sequences moved past the ids written, and ANALYZE."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.indexes: list[str] = []
        self.foreign_keys: list[str] = []
        # A load outlasts the API's statement timeout; index builds like more memory.
        connection.execute(text("SET LOCAL statement_timeout = 0"))
        connection.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        self.cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]

    def write(self, table: Table) -> None:
        if not table.rows:
            return
        self.written.add(table.name)
        with self.cursor.copy(f"COPY {table.name} ({', '.join(table.columns)}) FROM STDIN") as copy:
            for row in table.rows:
                copy.write_row(row)

    def defer_indexes_and_keys(self, names: Iterable[str]) -> None:
        # Inside the load's transaction: a failure leaves every index and key as it was.
        tables = list(names)
        for statement, deferred in (
            (FOREIGN_KEYS, self.foreign_keys),
            (SECONDARY_INDEXES, self.indexes),
        ):
            for drop, create in self.connection.execute(statement, {"tables": tables}).all():
                self.connection.execute(text(drop))
                deferred.append(create)

    def finish(self) -> None:
        for create in self.indexes:
            self.connection.execute(text(create))
        for name in sorted(self.written):
            self.connection.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name}")
            )
            self.connection.execute(text(f"ANALYZE {name}"))
        # Last, with statistics at hand: each key is validated by one join.
        for create in self.foreign_keys:
            self.connection.execute(text(create))


def mysql_literal(value: Any) -> str:
    """A value as a MySQL literal, for the types the demo writes (strings escaped as
    PyMySQL escapes them: backslashes and quotes)."""
    kind = type(value)
    if kind is int or kind is Decimal:
        return str(value)
    if kind is str:
        return "'" + escape_string(value) + "'"
    if value is None:
        return "NULL"
    if kind is bool:
        return "1" if value else "0"
    if kind is datetime:
        return "'" + value.isoformat(" ") + "'"
    if kind is date:
        return f"'{value}'"
    raise TypeError(f"No MySQL literal for a {kind.__name__}")


def cached_literal() -> Callable[[Any], str]:
    """`mysql_literal` that remembers its timestamps and prices (a booking's stamp recurs
    on each of its lines; a price on many lines): a third less time on a million rows."""
    seen: dict[Any, str] = {}

    def literal(value: Any) -> str:
        kind = type(value)
        if kind is int:
            return str(value)
        if kind is str:
            return "'" + escape_string(value) + "'"
        if value is None or kind is bool:
            return mysql_literal(value)
        found = seen.get(value)
        if found is None:
            if len(seen) > 100_000:
                seen.clear()
            found = seen[value] = mysql_literal(value)
        return found

    return literal


# Bytes of one INSERT: well under MariaDB's and MySQL's default max_allowed_packet (16 MiB,
# 64 MiB), big enough that the round trips do not count.
STATEMENT_BYTES = 4 << 20


# A secondary index in SHOW CREATE TABLE: `  KEY `name` (`col`,`col` DESC),`.
SECONDARY_KEY = re.compile(r"^\s*(KEY `([^`]+)` \(`([^`]+)`.*?),?$", re.MULTILINE)
# What already starts with a column: the primary key, a unique key, a foreign key's column.
LEADING_UNIQUE = re.compile(r"^\s*(?:PRIMARY|UNIQUE) KEY (?:`[^`]+` )?\(`([^`]+)`", re.MULTILINE)
FOREIGN_KEY = re.compile(r"FOREIGN KEY \(`([^`]+)`\)")


def deferrable(create_table: str, keep_foreign_key_indexes: bool) -> list[tuple[str, str]]:
    """(definition, name) of the secondary indexes a load can drop: all, or (MySQL refuses
    to drop the last index a foreign key needs; MariaDB allows it with the checks off) all
    but, for each foreign key column no primary or unique key starts with, the first index
    starting with it."""
    covered = set(LEADING_UNIQUE.findall(create_table))
    needed = set(FOREIGN_KEY.findall(create_table)) - covered if keep_foreign_key_indexes else set()
    found = []
    for definition, name, leading in SECONDARY_KEY.findall(create_table):
        if leading in needed:
            needed.discard(leading)  # kept
            continue
        found.append((definition, name))
    return found


class MySQLWriter(BulkWriter):
    """MySQL and MariaDB: multi-row INSERTs written as literals by the DBAPI cursor itself
    (SQLAlchemy's and PyMySQL's per-row parameter handling cost more than the server does),
    in one transaction, with foreign key and unique checks off for the load's session.
    Deferred secondary indexes are dropped before the first row and built once at the end
    (InnoDB sorts instead of inserting into a dozen B-trees row by row); each DDL statement
    commits, so the drop must come before any row, and a failed load is rolled back before
    the indexes are put back. Not LOAD DATA LOCAL INFILE: PyMySQL needs `local_infile` when it
    connects (the engine's connections do not have it) and MySQL 8 refuses it by default."""

    SESSION = ("foreign_key_checks", "unique_checks")

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.literal = cached_literal()
        self.indexes: dict[str, list[str]] = {}  # table -> its dropped index definitions
        self.cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        # The statement limit (eventio.db.mysql_session) is for serving, not for a load.
        limit = "max_statement_time" if self.mariadb() else "max_execution_time"
        names = (*self.SESSION, limit)
        self.cursor.execute("SELECT " + ", ".join(f"@@SESSION.{name}" for name in names))
        self.saved = dict(zip(names, self.cursor.fetchone(), strict=True))
        self.set(dict.fromkeys(names, 0))

    def mariadb(self) -> bool:
        return "mariadb" in self.cursor.connection.get_server_info().lower()

    def set(self, values: dict[str, Any]) -> None:
        assignments = ", ".join(f"SESSION {name} = {value}" for name, value in values.items())
        self.cursor.execute(f"SET {assignments}")

    def write(self, table: Table) -> None:
        if not table.rows:
            return
        self.written.add(table.name)
        head = f"INSERT INTO `{table.name}` ({', '.join(table.columns)}) VALUES "
        literal, values, size = self.literal, [], 0
        for row in table.rows:
            value = "(" + ",".join([literal(item) for item in row]) + ")"
            values.append(value)
            size += len(value) + 1
            if size >= STATEMENT_BYTES:
                self.cursor.execute(head + ",".join(values))
                values, size = [], 0
        if values:
            self.cursor.execute(head + ",".join(values))

    def defer_indexes_and_keys(self, names: Iterable[str]) -> None:
        if self.written:
            raise RuntimeError("Indexes are deferred before any row: a DDL statement commits")
        for name in names:
            self.cursor.execute(f"SHOW CREATE TABLE `{name}`")
            found = deferrable(self.cursor.fetchone()[1], not self.mariadb())
            if found:
                drops = ", ".join(f"DROP INDEX `{index}`" for _, index in found)
                self.cursor.execute(f"ALTER TABLE `{name}` {drops}")
                self.indexes[name] = [definition for definition, _ in found]

    def build_indexes(self) -> None:
        while self.indexes:
            name, definitions = self.indexes.popitem()
            adds = ", ".join(f"ADD {definition}" for definition in definitions)
            self.cursor.execute(f"ALTER TABLE `{name}` {adds}")

    def finish(self) -> None:
        self.build_indexes()  # commits the rows first

    def close(self, failed: bool = False) -> None:
        if failed and self.indexes:
            self.cursor.execute("ROLLBACK")  # not committed by the index builds
        self.build_indexes()
        self.set(self.saved)
        self.cursor.close()
