"""The tables a Laravel EventIO app makes (shared/design/laravel-schema/), built as it
builds them: the SQL dump run statement by statement, never the API's own migrations."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

SCHEMA_DIRECTORY = Path(__file__).resolve().parents[3] / "shared" / "design" / "laravel-schema"
DUMPS = {"mysql": "mariadb.sql", "postgresql": "postgresql.sql"}
# Sanctum 2's migration made the token table without this column (a middle line on
# MariaDB, the last one on PostgreSQL).
SANCTUM_3_ONLY = re.compile(
    r"\n\s*`?expires_at`? [^\n]*,(?=\n)|,\n\s*`?expires_at`? [^\n]*(?=\n\))"
)


def statements(dialect: str, sanctum: int = 3) -> list[str]:
    """The dump's statements for `mysql` or `postgresql`; `sanctum=2` drops `expires_at`
    from `personal_access_tokens`, as Sanctum 2's own migration made it."""
    sql = (SCHEMA_DIRECTORY / DUMPS[dialect]).read_text()
    if sanctum == 2:
        sql = re.sub(
            r"(CREATE TABLE \S*personal_access_tokens\S* \(.*?\n\))",
            lambda table: SANCTUM_3_ONLY.sub("", table.group(1)),
            sql,
            flags=re.DOTALL,
        )
    return [part.strip() for part in sql.split(";") if part.strip()]


def laravel_tables(engine: Engine) -> list[str]:
    """Every table the dump for this engine's dialect creates."""
    return re.findall(
        r"CREATE TABLE (?:public\.)?`?(\w+)`? \(",
        (SCHEMA_DIRECTORY / DUMPS[engine.dialect.name]).read_text(),
    )


def drop_every_table(connection: Connection) -> None:
    """Empty the database: every table, whoever made it."""
    names = inspect(connection).get_table_names()
    if connection.dialect.name == "mysql":
        connection.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
        for name in names:
            connection.execute(text(f"DROP TABLE IF EXISTS `{name}`"))
        connection.execute(text("SET FOREIGN_KEY_CHECKS = 1"))
    else:
        for name in names:
            connection.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))


def create_laravel_schema(engine: Engine, sanctum: int = 3) -> None:
    """Drop every table of the engine's database, then make Laravel's."""
    with engine.begin() as connection:
        drop_every_table(connection)
        if connection.dialect.name == "mysql":  # the dump's tables come in name order
            connection.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
        for statement in statements(engine.dialect.name, sanctum):
            connection.execute(text(statement))
        if connection.dialect.name == "mysql":
            connection.execute(text("SET FOREIGN_KEY_CHECKS = 1"))
