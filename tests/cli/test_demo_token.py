"""`flask demo-token`, and the permission model the demo world shows through the API."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import func, select

from eventio.auth.guard import utcnow
from eventio.extensions import db
from eventio.models import PersonalAccessToken
from tests.cli.conftest import Run
from tests.conftest import bearer
from tests.factories import issue_token

TOKEN = re.compile(r"^\s+(\d+\|\S+)$", re.MULTILINE)


def demo_token(run: Run, *args: object) -> tuple[str, str]:
    result = run("demo-token", *args)
    assert result.exit_code == 0, result.output
    match = TOKEN.search(result.output)
    assert match is not None, result.output
    return match.group(1), result.output


def test_prints_a_working_30_day_token_and_a_curl_line(run: Run, client: FlaskClient) -> None:
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


def test_each_call_issues_a_new_token_and_nothing_else(run: Run) -> None:
    assert run("demo", "--bookings", 100).exit_code == 0
    first, _ = demo_token(run)
    second, _ = demo_token(run)
    assert first != second
    assert db.session.scalar(select(func.count()).select_from(PersonalAccessToken)) == 2


def test_refuses_without_the_demo_user(run: Run) -> None:
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
