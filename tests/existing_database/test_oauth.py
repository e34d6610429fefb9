"""OAuth on an existing database: a clear 503 until it is set up, then tokens, whether the
clients live on DATABASE_URL (after `database attach`) or on OAUTH_DATABASE_URL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Flask

from tests.existing_database.conftest import Laravel, World, bearer
from tests.existing_database.test_serving import read_only_app


def create_client(app: Flask, user_id: int) -> tuple[str, str]:
    result = app.test_cli_runner().invoke(
        args=["oauth", "create", str(user_id), "--name", "warehouse"]
    )
    assert result.exit_code == 0, result.output
    client_id = re.search(r"client_id:\s+(\S+)", result.output)
    secret = re.search(r"client_secret:\s+(\S+)", result.output)
    assert client_id and secret
    return client_id.group(1), secret.group(1)


def token_request(app: Flask, client_id: str = "nobody", secret: str = "nothing") -> Any:
    return app.test_client().post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


def assert_unavailable(response: Any, says: str) -> None:
    assert response.status_code == 503
    body = response.get_json()
    assert set(body) == {"message", "errors", "error", "error_description"}
    assert body["errors"] == {} and body["error"] == "temporarily_unavailable"
    assert says in body["message"]


def test_without_oauth_clients_the_token_endpoint_says_what_to_set_up(
    laravel: Laravel, world: World
) -> None:
    app = laravel.app()
    assert_unavailable(token_request(app), "flask --app eventio database attach")
    assert_unavailable(token_request(app), "OAUTH_DATABASE_URL")
    result = app.test_cli_runner().invoke(args=["oauth", "list"])
    assert result.exit_code == 1
    assert "database attach" in result.output and "Traceback" not in result.output


def test_after_attach_clients_get_tokens_that_read_the_api(laravel: Laravel, world: World) -> None:
    app = laravel.app()
    assert app.test_cli_runner().invoke(args=["database", "attach"]).exit_code == 0
    client_id, secret = create_client(app, world.user_id)
    response = token_request(app, client_id, secret)
    assert response.status_code == 200, response.get_json()
    token = response.get_json()["access_token"]
    me = app.test_client().get(f"/api/v2/user?eventId={world.event_id}", headers=bearer(token))
    assert me.status_code == 200
    assert app.test_client().get("/health/ready").get_json()["checks"]["oauth"] == "ok"


def test_a_read_only_database_needs_a_write_database_for_oauth(
    laravel: Laravel, world: World
) -> None:
    writable = laravel.app()
    assert writable.test_cli_runner().invoke(args=["database", "attach"]).exit_code == 0
    client_id, secret = create_client(writable, world.user_id)
    assert_unavailable(
        token_request(read_only_app(laravel), client_id, secret), "WRITE_DATABASE_URL"
    )
    replica = read_only_app(laravel, WRITE_DATABASE_URL=laravel.url)
    response = token_request(replica, client_id, secret)
    assert response.status_code == 200, response.get_json()
    issued = response.get_json()["access_token"]
    me = replica.test_client().get(f"/api/v2/user?eventId={world.event_id}", headers=bearer(issued))
    assert me.status_code == 200


def test_clients_may_live_on_oauth_database_url(
    laravel: Laravel, world: World, tmp_path: Path
) -> None:
    oauth_url = f"sqlite:///{tmp_path / 'oauth.db'}"
    app = read_only_app(laravel, WRITE_DATABASE_URL=laravel.url, OAUTH_DATABASE_URL=oauth_url)
    check = app.test_cli_runner().invoke(args=["database", "check"])
    assert "OAUTH_DATABASE_URL: no oauth_clients table yet" in check.output
    attach = app.test_cli_runner().invoke(args=["database", "attach", "--sql"])
    assert "CREATE TABLE oauth_clients" in attach.output
    attached = app.test_cli_runner().invoke(args=["database", "attach"])
    # The replica refuses its indexes, but the OAuth store was made first.
    assert "added table oauth_clients on OAUTH_DATABASE_URL" in attached.output
    assert attached.exit_code == 1 and "DATABASE_URL is read-only" in attached.output
    client_id, secret = create_client(app, world.user_id)
    response = token_request(app, client_id, secret)
    assert response.status_code == 200, response.get_json()
    me = app.test_client().get(
        f"/api/v2/user?eventId={world.event_id}",
        headers=bearer(response.get_json()["access_token"]),
    )
    assert me.status_code == 200
    tables = [row[0] for row in laravel.sql("SELECT COUNT(*) FROM personal_access_tokens")]
    assert tables == [2]


def test_a_sanctum_2_token_table_cannot_hold_expiring_oauth_tokens(laravel: Laravel) -> None:
    laravel.build(sanctum=2)
    assert_unavailable(token_request(laravel.app()), "Sanctum 2")
