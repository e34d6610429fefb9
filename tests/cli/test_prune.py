"""`flask tokens prune-expired`: expired OAuth-issued tokens go, every other token stays."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import select, text

from eventio import create_app
from eventio.auth.guard import utcnow
from eventio.db.extensions import db
from eventio.models import PersonalAccessToken
from eventio.oauth.clients import token_name
from tests.cli.conftest import Run
from tests.factories import UserFactory, issue_token

OAUTH = token_name("0123456789abcdef0123456789abcdef")


def token(name: str, expires_at: datetime | None, created_at: datetime | None = None) -> int:
    user = UserFactory()
    columns = {"created_at": created_at} if created_at else {}
    plain = issue_token(user.id, name=name, expires_at=expires_at, **columns)
    return int(plain.split("|")[0])


def left() -> set[int]:
    db.session.commit()  # a fresh snapshot (SQLite keeps a reader's)
    return set(db.session.scalars(select(PersonalAccessToken.id)))


def test_prunes_oauth_tokens_expired_for_more_than_24_hours_by_default(run: Run) -> None:
    now = utcnow()
    long_dead = token(OAUTH, now - timedelta(hours=25))
    recently_dead = token(OAUTH, now - timedelta(hours=23))
    alive = token(OAUTH, now + timedelta(minutes=30))
    # Not issued by OAuth: a person's token, even long expired, is left to its owner.
    personal = token("Ann's laptop", now - timedelta(days=30))
    # A name that only looks alike is not OAuth's.
    lookalike = token("oauth-client", now - timedelta(days=30))
    never = token(OAUTH, None)

    result = run("tokens", "prune-expired")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "Deleted 1 OAuth-issued tokens expired for more than 24 hours."
    )
    assert left() == {recently_dead, alive, personal, lookalike, never}
    assert long_dead not in left()


def test_hours_sets_how_long_ago_they_expired(run: Run) -> None:
    now = utcnow()
    dead = [token(OAUTH, now - timedelta(minutes=minutes)) for minutes in (5, 90, 180)]
    alive = token(OAUTH, now + timedelta(minutes=5))
    assert "Deleted 1 " in run("tokens", "prune-expired", "--hours", 2).output
    assert left() == {dead[0], dead[1], alive}
    assert "Deleted 2 " in run("tokens", "prune-expired", "--hours", 0).output
    assert left() == {alive}
    assert run("tokens", "prune-expired", "--hours", -1).exit_code != 0


def test_the_global_lifetime_also_prunes_by_created_at(run: Run, app: Flask) -> None:
    now = utcnow()
    old = token(OAUTH, None, created_at=now - timedelta(hours=30))
    young = token(OAUTH, None, created_at=now - timedelta(hours=20))
    app.config["TOKEN_EXPIRATION_MINUTES"] = 60
    try:
        result = run("tokens", "prune-expired")
    finally:
        app.config["TOKEN_EXPIRATION_MINUTES"] = None
    assert "Deleted 1 " in result.output
    assert left() == {young}
    assert old not in left()


SANCTUM_2_TOKENS = """
CREATE TABLE personal_access_tokens (
    id INTEGER PRIMARY KEY, tokenable_type VARCHAR(255) NOT NULL,
    tokenable_id BIGINT NOT NULL, name VARCHAR(255) NOT NULL, token VARCHAR(64) NOT NULL,
    abilities TEXT, last_used_at TIMESTAMP, created_at TIMESTAMP, updated_at TIMESTAMP
)"""


@pytest.fixture
def sanctum_2(tmp_path: Path) -> Iterator[Flask]:
    """An app on a database whose token table is Sanctum 2's: no `expires_at`."""
    sanctum_2 = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 's2.db'}"})
    with sanctum_2.app_context(), db.engine.begin() as connection:
        connection.execute(text(SANCTUM_2_TOKENS))
        now = utcnow()
        for name, hours in ((OAUTH, 30), (OAUTH, 20), ("Ann's laptop", 30)):
            connection.execute(
                text(
                    "INSERT INTO personal_access_tokens (tokenable_type, tokenable_id, name,"
                    " token, created_at, updated_at) VALUES ('App\\Models\\User', 1, :name,"
                    " :hash, :created, :created)"
                ),
                {"name": name, "hash": f"{hours}{name}", "created": now - timedelta(hours=hours)},
            )
    yield sanctum_2
    with sanctum_2.app_context():
        db.engine.dispose()


def names_and_hashes(app: Flask) -> list[tuple[str, str]]:
    with app.app_context(), db.engine.connect() as connection:
        query = "SELECT name, token FROM personal_access_tokens ORDER BY id"
        return [tuple(row) for row in connection.execute(text(query))]


def prune_on(app: Flask) -> Result:
    """The command on `app` (the suite's app context is active: it would run there)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=["tokens", "prune-expired"])


def test_without_expires_at_or_a_lifetime_there_is_nothing_to_prune(sanctum_2: Flask) -> None:
    before = names_and_hashes(sanctum_2)
    result = prune_on(sanctum_2)
    assert result.exit_code == 0, result.output
    assert "Nothing to prune" in result.output and "TOKEN_EXPIRATION_MINUTES" in result.output
    assert names_and_hashes(sanctum_2) == before


def test_without_expires_at_the_lifetime_prunes_by_created_at(sanctum_2: Flask) -> None:
    sanctum_2.config["TOKEN_EXPIRATION_MINUTES"] = 60
    result = prune_on(sanctum_2)
    assert result.exit_code == 0, result.output
    assert "Deleted 1 OAuth-issued tokens" in result.output
    assert names_and_hashes(sanctum_2) == [
        (OAUTH, f"20{OAUTH}"),
        ("Ann's laptop", "30Ann's laptop"),
    ]
