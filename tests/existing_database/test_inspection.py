"""What the inspection finds on a Laravel-made database, and on one the API migrated."""

from __future__ import annotations

from flask_migrate import upgrade

from eventio.db.extensions import db
from eventio.db.inspection import inspect_database, recommended_indexes
from tests.existing_database.conftest import Laravel
from tests.existing_database.test_serving import read_only_app
from tests.support.laravel_schema import drop_every_table


def inspect(laravel: Laravel):  # type: ignore[no-untyped-def]
    with laravel.engine.connect() as connection:
        return inspect_database(connection)


def test_a_laravel_database_is_existing_complete_and_lacks_the_apis_own_parts(
    laravel: Laravel,
) -> None:
    found = inspect(laravel)
    assert not found.managed
    assert found.can_serve and found.problems == []
    assert found.sanctum == 3
    assert not found.oauth_tables
    assert found.read_only is None
    missing = {(index.table, index.columns) for index in found.missing_indexes}
    assert ("bookings", ("event_id", "status", "created_at", "id")) in missing
    # Laravel's own index on the token's morph columns serves ours: compared by columns.
    assert ("personal_access_tokens", ("tokenable_type", "tokenable_id")) not in missing
    if laravel.dialect == "mysql":
        # MariaDB indexes every foreign key: `bookings_event_id_foreign` serves (event_id).
        assert ("bookings", ("event_id",)) not in missing
    else:
        assert ("bookings", ("event_id",)) in missing
        assert any(index.trigram for index in found.missing_indexes)


def test_sanctum_2_is_told_by_the_token_table(laravel: Laravel) -> None:
    laravel.build(sanctum=2)
    found = inspect(laravel)
    assert found.sanctum == 2
    assert found.can_serve  # expires_at is optional
    names = {index.name for index in found.missing_indexes}
    assert "ix_personal_access_tokens_expires_at" not in names


def test_missing_tables_and_columns_and_unexpected_types_are_named(laravel: Laravel) -> None:
    laravel.sql("ALTER TABLE bookings DROP COLUMN status")
    laravel.sql("DROP TABLE booking_tickets")
    if laravel.dialect == "mysql":
        laravel.sql("ALTER TABLE events MODIFY start_date varchar(20) NOT NULL")
    else:
        laravel.sql("ALTER TABLE events ALTER COLUMN start_date TYPE varchar(20)")
    found = inspect(laravel)
    assert not found.can_serve
    states = {(c.table, c.column): c.state for c in found.problems}
    assert states[("bookings", "status")] == "missing"
    assert states[("booking_tickets", "qty")] == "missing"
    assert states[("events", "start_date")] == "unexpected type"
    assert "bookings.status (missing)" in found.summary()


def test_a_read_only_session_is_seen(laravel: Laravel) -> None:
    app = read_only_app(laravel)
    with app.app_context(), db.engine.connect() as connection:
        reason = inspect_database(connection).read_only
    assert reason is not None and "read" in reason


def test_the_recommended_indexes_are_those_the_migrations_make(laravel: Laravel) -> None:
    with laravel.engine.begin() as connection:
        drop_every_table(connection)
    app = laravel.app()
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            found = inspect_database(connection)
    assert found.managed and found.can_serve and found.oauth_tables
    assert found.missing_indexes == ()
    made = {
        row[0]
        for row in laravel.sql(
            "SELECT index_name FROM information_schema.statistics "
            "WHERE table_schema = DATABASE() AND non_unique = 1"
            if laravel.dialect == "mysql"
            else "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' "
            "AND indexdef NOT LIKE 'CREATE UNIQUE%'"
        )
    }
    wanted = {index.name for index in recommended_indexes(found.trigram_available)}
    assert wanted <= made
    # Besides ours, only the foreign keys' own indexes (MariaDB) and oauth_clients'.
    assert {name for name in made - wanted if not name.startswith("fk_")} == {
        "ix_oauth_clients_user_id"
    }
