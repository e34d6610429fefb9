"""`database check`, `database attach [--sql]` and `database migrate` on an existing database,
and `python -m eventio.db` (what `make run` / `make serve` run first) on bad URLs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.existing_database.conftest import Laravel
from tests.existing_database.test_inspection import inspect
from tests.existing_database.test_serving import read_only_app

ROOT = Path(__file__).resolve().parents[2]


def run(laravel: Laravel, *args: str, app=None):  # type: ignore[no-untyped-def]
    app = app or laravel.app()
    return app.test_cli_runner().invoke(args=["database", *args])


def schema_of(laravel: Laravel) -> list[tuple[str, ...]]:
    """Every column and index (name, table, columns), to show nothing else changed."""
    if laravel.dialect == "mysql":
        columns = laravel.sql(
            "SELECT table_name, column_name, column_type, is_nullable FROM "
            "information_schema.columns WHERE table_schema = DATABASE() ORDER BY 1, 2"
        )
        indexes = laravel.sql(
            "SELECT table_name, index_name, seq_in_index, column_name FROM "
            "information_schema.statistics WHERE table_schema = DATABASE() ORDER BY 1, 2, 3"
        )
    else:
        columns = laravel.sql(
            "SELECT table_name, column_name, data_type, is_nullable FROM "
            "information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2"
        )
        indexes = laravel.sql(
            "SELECT tablename, indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = 'public' ORDER BY 1, 2"
        )
    return [tuple(map(str, row)) for row in [*columns, *indexes]]


def test_check_reports_each_part_and_exits_zero_when_the_api_can_serve(
    laravel: Laravel,
) -> None:
    result = run(laravel, "check")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Migrations: not managed" in out
    assert "  bookings: present: id, event_id, group_id" in out
    assert "Token table: Sanctum 3 or later" in out
    assert "Connection: writable" in out
    assert "CREATE INDEX ix_bookings_event_id_status_created_at_desc_id ON bookings" in out
    assert "OAuth (POST /oauth/token, `oauth` commands)" in out
    assert "Verdict: the API can serve this database." in out


def test_check_exits_non_zero_naming_what_is_missing(laravel: Laravel) -> None:
    laravel.build(sanctum=2)
    laravel.sql("ALTER TABLE bookings DROP COLUMN status")
    result = run(laravel, "check")
    assert result.exit_code == 1
    assert "  bookings.status: missing" in result.output
    assert "  personal_access_tokens.expires_at: missing (optional)" in result.output
    assert "Token table: Sanctum 2" in result.output
    assert "Verdict: the API cannot serve this database: bookings.status (missing)" in result.output


def test_check_on_a_read_only_connection_says_what_will_not_work(laravel: Laravel) -> None:
    result = run(laravel, "check", app=read_only_app(laravel))
    assert result.exit_code == 0, result.output
    assert "Connection: read-only" in result.output
    assert "last_used_at is not recorded" in result.output


def test_attach_sql_prints_and_changes_nothing(laravel: Laravel) -> None:
    before = schema_of(laravel)
    result = run(laravel, "attach", "--sql")
    assert result.exit_code == 0, result.output
    assert "CREATE TABLE oauth_clients" in result.output
    assert "CREATE INDEX ix_bookings_event_id_id ON bookings (event_id, id);" in result.output
    assert schema_of(laravel) == before


def test_attach_adds_only_what_is_missing_and_twice_changes_nothing(laravel: Laravel) -> None:
    before = schema_of(laravel)
    first = run(laravel, "attach")
    assert first.exit_code == 0, first.output
    assert "added table oauth_clients" in first.output
    after = schema_of(laravel)
    # Every column there before is there unchanged, and every index Laravel made.
    assert set(before) <= set(after)
    added_columns = {row[:2] for row in after if row[0] != "oauth_clients"} - {
        row[:2] for row in before
    }
    assert all(name.startswith("ix_") for _, name in added_columns)
    found = inspect(laravel)
    assert found.oauth_tables and found.missing_indexes == () and not found.managed
    second = run(laravel, "attach")
    assert second.exit_code == 0
    assert "Nothing to add" in second.output
    assert schema_of(laravel) == after
    assert run(laravel, "attach", "--sql").output.strip() == "-- nothing to add"


def test_attach_refuses_a_read_only_connection_but_prints_its_sql(laravel: Laravel) -> None:
    before = schema_of(laravel)
    app = read_only_app(laravel)
    refused = run(laravel, "attach", app=app)
    assert refused.exit_code == 1
    assert "read-only" in refused.output and "--sql" in refused.output
    assert run(laravel, "attach", "--sql", app=app).exit_code == 0
    assert schema_of(laravel) == before


def test_migrate_leaves_an_existing_database_as_it_is(laravel: Laravel) -> None:
    before = schema_of(laravel)
    result = run(laravel, "migrate")
    assert result.exit_code == 0, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "existing EventIO database" in result.output
    assert "database check" in result.output
    assert schema_of(laravel) == before


def test_migrate_stops_with_one_line_on_an_incomplete_existing_database(
    laravel: Laravel,
) -> None:
    laravel.sql("DROP TABLE booking_tickets")
    result = run(laravel, "migrate")
    assert result.exit_code == 1
    assert "booking_tickets" in result.output and "database check" in result.output
    assert "Traceback" not in result.output


def before_serving(url: str) -> subprocess.CompletedProcess[str]:
    """What `make run` and `make serve` run first, with DATABASE_URL set to `url`."""
    environment = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "eventio.db"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_before_serving_an_existing_database_is_one_line_and_no_ddl(laravel: Laravel) -> None:
    before = schema_of(laravel)
    done = before_serving(laravel.url)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.strip().splitlines()) == 1
    assert "served as it is" in done.stdout
    assert schema_of(laravel) == before


def test_before_serving_a_missing_database_says_how_to_create_it(laravel: Laravel) -> None:
    url = laravel.url.rsplit("/", 1)[0] + "/eventio_nowhere_b"
    done = before_serving(url)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "eventio_nowhere_b does not exist" in lines[0]
    if laravel.dialect == "postgresql":
        # On the URL's server, as its user: runnable as printed.
        assert re.search(r"`createdb -h \S+ (-p \d+ )?-U root eventio_nowhere_b`", lines[0])
    else:
        assert "CREATE DATABASE eventio_nowhere_b" in lines[0]


def test_before_serving_unsupported_or_unreachable_urls_are_one_line() -> None:
    for url, says in (
        ("oracle://scott@db.internal/orders", "not supported"),
        ("nonsense", "not a database URL"),
        ("postgresql://root@127.0.0.1:1/eventio", "cannot reach the database"),
    ):
        done = before_serving(url)
        assert done.returncode == 1
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and says in lines[0], done.stderr
