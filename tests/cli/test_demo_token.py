"""`flask demo-token`, and the permission model the demo world shows through the API."""

from __future__ import annotations

import re
import stat
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from eventio.auth.guard import utcnow
from eventio.db.extensions import db
from eventio.models import PersonalAccessToken
from tests.cli.conftest import Run
from tests.conftest import bearer
from tests.factories import issue_token

TOKEN = re.compile(r"^\s+(\d+\|\S+)$", re.MULTILINE)


@pytest.fixture
def instance(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app's instance folder, where the token is kept: this test's own, not yet made."""
    folder = tmp_path / "instance"
    monkeypatch.setattr(app, "instance_path", str(folder))
    return folder


def demo_token(run: Run, *args: object) -> tuple[str, str]:
    result = run("demo-token", *args)
    assert result.exit_code == 0, result.output
    match = TOKEN.search(result.output)
    assert match is not None, result.output
    return match.group(1), result.output


def test_prints_a_working_30_day_token_and_a_curl_line(
    run: Run, client: FlaskClient, instance: Path
) -> None:
    assert run("demo", "--bookings", 500).exit_code == 0
    token, output = demo_token(run, "--port", 9123)
    assert (
        f'curl -H "Authorization: Bearer {token}" "http://127.0.0.1:9123/api/v2/event/1/bookings'
        '?include=tickets.ticket,group.customer&per_page=5"'
    ) in output
    row = db.session.get(PersonalAccessToken, int(token.split("|")[0]))
    assert row is not None and row.abilities == '["*"]' and row.expires_at is not None
    assert abs(row.expires_at - (utcnow() + timedelta(days=30))) < timedelta(minutes=1)

    url = "/api/v2/event/1/bookings?include=tickets.ticket,group.customer&per_page=5"
    response = client.get(url, headers=bearer(token))
    assert response.status_code == 200
    assert len(response.json["data"]) == 5
    for event_id in range(1, 21):  # the demo user administers every event
        assert (
            client.get(f"/api/v2/event/{event_id}/users", headers=bearer(token)).status_code == 200
        )


def tokens() -> int:
    return db.session.scalar(select(func.count()).select_from(PersonalAccessToken)) or 0


def test_the_token_is_kept_and_printed_again_while_valid(run: Run, instance: Path) -> None:
    assert run("demo", "--bookings", 100).exit_code == 0
    first, output = demo_token(run)
    assert "(new, kept in " in output
    assert (instance / "demo-token").read_text() == first + "\n"
    second, output = demo_token(run)
    assert second == first and "(kept in " in output and "new" not in output
    assert tokens() == 1


def test_new_issues_another_token_and_keeps_that(run: Run, instance: Path) -> None:
    assert run("demo", "--bookings", 100).exit_code == 0
    first, _ = demo_token(run)
    second, _ = demo_token(run, "--new")
    assert second != first and tokens() == 2
    assert (instance / "demo-token").read_text().strip() == second
    assert demo_token(run)[0] == second


def expire(token: str, when: datetime) -> None:
    db.session.execute(
        update(PersonalAccessToken)
        .where(PersonalAccessToken.id == int(token.split("|")[0]))
        .values(expires_at=when)
    )
    db.session.commit()


def set_abilities(token: str, abilities: str) -> None:
    db.session.execute(
        update(PersonalAccessToken)
        .where(PersonalAccessToken.id == int(token.split("|")[0]))
        .values(abilities=abilities)
    )
    db.session.commit()


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda run, token: run("tokens", "revoke", token.split("|")[0]), id="revoked"),
        pytest.param(lambda run, token: expire(token, utcnow() - timedelta(hours=1)), id="expired"),
        pytest.param(
            lambda run, token: expire(token, utcnow() + timedelta(hours=2)),
            id="expires-within-a-day",
        ),
        pytest.param(
            lambda run, token: set_abilities(token, '["event.read"]'), id="fewer-abilities"
        ),
    ],
)
def test_a_kept_token_no_longer_valid_is_replaced(
    run: Run, instance: Path, client: FlaskClient, spoil: Callable[[Run, str], object]
) -> None:
    assert run("demo", "--bookings", 100).exit_code == 0
    kept, _ = demo_token(run)
    spoil(run, kept)
    replaced, output = demo_token(run)
    assert replaced != kept and "(new, kept in " in output
    assert (instance / "demo-token").read_text().strip() == replaced
    assert int(replaced.split("|")[0]) > int(kept.split("|")[0])
    assert client.get("/api/v2/user", headers=bearer(replaced)).status_code == 200


def test_a_token_kept_for_another_database_is_replaced(run: Run, instance: Path) -> None:
    """A database made again since: the same id, another secret (or no such id)."""
    assert run("demo", "--bookings", 100).exit_code == 0
    instance.mkdir(mode=0o700, exist_ok=True)
    (instance / "demo-token").write_text("1|" + "x" * 48 + "\n")
    issue_token(2)  # id 1, of the same demo user, with another secret
    token, output = demo_token(run)
    assert token.split("|")[0] == "2" and "(new, kept in " in output
    assert (instance / "demo-token").read_text().strip() == token


def test_the_file_is_its_owners_only(run: Run, instance: Path) -> None:
    assert run("demo", "--bookings", 100).exit_code == 0
    assert not instance.exists()
    demo_token(run)
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    assert stat.S_IMODE((instance / "demo-token").stat().st_mode) == 0o600
    (instance / "demo-token").chmod(0o644)
    demo_token(run, "--new")
    assert stat.S_IMODE((instance / "demo-token").stat().st_mode) == 0o600
    assert sorted(path.name for path in instance.iterdir()) == ["demo-token"]


def test_or_hint_says_how_to_issue_a_token_and_exits_0(run: Run, instance: Path) -> None:
    result = run("demo-token", "--or-hint")
    assert result.exit_code == 0
    assert "No demo user" in result.output and "--app eventio tokens issue USER_ID" in result.output
    assert tokens() == 0 and not instance.exists()


def test_refuses_without_the_demo_user(run: Run, instance: Path) -> None:
    result = run("demo-token")
    assert result.exit_code == 1
    assert "No demo user" in result.output
    assert db.session.scalar(select(func.count()).select_from(PersonalAccessToken)) == 0


def test_narrow_roles_show_the_permission_model(run: Run, client: FlaskClient) -> None:
    assert run("demo", "--bookings", 200).exit_code == 0

    def status(user_id: int, path: str) -> int:
        return client.get(f"/api/v2/event/{path}", headers=bearer(issue_token(user_id))).status_code

    john, reader, finance, former = 1, 3, 4, 5
    assert status(john, "1/bookings") == 200
    assert status(john, "1/groups") == 403
    assert status(reader, "1/bookings") == 200
    assert status(reader, "1/groups") == 403
    assert status(reader, "3/bookings") == 403
    assert status(finance, "3/customers") == 200
    assert status(finance, "3/roles") == 403
    assert status(former, "1/bookings") == 403


def test_a_token_that_cannot_be_kept_is_still_printed(run: Run, instance: Path) -> None:
    assert run("demo", "--bookings", 100).exit_code == 0
    instance.parent.mkdir(exist_ok=True)
    instance.write_text("a file where the folder should be")
    token, output = demo_token(run)
    assert "(new, not kept: " in output and tokens() == 1
    assert db.session.get(PersonalAccessToken, int(token.split("|")[0])) is not None
