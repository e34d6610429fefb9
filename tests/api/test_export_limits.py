"""Exports a spreadsheet can open safely, and that a stalled or endless reader cannot keep
(EXPORT_MAX_SECONDS, EXPORT_SEND_TIMEOUT_SECONDS, CSV_NEUTRALISE_FORMULAS, `bom=1`)."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import text

from eventio.api import export
from eventio.db.extensions import db
from tests.api.conftest import Caller, url
from tests.factories import BookingFactory, TicketFactory

HOSTILE = ['=HYPERLINK("http://x")', "+1+2", "-3", "@SUM(1+1)", "\tTab", "\rReturn"]


def tickets_csv(api: Caller, query: str = "") -> list[dict[str, str]]:
    response = api.get(f"/event/{api.event_id}/tickets", "format=csv&sort=id" + query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True), newline="")))


@pytest.fixture
def hostile_tickets(api: Caller) -> None:
    for index, title in enumerate(HOSTILE):
        TicketFactory(
            event_id=api.event_id,
            title=title,
            participant_type=HOSTILE[-1 - index],
            price=Decimal("-5.00"),
            seq=-index - 1,
        )


def test_csv_text_cells_that_start_a_formula_get_a_quote(
    api: Caller, hostile_tickets: None
) -> None:
    rows = tickets_csv(api)
    assert [row["title"] for row in rows] == ["'" + title for title in HOSTILE]
    assert [row["participant_type"] for row in rows] == ["'" + t for t in reversed(HOSTILE)]
    # Typed columns are left as they are, whatever their values look like.
    assert [row["price"] for row in rows] == ["-5.00"] * len(HOSTILE)
    assert [row["seq"] for row in rows] == [str(-n - 1) for n in range(len(HOSTILE))]
    assert all(not row["id"].startswith("'") for row in rows)


def test_csv_text_that_starts_a_formula_elsewhere_only_is_kept(api: Caller) -> None:
    TicketFactory(event_id=api.event_id, title="Adult = 2 kids", participant_type="a-b")
    [row] = tickets_csv(api)
    assert (row["title"], row["participant_type"]) == ("Adult = 2 kids", "a-b")


def test_ndjson_keeps_text_as_it_is(api: Caller, hostile_tickets: None) -> None:
    response = api.get(f"/event/{api.event_id}/tickets", "format=ndjson&sort=id")
    assert HOSTILE[0] in response.get_data(as_text=True).replace('\\"', '"')


def test_csv_neutralising_can_be_turned_off(
    app: Flask, api: Caller, hostile_tickets: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "CSV_NEUTRALISE_FORMULAS", False)
    assert [row["title"] for row in tickets_csv(api)] == HOSTILE


def test_csv_starts_with_a_bom_only_when_asked(api: Caller, hostile_tickets: None) -> None:
    path = f"/event/{api.event_id}/tickets"
    plain = api.get(path, "format=csv").get_data()
    with_bom = api.get(path, "format=csv&bom=1").get_data()
    assert plain.startswith(b"id,")
    assert with_bom == b"\xef\xbb\xbf" + plain


def active_backends() -> list[tuple[int, str]]:
    """Other backends of the test database inside a transaction (PostgreSQL)."""
    with db.engine.connect() as connection:  # back in the pool before the next count
        return list(
            connection.execute(
                text(
                    "SELECT pid, state FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
                )
            ).all()
        )


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def many_bookings(api: Caller, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "CHUNK_ROWS", 3)
    for _ in range(12):
        BookingFactory(event_id=api.event_id)
    db.session.commit()


@pytest.mark.parametrize(
    ("setting", "reason"),
    [
        ("EXPORT_SEND_TIMEOUT_SECONDS", "EXPORT_SEND_TIMEOUT_SECONDS"),
        ("EXPORT_MAX_SECONDS", "EXPORT_MAX_SECONDS"),
    ],
)
def test_a_stalled_export_ends_its_transaction_and_gives_its_connection_back(
    app: Flask,
    api: Caller,
    many_bookings: None,
    monkeypatch: pytest.MonkeyPatch,
    setting: str,
    reason: str,
) -> None:
    monkeypatch.setitem(app.config, "EXPORT_MAX_SECONDS", 0)
    monkeypatch.setitem(app.config, "EXPORT_SEND_TIMEOUT_SECONDS", 0)
    monkeypatch.setitem(app.config, setting, 1)
    postgresql = db.engine.dialect.name == "postgresql"
    pool = db.engine.pool
    api.ok("/user")  # this thread's read connection is held already
    db.session.remove()  # and the test's session holds none
    before = pool.checkedout()  # type: ignore[attr-defined]
    response = api.client.get(
        url(f"/event/{api.event_id}/bookings", {"format": "ndjson"}),
        headers=api.headers,
        buffered=False,
    )
    body: Iterator[bytes] = iter(response.response)
    try:
        assert next(body).count(b"\n") == 3  # the first chunk: the export's transaction is open
        during = pool.checkedout()  # type: ignore[attr-defined]
        if db.engine.dialect.name != "sqlite":
            # (On SQLite the request's session also holds one until the response closes.)
            assert during == before + 1
        if postgresql:
            assert active_backends() != []
        # The reader stalls: no further chunk is asked for. The export's connection returns.
        assert wait_for(lambda: pool.checkedout() == during - 1)  # type: ignore[attr-defined]
        if postgresql:
            assert active_backends() == []
        # The body then breaks off: a cut export never looks complete.
        with pytest.raises(export.ExportCut, match=reason):
            next(body)
    finally:
        response.close()
    if db.engine.dialect.name != "sqlite":
        assert pool.checkedout() == before  # type: ignore[attr-defined]
    assert len(api.data(f"/event/{api.event_id}/bookings", {"per_page": 50})) == 12


def test_an_export_read_without_stalling_is_whole(
    app: Flask, api: Caller, many_bookings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "EXPORT_SEND_TIMEOUT_SECONDS", 1)
    response = api.get(f"/event/{api.event_id}/bookings", "format=ndjson")
    assert response.get_data().count(b"\n") == 12
