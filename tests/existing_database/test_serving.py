"""The API serves a Laravel-made database as it is: health, tokens, endpoints, no DDL."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event

from eventio.db.extensions import db
from tests.existing_database.conftest import Laravel, World, bearer, fill

DDL = ("CREATE", "ALTER", "DROP", "TRUNCATE", "RENAME")


def no_ddl(app: Any) -> list[str]:
    """Every statement the app sends from now on (to assert none is DDL)."""
    sent: list[str] = []
    with app.app_context():
        for engine in db.engines.values():
            event.listen(
                engine, "before_cursor_execute", lambda *args: sent.append(args[2]), named=False
            )
    return sent


def test_health_is_ready_and_names_what_is_optional_and_missing(
    laravel: Laravel, world: World
) -> None:
    app = laravel.app()
    response = app.test_client().get("/health/ready")
    assert response.status_code == 200, response.get_json()
    checks = response.get_json()["checks"]
    assert checks["database"] == "ok"
    assert checks["migrations"] == "not managed"
    assert checks["schema"] == "ok"
    assert checks["oauth"] == "not set up"
    assert checks["indexes"].endswith("recommended missing")
    assert laravel.sql("SELECT COUNT(*) FROM migrations")[0][0] == 0
    tables = {row[0] for row in laravel.sql(tables_query(laravel))}
    assert "alembic_version" not in tables and "oauth_clients" not in tables


def tables_query(laravel: Laravel) -> str:
    if laravel.dialect == "mysql":
        return "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
    return "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"


def test_endpoints_answer_with_laravel_tokens_and_no_ddl(laravel: Laravel, world: World) -> None:
    app = laravel.app()
    client = app.test_client()
    sent = no_ddl(app)
    sanctum_4 = laravel.create_token(world.user_id, prefix="eventio_")
    for token in (world.token, sanctum_4):
        response = client.get(f"/api/v2/user?eventId={world.event_id}", headers=bearer(token))
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["data"]["name"] == "John Doe"
    booking = client.get(
        f"/api/v2/event/{world.event_id}/bookings/{world.booking_id}/tickets", headers=world.headers
    )
    assert booking.status_code == 200, booking.get_json()
    assert booking.get_json()["data"][0]["qty"] == 2
    event_row = client.get(f"/api/v2/event/{world.event_id}", headers=world.headers)
    assert event_row.status_code == 200, event_row.get_json()
    assert event_row.get_json()["data"]["name"] == "Annual Conference 2026"
    assert not [s for s in sent if s.lstrip().upper().startswith(DDL)]


def test_a_sanctum_2_token_table_works_and_only_the_global_lifetime_expires(
    laravel: Laravel,
) -> None:
    laravel.build(sanctum=2)
    world = fill(laravel)
    client = laravel.app().test_client()
    response = client.get(f"/api/v2/user?eventId={world.event_id}", headers=world.headers)
    assert response.status_code == 200, response.get_json()
    just_made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    fresh = laravel.create_token(world.user_id, created_at=just_made)
    old = laravel.create_token(world.user_id, created_at="2020-01-01 00:00:00")
    lifetime = laravel.app(TOKEN_EXPIRATION_MINUTES=60).test_client()
    user = f"/api/v2/user?eventId={world.event_id}"
    assert lifetime.get(user, headers=bearer(old)).status_code == 401
    assert lifetime.get(user, headers=bearer(fresh)).status_code == 200
    # Without a global lifetime, nothing expires a Sanctum 2 token.
    assert client.get(user, headers=bearer(old)).status_code == 200


def test_null_abilities_grant_nothing(laravel: Laravel, world: World) -> None:
    token = laravel.create_token(world.user_id, abilities=None)
    client = laravel.app().test_client()
    response = client.get(f"/api/v2/event/{world.event_id}", headers=bearer(token))
    assert response.status_code == 403
    assert "ability" in response.get_json()["message"]


def test_a_token_of_another_model_is_refused(laravel: Laravel, world: World) -> None:
    token = laravel.create_token(world.user_id, tokenable_type="App\\Models\\Team")
    client = laravel.app().test_client()
    response = client.get(f"/api/v2/event/{world.event_id}", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json() == {"message": "Unauthenticated."}


def read_only_app(laravel: Laravel, **config: Any) -> Any:
    """The app on a read-only session, as on a replica."""
    from eventio.db.engines import engine_options
    from eventio.settings import database_url, from_environment

    url = database_url(laravel.url, "")
    options = engine_options(url, {**from_environment(""), "DB_POOL_SIZE": 5})
    if laravel.dialect == "postgresql":
        options["connect_args"]["options"] += " -c default_transaction_read_only=on"
    else:
        options["connect_args"]["init_command"] = "SET SESSION TRANSACTION READ ONLY"
    return laravel.app(SQLALCHEMY_ENGINE_OPTIONS=options, **config)


def test_a_read_only_connection_serves_and_skips_last_used_at(
    laravel: Laravel, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    app = read_only_app(laravel)
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            response = client.get(f"/api/v2/event/{world.event_id}", headers=world.headers)
            assert response.status_code == 200, response.get_json()
    assert laravel.sql("SELECT last_used_at FROM personal_access_tokens")[0][0] is None
    said = [r for r in caplog.records if "read-only" in r.getMessage()]
    assert len(said) == 1
    ready = client.get("/health/ready").get_json()
    assert ready["status"] == "ok" and ready["checks"]["oauth"] == "not set up"


def test_a_missing_column_is_a_503_naming_the_check_command(laravel: Laravel, world: World) -> None:
    client = laravel.app().test_client()
    assert client.get(f"/api/v2/event/{world.event_id}", headers=world.headers).status_code == 200
    laravel.sql("ALTER TABLE events DROP COLUMN slug")
    response = client.get(f"/api/v2/event/{world.event_id}", headers=world.headers)
    assert response.status_code == 503
    assert "database check" in response.get_json()["message"]
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["schema"] == "incomplete"


def test_a_select_only_user_is_read_only_and_served(
    laravel: Laravel, world: World, reader_url: str
) -> None:
    app = laravel.app(DATABASE_URL=reader_url)
    client = app.test_client()
    response = client.get(f"/api/v2/event/{world.event_id}", headers=world.headers)
    assert response.status_code == 200, response.get_json()
    assert laravel.sql("SELECT last_used_at FROM personal_access_tokens")[0][0] is None
    check = app.test_cli_runner().invoke(args=["database", "check"])
    assert check.exit_code == 0, check.output
    assert "Connection: read-only (" in check.output
    assert client.get("/health/ready").status_code == 200


def test_the_token_statement_is_decided_once_not_per_request(laravel: Laravel) -> None:
    laravel.build(sanctum=2)
    world = fill(laravel)
    app = laravel.app()
    client = app.test_client()
    user = f"/api/v2/user?eventId={world.event_id}"
    assert client.get(user, headers=world.headers).status_code == 200
    sent = no_ddl(app)
    for _ in range(3):
        assert client.get(user, headers=world.headers).status_code == 200
    catalogue = ("information_schema", "pg_catalog", "pg_available", "SHOW ", "has_table_privilege")
    assert sent and not [s for s in sent if any(word in s for word in catalogue)]
    assert not [s for s in sent if "personal_access_tokens.expires_at" in s]
