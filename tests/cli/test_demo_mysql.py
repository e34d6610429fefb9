"""`flask demo` on MySQL and MariaDB: the fast writer writes exactly what the generic one does."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text

from eventio.cli import demo
from eventio.cli.bulk import BulkWriter, MySQLWriter, deferrable
from eventio.cli.demo_world import Table
from eventio.db.extensions import db
from eventio.models import Booking, Event
from tests.cli.conftest import Run
from tests.cli.test_demo import count, digest, empty, load

INDEXES = text(
    "SELECT table_name, index_name, non_unique, seq_in_index, column_name, collation"
    " FROM information_schema.statistics WHERE table_schema = DATABASE()"
    " ORDER BY table_name, index_name, seq_in_index"
)


def indexes() -> list[tuple[object, ...]]:
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(INDEXES)]


@pytest.fixture(autouse=True)
def mysql_only() -> None:
    if db.engine.dialect.name != "mysql":
        pytest.skip("MySQL and MariaDB only")


def test_same_rows_as_the_generic_writer(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    load(run, "--seed", 7)
    fast = digest()
    empty()
    generic = classmethod(lambda cls, connection: BulkWriter(connection))
    monkeypatch.setattr(BulkWriter, "for_connection", generic)
    load(run, "--seed", 7)
    assert digest() == fast


def test_values_that_need_escaping_are_written_as_they_are() -> None:
    at = datetime(2026, 3, 4, 5, 6, 7)
    names = ["O'Brien", 'say "hi"', "back\\slash", "50% off_", "line\nbreak", "Zoë ☃ 😀", "\x00"]
    events = Table(
        "events",
        ("id", "slug", "name", "start_date", "end_date", "created_at", "updated_at"),
        [(i, f"s{i}", name, date(2026, 6, i), None, at, at) for i, name in enumerate(names, 1)],
    )
    tickets = Table(
        "tickets",
        ("id", "event_id", "title", "participant_type", "price", "seq", "created_at"),
        [(1, 1, "T", "adult", Decimal("1234.50"), 1, None)],
    )
    with db.engine.begin() as connection, MySQLWriter(connection) as writer:
        writer.write(events)
        writer.write(tickets)
    with db.engine.connect() as connection:
        read = connection.execute(
            text("SELECT id, name, start_date, end_date, created_at FROM events ORDER BY id")
        ).all()
        price = connection.execute(text("SELECT price, created_at FROM tickets")).one()
    assert [tuple(row) for row in read] == [
        (i, name, date(2026, 6, i), None, at) for i, name in enumerate(names, 1)
    ]
    assert tuple(price) == (Decimal("1234.50"), None)


def test_the_session_is_given_back_with_its_checks_and_statement_limit() -> None:
    with db.engine.connect() as connection:
        version = connection.execute(text("SELECT version()")).scalar() or ""
        limit = "max_statement_time" if "mariadb" in version.lower() else "max_execution_time"
        check = text(f"SELECT @@foreign_key_checks, @@unique_checks, @@SESSION.{limit} > 0")
        assert tuple(connection.execute(check).one()) == (1, 1, 1)
        with MySQLWriter(connection):
            assert tuple(connection.execute(check).one()) == (0, 0, 0)
        assert tuple(connection.execute(check).one()) == (1, 1, 1)
        connection.rollback()


def test_deferred_indexes_are_all_built_again(run: Run) -> None:
    before = indexes()
    assert any(row[1] == "ix_bookings_event_id_status_id" for row in before)
    load(run)
    assert indexes() == before


class Interrupted(Exception):
    pass


def test_a_failed_load_leaves_no_rows_and_every_index(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = indexes()
    chunks = demo.BookingGenerator.chunks

    def fail_after_one(self: demo.BookingGenerator, size: int):  # type: ignore[no-untyped-def]
        yield next(chunks(self, size))
        raise Interrupted

    monkeypatch.setattr(demo.BookingGenerator, "chunks", fail_after_one)
    with pytest.raises(Interrupted):
        run("demo", "--bookings", 20)
    assert count(Event) == 0 and count(Booking) == 0
    assert indexes() == before


CREATE_TABLE = """CREATE TABLE `bookings` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `event_id` bigint(20) NOT NULL,
  `group_id` bigint(20) DEFAULT NULL,
  `booking_reference` varchar(255) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_bookings_booking_reference` (`booking_reference`),
  KEY `ix_bookings_event_id` (`event_id`),
  KEY `ix_bookings_event_id_created_at` (`event_id`,`created_at` DESC),
  KEY `ix_bookings_group_id` (`group_id`),
  KEY `ix_bookings_reference_event` (`booking_reference`,`event_id`),
  CONSTRAINT `fk_bookings_event_id_events` FOREIGN KEY (`event_id`) REFERENCES `events` (`id`),
  CONSTRAINT `fk_bookings_group_id_groups` FOREIGN KEY (`group_id`) REFERENCES `groups` (`id`)
) ENGINE=InnoDB"""


def test_on_mariadb_every_secondary_index_is_deferred() -> None:
    names = [name for _, name in deferrable(CREATE_TABLE, keep_foreign_key_indexes=False)]
    assert names == [
        "ix_bookings_event_id",
        "ix_bookings_event_id_created_at",
        "ix_bookings_group_id",
        "ix_bookings_reference_event",
    ]


def test_on_mysql_the_last_index_a_foreign_key_needs_is_kept() -> None:
    assert deferrable(CREATE_TABLE, keep_foreign_key_indexes=True) == [
        (
            "KEY `ix_bookings_event_id_created_at` (`event_id`,`created_at` DESC)",
            "ix_bookings_event_id_created_at",
        ),
        (
            "KEY `ix_bookings_reference_event` (`booking_reference`,`event_id`)",
            "ix_bookings_reference_event",
        ),
    ]
