"""The suite's guard: a transaction a test left open is named and ended at its teardown."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from eventio.db.extensions import db
from tests.conftest import end_open_transactions, idle_in_transaction


def test_a_transaction_left_open_is_named_and_ended(app: Flask) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs TEST_DATABASE_URL on PostgreSQL")
    # Held here, so the garbage collector the guard runs first cannot end it.
    leaked = db.engine.connect()
    leaked.execute(text("SELECT count(*) FROM events"))  # begins a transaction, keeps it
    try:
        assert [query for _, query in idle_in_transaction()] == ["SELECT count(*) FROM events"]
        named = end_open_transactions()
        assert len(named) == 1
        assert named[0].endswith(": SELECT count(*) FROM events")
        assert idle_in_transaction() == []
        with pytest.raises(DBAPIError):  # its backend is gone
            leaked.execute(text("SELECT 1"))
    finally:
        leaked.invalidate()
        leaked.close()


def test_nothing_is_named_when_every_transaction_ended(app: Flask) -> None:
    with db.engine.connect() as connection:
        connection.execute(text("SELECT count(*) FROM events"))
    assert end_open_transactions() == []
