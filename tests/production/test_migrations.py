"""Migrations on PostgreSQL: from empty, from every earlier revision, down and up again;
and SQLite's own (the token table's AUTOINCREMENT)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from eventio import create_app
from eventio.app import MIGRATIONS
from eventio.db.extensions import db
from tests.production.conftest import postgres_url


@pytest.fixture(scope="module")
def migrating_app(fresh_postgres_database: str) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": postgres_url(fresh_postgres_database)})
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def clean_database() -> None:
    """These tests own their database: no per-test table cleaning."""


def revisions() -> list[str]:
    script = ScriptDirectory(MIGRATIONS)
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def current(app: Flask) -> str | None:
    with app.app_context(), db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def modelled(obj: object, name: str | None, type_: str, reflected: bool, other: object) -> bool:
    """Trigram indexes exist only where pg_trgm does: not in the models."""
    return not (type_ == "index" and name is not None and name.endswith("_trgm"))


def drift(app: Flask) -> list[object]:
    """What autogenerate would still change: nothing, when migrations match the models."""
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_object": lambda o, n, t, r, c: not (t == "index" and n.endswith("_trgm"))
            },
        )
        return list(compare_metadata(context, db.metadata))


@pytest.mark.parametrize("start", [None, *revisions()[:-1]])
def test_upgrade_reaches_head_from_empty_and_every_earlier_revision(
    migrating_app: Flask, start: str | None
) -> None:
    with migrating_app.app_context():
        downgrade(revision="base")
        if start is not None:
            upgrade(revision=start)
        assert current(migrating_app) == start
        upgrade()
    assert current(migrating_app) == revisions()[-1]
    assert drift(migrating_app) == []


def test_the_whole_schema_and_trigram_indexes_exist_at_head(migrating_app: Flask) -> None:
    with migrating_app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        trigram = {
            row[0]
            for row in db.session.execute(
                text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%_trgm'")
            )
        }
        db.session.remove()
    expected = {
        "users", "personal_access_tokens", "events", "tickets", "customers", "groups",
        "bookings", "booking_tickets", "event_roles", "event_role_permissions", "event_users",
        "oauth_clients",
    }  # fmt: skip
    assert expected <= tables
    assert "ix_customers_email_trgm" in trigram


def test_downgrade_to_base_removes_every_table(migrating_app: Flask) -> None:
    with migrating_app.app_context():
        upgrade()
        downgrade(revision="base")
        left = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        upgrade()
    assert left == set()


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'migrations.db'}"})
    yield app
    with app.app_context():
        db.engine.dispose()


def token_table_sql(app: Flask) -> str:
    with app.app_context(), db.engine.connect() as connection:
        return str(
            connection.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'personal_access_tokens'")
            ).scalar()
        )


def token_ids(app: Flask) -> list[int]:
    with app.app_context(), db.engine.connect() as connection:
        return list(
            connection.execute(text("SELECT id FROM personal_access_tokens ORDER BY id")).scalars()
        )


def test_on_sqlite_0005_gives_the_token_table_autoincrement_and_keeps_its_rows(
    sqlite_app: Flask,
) -> None:
    """Up: AUTOINCREMENT, the tokens kept, the next id past the highest ever stored; down:
    the plain table again, rows kept; at head the token table is what the model declares."""
    with sqlite_app.app_context():
        upgrade(revision="0004")
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO users (id, name, email) VALUES (1, 'A', 'a@x')"))
            for token_id in (1, 2, 3):
                connection.execute(
                    text(
                        "INSERT INTO personal_access_tokens"
                        " (id, tokenable_type, tokenable_id, name, token)"
                        " VALUES (:id, 'App\\Models\\User', 1, 'n', :hash)"
                    ),
                    {"id": token_id, "hash": f"{token_id:064x}"},
                )
        assert "AUTOINCREMENT" not in token_table_sql(sqlite_app)
        upgrade()
        assert "AUTOINCREMENT" in token_table_sql(sqlite_app)
        assert token_ids(sqlite_app) == [1, 2, 3]
        # SQLite's reflection misreads a DESC expression index elsewhere: the token table only.
        assert [d for d in drift(sqlite_app) if "personal_access_tokens" in repr(d)] == []
        with db.engine.begin() as connection:
            connection.execute(text("DELETE FROM personal_access_tokens WHERE id = 3"))
            connection.execute(
                text(
                    "INSERT INTO personal_access_tokens (tokenable_type, tokenable_id, name, token)"
                    " VALUES ('App\\Models\\User', 1, 'n', :hash)"
                ),
                {"hash": "f" * 64},
            )
        assert token_ids(sqlite_app) == [1, 2, 4]
        downgrade(revision="0004")
        assert "AUTOINCREMENT" not in token_table_sql(sqlite_app)
        assert token_ids(sqlite_app) == [1, 2, 4]
        upgrade()
        assert "AUTOINCREMENT" in token_table_sql(sqlite_app)
