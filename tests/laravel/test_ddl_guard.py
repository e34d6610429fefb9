"""The guard these tests rely on: DDL from the API's code is refused, the harness's is not."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy import inspect

from tests.laravel.conftest import Server
from tests.support.ddl_guard import DDLGuard


def test_the_apis_own_migrations_are_refused_and_reported(
    server: Server,
    laravel_database: Callable[[int], None],
    start_api: Callable[..., Flask],
    ddl_guard: DDLGuard,
) -> None:
    laravel_database(3)  # the harness's DDL passes the guard
    app = start_api()
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    refused = ddl_guard.take_refused()
    assert result.exit_code != 0
    assert refused and refused[0].upper().startswith("CREATE TABLE ALEMBIC_VERSION"), refused
    engine = server.engine()
    with engine.connect() as connection:
        assert "alembic_version" not in inspect(connection).get_table_names()
    engine.dispose()
