"""Bulk writes: COPY on PostgreSQL, Core `insert()` executemany in batches elsewhere."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from typing import Any

from sqlalchemy import Connection, insert, text

from eventio.cli.demo_world import Table
from eventio.extensions import db

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
        return cls(connection)

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
