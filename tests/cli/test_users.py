"""`flask users create`."""

from __future__ import annotations

from eventio.db.extensions import db
from eventio.models import User
from tests.cli.conftest import Run
from tests.factories import UserFactory


def test_create_prints_the_new_users_id(run: Run) -> None:
    result = run("users", "create", "Ada Lovelace", "ada@example.com")
    assert result.exit_code == 0, result.output
    user = db.session.get(User, int(result.stdout))
    assert user is not None
    assert (user.name, user.email) == ("Ada Lovelace", "ada@example.com")
    assert user.created_at is not None and user.updated_at == user.created_at


def test_create_refuses_an_email_already_taken(run: Run) -> None:
    UserFactory(email="ada@example.com")
    result = run("users", "create", "Ada", "ada@example.com")
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_create_refuses_what_is_not_an_email_address(run: Run) -> None:
    result = run("users", "create", "Ada", "not-an-email")
    assert result.exit_code == 2
    assert "EMAIL" in result.output
    assert db.session.query(User).count() == 0


def test_create_needs_name_and_email(run: Run) -> None:
    assert run("users", "create", "Ada").exit_code == 2
    assert run("users", "create", " ", "ada@example.com").exit_code == 2
