"""Read, once and cheaply, what the connected database holds and what the API needs of it.

The API serves a database its own migrations made (`alembic_version` present) and one a
Laravel EventIO app made (docs/compatibility.md: no `alembic_version`, only
Laravel's indexes, maybe a read-only replica). This module says which one it is, whether
every required table and column is there, which Sanctum generation made the token table,
which recommended indexes are missing and whether the connection may write.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    inspect,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import CreateIndex
from sqlalchemy.types import TypeEngine

import eventio.models  # noqa: F401  (registers every table on the metadata)
from eventio.db.extensions import db

VERSION_TABLE = "alembic_version"
# Tables the API makes for itself (`flask --app eventio database attach`); never required.
OWN_TABLES = ("oauth_clients",)
# Columns the API reads when they are there and does without when not (Sanctum 2).
OPTIONAL_COLUMNS = frozenset({("personal_access_tokens", "expires_at")})
TRIGRAM_MIGRATION = (
    Path(__file__).resolve().parents[2]
    / "migrations"
    / "versions"
    / "0003_trigram_indexes_for_partial_filters.py"
)


def required_tables() -> list[Table]:
    """The tables of data-model.md, as the models declare them."""
    own = set(OWN_TABLES)
    return [table for table in db.metadata.sorted_tables if table.name not in own]


def type_family(column_type: TypeEngine[Any]) -> str:
    """A type's kind, so `bigint unsigned`, `bigint` and `INTEGER` all read `integer`."""
    for kind, family in (
        (Boolean, "boolean"),
        (DateTime, "timestamp"),
        (Date, "date"),
        (Float, "float"),
        (Numeric, "decimal"),
        (Integer, "integer"),
        (String, "text"),
    ):
        if isinstance(column_type, kind):
            return family
    return type(column_type).__name__.lower()


def accepts(expected: str, found: str) -> bool:
    """A boolean may be stored as a small integer (MariaDB's `tinyint(1)`)."""
    return found == expected or (expected == "boolean" and found == "integer")


@dataclass(frozen=True)
class ColumnState:
    table: str
    column: str
    expected: str
    found: str | None  # None: the column (or its table) is missing
    required: bool = True

    @property
    def state(self) -> str:
        if self.found is None:
            return "missing"
        return "present" if accepts(self.expected, self.found) else "unexpected type"


@dataclass(frozen=True)
class RecommendedIndex:
    """An index the API's own migrations make: on `table`, leading with `columns`."""

    name: str
    table: str
    columns: tuple[str, ...]
    trigram: bool = False
    model_index: Index | None = field(default=None, compare=False, repr=False)

    def create_sql(self, connection: Connection) -> str:
        if self.trigram:
            column = self.columns[0]
            return f"CREATE INDEX {self.name} ON {self.table} USING gin ({column} gin_trgm_ops)"
        assert self.model_index is not None
        return str(CreateIndex(self.model_index).compile(dialect=connection.dialect)).strip()


@cache
def trigram_columns() -> dict[str, tuple[str, ...]]:
    """Migration 0003's partial-filter columns: the one list, read from the migration."""
    spec = importlib.util.spec_from_file_location("eventio_trigram_migration", TRIGRAM_MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.TRIGRAM_COLUMNS)


def recommended_indexes(trigram: bool) -> list[RecommendedIndex]:
    """The non-unique indexes the migrations make on the required tables (the models say
    the same: an autogenerate finds nothing to add), and the trigram ones when asked."""
    found = []
    for table in required_tables():
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            if index.unique:
                continue
            columns = tuple(
                getattr(expression, "name", None) or str(expression).split()[0]
                for expression in index.expressions
            )
            found.append(RecommendedIndex(str(index.name), table.name, columns, False, index))
    if trigram:
        for table_name, columns in trigram_columns().items():
            for column in columns:
                found.append(
                    RecommendedIndex(f"ix_{table_name}_{column}_trgm", table_name, (column,), True)
                )
    return found


@dataclass(frozen=True)
class ExistingIndex:
    name: str
    columns: tuple[str, ...]
    gin: bool

    def serves(self, wanted: RecommendedIndex) -> bool:
        """Compared by leading columns, never by name: Laravel names its indexes its way."""
        if self.name == wanted.name:
            return True
        if wanted.trigram != self.gin:
            return False
        return self.columns[: len(wanted.columns)] == wanted.columns


@dataclass(frozen=True)
class Inspection:
    """What one look at the database found."""

    dialect: str
    tables: frozenset[str]
    columns: tuple[ColumnState, ...]
    missing_indexes: tuple[RecommendedIndex, ...]
    read_only: str | None  # why the connection cannot write, or None when it can
    trigram_available: bool

    @property
    def managed(self) -> bool:
        """The API migrates this database: it has `alembic_version`, or is still empty."""
        required = {table.name for table in required_tables()}
        return VERSION_TABLE in self.tables or not (self.tables & required)

    @property
    def sanctum(self) -> int | None:
        """3 (or later) when `personal_access_tokens` has `expires_at`; 2 when not."""
        if "personal_access_tokens" not in self.tables:
            return None
        return 3 if self.has_column("personal_access_tokens", "expires_at") else 2

    @property
    def oauth_tables(self) -> bool:
        return all(name in self.tables for name in OWN_TABLES)

    @property
    def missing_tables(self) -> list[str]:
        return [table.name for table in required_tables() if table.name not in self.tables]

    @property
    def problems(self) -> list[ColumnState]:
        """Required columns missing or of a type the API cannot read."""
        return [c for c in self.columns if c.required and c.state != "present"]

    @property
    def can_serve(self) -> bool:
        return not self.problems

    def has_column(self, table: str, column: str) -> bool:
        return any(
            c.table == table and c.column == column and c.found is not None for c in self.columns
        )

    def summary(self) -> str:
        """One line for a log or an error: what is missing, and where to read more."""
        if self.can_serve:
            return "every required table and column is present"
        missing = ", ".join(f"{c.table}.{c.column} ({c.state})" for c in self.problems[:6])
        more = len(self.problems) - 6
        return missing + (f" and {more} more" if more > 0 else "")


def inspect_database(connection: Connection) -> Inspection:
    """Look at the database on `connection` (a handful of catalogue queries, no DDL)."""
    inspector = inspect(connection)
    tables = frozenset(inspector.get_table_names())
    columns: list[ColumnState] = []
    for table in required_tables():
        found = (
            {c["name"]: type_family(c["type"]) for c in inspector.get_columns(table.name)}
            if table.name in tables
            else {}
        )
        for column in table.columns:
            columns.append(
                ColumnState(
                    table.name,
                    column.name,
                    type_family(column.type),
                    found.get(column.name),
                    (table.name, column.name) not in OPTIONAL_COLUMNS,
                )
            )
    present = {(c.table, c.column) for c in columns if c.found is not None}
    trigram = trigram_available(connection)
    existing = {
        name: [
            ExistingIndex(
                str(index["name"]),
                tuple(str(c) for c in index["column_names"] if c is not None),
                (index.get("dialect_options") or {}).get("postgresql_using") == "gin",
            )
            for index in inspector.get_indexes(name)
        ]
        for name in {t.name for t in required_tables()} & tables
    }
    missing = tuple(
        wanted
        for wanted in recommended_indexes(trigram)
        if wanted.table in existing
        and all((wanted.table, column) in present for column in wanted.columns)
        and not any(index.serves(wanted) for index in existing[wanted.table])
    )
    return Inspection(
        dialect=connection.dialect.name,
        tables=tables,
        columns=tuple(columns),
        missing_indexes=missing,
        read_only=read_only_reason(connection, tables),
        trigram_available=trigram,
    )


def trigram_available(connection: Connection) -> bool:
    """PostgreSQL with pg_trgm installed, or available to install."""
    if connection.dialect.name != "postgresql":
        return False
    return bool(
        connection.execute(
            text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        ).scalar()
    )


def read_only_reason(connection: Connection, tables: Iterable[str]) -> str | None:
    """Why this connection cannot write the token table, or None when it can."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        row = connection.execute(
            text("SELECT current_setting('transaction_read_only'), pg_is_in_recovery()")
        ).one()
        if row[1]:
            return "the server is a replica in recovery (pg_is_in_recovery())"
        if row[0] == "on":
            return "transaction_read_only is on"
        if (
            "personal_access_tokens" in tables
            and not connection.execute(
                text("SELECT has_table_privilege('personal_access_tokens', 'UPDATE')")
            ).scalar()
        ):
            return "no UPDATE privilege on personal_access_tokens"
        return None
    if dialect == "mysql":
        row = connection.execute(text("SELECT @@global.read_only, @@session.tx_read_only")).one()
        if int(row[0] or 0):
            return "@@read_only is on"
        if int(row[1] or 0):
            return "@@tx_read_only is on"
        if "personal_access_tokens" in tables:
            return mysql_update_refused(connection)
    return None


# The server's answers that mean "this connection may not write": no privilege on the
# table or the schema (1142, 1044, 1227), `read_only` (1290), a read-only transaction (1792).
MYSQL_REFUSALS = frozenset({1044, 1142, 1227, 1290, 1792})


def mysql_update_refused(connection: Connection) -> str | None:
    """Grants are many-layered (global, schema patterns, roles): ask the server instead,
    with an update that matches no row, rolled back."""
    probe = text("UPDATE personal_access_tokens SET last_used_at = last_used_at WHERE 1 = 0")
    try:
        with connection.begin_nested() if connection.in_transaction() else connection.begin():
            connection.execute(probe)
            raise _RollBack
    except _RollBack:
        return None
    except DBAPIError as error:
        code = getattr(error.orig, "args", (None,))[0]
        if code not in MYSQL_REFUSALS:
            raise  # a lock wait or the statement limit says nothing about the grants
        return f"an update is refused ({code})"


class _RollBack(Exception):
    """Leave the probe's transaction without keeping anything."""
