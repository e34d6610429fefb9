"""What `database attach` adds to an existing database: the API's own tables and the
recommended indexes, only where missing; it never alters or drops anything else."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Connection, ForeignKeyConstraint, MetaData, inspect
from sqlalchemy.dialects import mysql
from sqlalchemy.schema import CreateIndex, CreateTable

from eventio.db.extensions import NAMING_CONVENTION, db
from eventio.db.inspection import OWN_TABLES, Inspection

TRIGRAM_EXTENSION = "CREATE EXTENSION IF NOT EXISTS pg_trgm"


@dataclass(frozen=True)
class Step:
    """One statement, and what it adds (for the command's report)."""

    adds: str
    sql: str
    trigram: bool = False
    elsewhere: bool = False  # on OAUTH_DATABASE_URL, not DATABASE_URL


def own_table_steps(connection: Connection, tables: frozenset[str]) -> list[Step]:
    """CREATE TABLE (and its indexes) for each of the API's tables this database lacks.

    `user_id` refers to `users.id` where `users` is there, with its exact integer type
    (MariaDB refuses a foreign key from `bigint` to Laravel's `bigint unsigned`)."""
    steps: list[Step] = []
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    db.metadata.tables["users"].to_metadata(metadata)
    users_id = users_id_type(connection) if "users" in tables else None
    for name in OWN_TABLES:
        if name in tables:
            continue
        table = db.metadata.tables[name].to_metadata(metadata)
        if users_id is not None and connection.dialect.name == "mysql":
            table.c.user_id.type = users_id
        foreign_keys: list[ForeignKeyConstraint] | None = None if "users" in tables else []
        create = CreateTable(table, include_foreign_key_constraints=foreign_keys)
        steps.append(Step(f"table {name}", str(create.compile(dialect=connection.dialect)).strip()))
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            sql = str(CreateIndex(index).compile(dialect=connection.dialect)).strip()
            steps.append(Step(f"index {index.name}", sql))
    return steps


def users_id_type(connection: Connection) -> BigInteger:
    """`bigint unsigned` where Laravel made `users.id` so, else plain `bigint`."""
    for column in inspect(connection).get_columns("users"):
        if column["name"] == "id" and getattr(column["type"], "unsigned", False):
            return mysql.BIGINT(unsigned=True)
    return BigInteger()


def index_steps(connection: Connection, inspection: Inspection) -> list[Step]:
    steps = [
        Step(f"index {index.name}", index.create_sql(connection), index.trigram)
        for index in inspection.missing_indexes
    ]
    if any(step.trigram for step in steps):
        steps.insert(0, Step("extension pg_trgm", TRIGRAM_EXTENSION, True))
    return steps


def plan(connection: Connection, inspection: Inspection, oauth_here: bool = True) -> list[Step]:
    """Every statement attach would run, in order (own tables first, then indexes)."""
    steps = own_table_steps(connection, inspection.tables) if oauth_here else []
    return steps + index_steps(connection, inspection)
