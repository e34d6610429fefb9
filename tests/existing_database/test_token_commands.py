"""`flask tokens issue / list / revoke` on a Laravel-made token table, Sanctum 3 and 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventio.cli.demo_world import DEMO_EMAIL
from tests.existing_database.conftest import Laravel


def tokens(laravel: Laravel, *args: str):  # type: ignore[no-untyped-def]
    return laravel.app().test_cli_runner().invoke(args=["tokens", *args])


def test_issue_list_and_revoke_on_a_sanctum_2_table(laravel: Laravel) -> None:
    laravel.build(sanctum=2)
    user_id = laravel.insert("users", name="Ann", email="ann@example.com")

    issued = tokens(laravel, "issue", str(user_id), "--name", "laptop")
    assert issued.exit_code == 0, issued.output
    token_id = issued.output.split("|")[0]
    listed = tokens(laravel, "list")
    assert listed.exit_code == 0, listed.output
    assert f"{token_id}  'laptop'  user {user_id} <ann@example.com>" in listed.output
    assert "expires never" in listed.output

    dated = tokens(laravel, "issue", str(user_id), "--name", "x", "--expires-in-days", "3")
    assert dated.exit_code == 2
    assert "has no expires_at column" in dated.output
    assert "Traceback" not in dated.output

    revoked = tokens(laravel, "revoke", token_id)
    assert revoked.exit_code == 0, revoked.output
    assert laravel.sql("SELECT COUNT(*) FROM personal_access_tokens")[0][0] == 0
    again = tokens(laravel, "revoke", token_id)
    assert again.exit_code == 1
    assert f"No token with id {token_id}." in again.output


def test_issue_with_an_expiry_on_a_sanctum_3_table(laravel: Laravel) -> None:
    user_id = laravel.insert("users", name="Ann", email="ann@example.com")
    issued = tokens(laravel, "issue", str(user_id), "--name", "x", "--expires-in-days", "3")
    assert issued.exit_code == 0, issued.output
    listed = tokens(laravel, "list")
    assert "expires never" not in listed.output


def test_an_expiry_past_2038_is_one_clear_line_on_mysql(laravel: Laravel) -> None:
    user_id = laravel.insert("users", name="Ann", email="ann@example.com")
    issued = tokens(laravel, "issue", str(user_id), "--name", "x", "--expires-at", "2099-01-01")
    if laravel.dialect == "mysql":
        assert issued.exit_code == 2
        assert "timestamp columns end in 2038-01-19" in issued.output
    else:
        assert issued.exit_code == 0, issued.output


def test_the_demo_token_on_a_sanctum_2_table_never_expires_and_is_kept(
    laravel: Laravel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTIO_INSTANCE_PATH", str(tmp_path))
    laravel.build(sanctum=2)
    laravel.insert("users", name="Demo", email=DEMO_EMAIL)
    app = laravel.app()
    runner = app.test_cli_runner()

    with app.app_context():  # as `flask demo-token` runs it
        first = runner.invoke(args=["demo-token"])
    assert first.exit_code == 0, first.output
    assert "never expires" in first.output
    token = (tmp_path / "demo-token").read_text().strip()
    assert f"  {token}\n" in first.output

    with app.app_context():
        again = runner.invoke(args=["demo-token"])
    assert again.exit_code == 0, again.output
    assert f"  {token}\n" in again.output and "kept in" in again.output
    assert laravel.sql("SELECT COUNT(*) FROM personal_access_tokens")[0][0] == 1
