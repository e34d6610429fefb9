"""Streamed exports: `format=csv|ndjson` or the Accept header, every matching row, same access."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import text
from werkzeug.test import TestResponse

from eventio.api import export
from eventio.db.extensions import db
from tests.api.conftest import Caller, assert_error, url
from tests.conftest import StatementCounter, bearer
from tests.factories import (
    BookingFactory,
    BookingTicketFactory,
    EventFactory,
    EventUserFactory,
    GroupFactory,
    TicketFactory,
    UserFactory,
    grant,
    issue_token,
)
from tests.support.live_server import live_server

BOOKING_COLUMNS = [
    "id",
    "event_id",
    "group_id",
    "booking_type",
    "booking_reference",
    "status",
    "created_at",
    "updated_at",
]
STATUSES = ("provisional", "confirmed", "waiting_list")


def bookings_path(api: Caller) -> str:
    return f"/event/{api.event_id}/bookings"


@pytest.fixture
def thirty_bookings(api: Caller) -> list[int]:
    """30 active bookings (every third without a group or created_at) and rows never listed."""
    group = GroupFactory(event_id=api.event_id)
    rows = [
        BookingFactory.build(
            event_id=api.event_id,
            status=STATUSES[index % 3],
            group_id=None if index % 3 == 0 else group.id,
            created_at=None if index % 3 == 0 else datetime(2026, 1, 1, 10, index),
        )
        for index in range(30)
    ]
    rows.append(BookingFactory.build(event_id=api.event_id, status="cancelled"))
    rows.append(BookingFactory.build(event_id=EventFactory().id))
    db.session.add_all(rows)
    db.session.commit()
    return [row.id for row in rows[:30]]


def csv_rows(response: TestResponse) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def ndjson_lines(response: TestResponse) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/x-ndjson"
    body = response.get_data(as_text=True)
    assert body.endswith("\n")
    return [json.loads(line) for line in body.splitlines()]


def test_csv_export_has_a_header_of_own_fields_and_every_row_whatever_per_page(
    api: Caller, thirty_bookings: list[int]
) -> None:
    rows = csv_rows(api.get(bookings_path(api), {"format": "csv", "per_page": 5, "page": 2}))
    assert rows[0] == BOOKING_COLUMNS
    assert [int(row[0]) for row in rows[1:]] == sorted(thirty_bookings)


def test_csv_export_cells_match_the_json_list(api: Caller, thirty_bookings: list[int]) -> None:
    rows = csv_rows(api.get(bookings_path(api), {"format": "csv"}))
    listed = api.data(bookings_path(api), {"per_page": 100})
    for row, item in zip(rows[1:], listed, strict=True):
        expected = ["" if item[key] is None else str(item[key]) for key in BOOKING_COLUMNS]
        assert row == expected


def test_csv_export_writes_null_as_an_empty_cell(api: Caller, thirty_bookings: list[int]) -> None:
    rows = csv_rows(api.get(bookings_path(api), {"format": "csv"}))
    by_id = {int(row[0]): dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    without_group = by_id[thirty_bookings[0]]
    assert without_group["group_id"] == "" and without_group["created_at"] == ""
    assert by_id[thirty_bookings[1]]["created_at"] == "2026-01-01T10:01:00.000000Z"


def test_csv_export_applies_filters_and_sorts(api: Caller, thirty_bookings: list[int]) -> None:
    query = {"format": "csv", "filter[status]": "provisional,waiting_list", "sort": "-created_at"}
    rows = csv_rows(api.get(bookings_path(api), query))
    expected = api.ids(
        bookings_path(api),
        {"filter[status]": "provisional,waiting_list", "sort": "-created_at", "per_page": 100},
    )
    assert [int(row[0]) for row in rows[1:]] == expected
    assert len(expected) == 20
    assert {row[5] for row in rows[1:]} == {"provisional", "waiting_list"}


def test_csv_export_honours_sparse_fields(api: Caller, thirty_bookings: list[int]) -> None:
    rows = csv_rows(api.get(bookings_path(api), {"format": "csv", "fields[bookings]": "id,status"}))
    assert rows[0] == ["id", "status"]
    assert all(len(row) == 2 for row in rows)
    assert len(rows) == 31


def test_csv_export_flattens_away_includes_even_when_the_first_row_has_a_null_one(
    api: Caller, thirty_bookings: list[int]
) -> None:
    # The first booking has no group: `group` is null there and an object further down.
    rows = csv_rows(api.get(bookings_path(api), {"format": "csv", "include": "group,tickets"}))
    assert rows[0] == BOOKING_COLUMNS
    assert not [cell for row in rows for cell in row if cell.startswith("{")]


def test_csv_export_writes_booleans_as_true_and_false(api: Caller) -> None:
    inactive = EventUserFactory(event_id=api.event_id, active=False)
    rows = csv_rows(api.get(f"/event/{api.event_id}/users", {"format": "csv"}))
    active = {int(row[0]): row[rows[0].index("active")] for row in rows[1:]}
    assert active[inactive.id] == "false"
    assert sorted(active.values()) == ["false", "true"]


def test_accept_text_csv_gives_the_same_export_as_format_csv(
    api: Caller, thirty_bookings: list[int]
) -> None:
    by_param = api.get(bookings_path(api), {"format": "csv", "sort": "-id"})
    by_header = api.client.get(
        url(bookings_path(api), {"sort": "-id"}), headers={**api.headers, "Accept": "text/csv"}
    )
    assert csv_rows(by_header) == csv_rows(by_param)


def test_accept_preferring_json_gives_json(api: Caller, thirty_bookings: list[int]) -> None:
    response = api.client.get(
        url(bookings_path(api)),
        headers={**api.headers, "Accept": "application/json, text/csv;q=0.5"},
    )
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "data" in response.get_json()


def test_format_json_gives_the_paginated_list(api: Caller, thirty_bookings: list[int]) -> None:
    body = api.ok(bookings_path(api), {"format": "json"})
    assert body["meta"]["total"] == 30


def test_ndjson_export_is_one_object_per_row_with_includes_and_counts(api: Caller) -> None:
    ticket = TicketFactory(event_id=api.event_id, title="Day pass")
    with_lines = BookingFactory(event_id=api.event_id)
    BookingTicketFactory(booking_id=with_lines.id, ticket_id=ticket.id, qty=2)
    BookingTicketFactory(booking_id=with_lines.id, ticket_id=ticket.id, qty=1)
    without_lines = BookingFactory(event_id=api.event_id)
    query = {"format": "ndjson", "include": "tickets.ticket,ticketsCount", "per_page": 1}
    lines = ndjson_lines(api.get(bookings_path(api), query))
    assert [line["id"] for line in lines] == [with_lines.id, without_lines.id]
    first, second = lines
    assert first["tickets_count"] == 2 and second["tickets_count"] == 0
    assert [line["ticket"]["title"] for line in first["tickets"]] == ["Day pass", "Day pass"]
    assert second["tickets"] == []
    # The same objects the JSON list serves.
    listed = api.data(bookings_path(api), {"include": "tickets.ticket,ticketsCount"})
    assert lines == listed


def test_accept_ndjson_gives_the_ndjson_export(api: Caller, thirty_bookings: list[int]) -> None:
    response = api.client.get(
        url(bookings_path(api), {"filter[status]": "confirmed"}),
        headers={**api.headers, "Accept": "application/x-ndjson"},
    )
    lines = ndjson_lines(response)
    assert len(lines) == 10
    assert {line["status"] for line in lines} == {"confirmed"}


def test_export_of_an_empty_list_is_an_empty_body(api: Caller) -> None:
    response = api.get(bookings_path(api), {"format": "ndjson"})
    assert response.status_code == 200
    assert response.get_data() == b""


@pytest.mark.parametrize("chosen", ["xml", "CSV", "", "csv,ndjson"])
def test_unknown_format_is_a_406_keyed_format(api: Caller, chosen: str) -> None:
    body = assert_error(api.get(bookings_path(api), {"format": chosen}), 406)
    assert list(body["errors"]) == ["format"]


def test_invalid_query_on_an_export_is_a_422_not_a_broken_stream(api: Caller) -> None:
    body = assert_error(api.get(bookings_path(api), {"format": "csv", "filter[nope]": "1"}), 422)
    assert list(body["errors"]) == ["filter"]


def caller_with(api: Caller, permissions: dict[str, str]) -> dict[str, str]:
    user = UserFactory()
    grant(user.id, api.event_id, permissions)
    return bearer(issue_token(user.id))


def test_export_needs_the_area_permission(api: Caller, thirty_bookings: list[int]) -> None:
    headers = caller_with(api, {"event": "read"})
    response = api.client.get(url(bookings_path(api), {"format": "csv"}), headers=headers)
    assert_error(response, 403)


def test_export_needs_a_token(api: Caller) -> None:
    assert_error(api.client.get(url(bookings_path(api), {"format": "csv"})), 401)


def test_export_include_of_another_area_needs_that_area(
    api: Caller, thirty_bookings: list[int]
) -> None:
    headers = caller_with(api, {"bookings": "read"})
    plain = api.client.get(url(bookings_path(api), {"format": "ndjson"}), headers=headers)
    assert len(ndjson_lines(plain)) == 30
    with_group = api.client.get(
        url(bookings_path(api), {"format": "ndjson", "include": "group"}), headers=headers
    )
    assert "groups" in assert_error(with_group, 403)["message"]


@pytest.mark.parametrize(
    ("chosen", "filename"), [("csv", "bookings.csv"), ("ndjson", "bookings.ndjson")]
)
def test_export_is_an_attachment_with_a_filename(api: Caller, chosen: str, filename: str) -> None:
    response = api.get(bookings_path(api), {"format": chosen})
    assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'


def test_export_carries_no_etag(api: Caller, thirty_bookings: list[int]) -> None:
    response = api.get(bookings_path(api), {"format": "csv"})
    assert response.status_code == 200
    assert "ETag" not in response.headers


def test_export_closed_early_releases_its_cursor(
    app: Flask, api: Caller, thirty_bookings: list[int]
) -> None:
    postgresql = db.engine.dialect.name == "postgresql"

    def open_cursors() -> list[Any]:
        return list(db.session.execute(text("SELECT name FROM pg_cursors")).all())

    def streaming_somewhere() -> bool:
        """A server-side cursor open on this session (pg_cursors) or on another backend
        (its last statement declared or fetched from one): the request may share the
        test's connection or have its own."""
        elsewhere = db.session.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%' "
                "AND (query ILIKE 'DECLARE%' OR query ILIKE 'FETCH%')"
            )
        ).all()
        return bool(open_cursors()) or bool(elsewhere)

    for chosen in ("csv", "ndjson"):
        response = api.client.get(
            url(bookings_path(api), {"format": chosen}), headers=api.headers, buffered=False
        )
        try:
            assert response.status_code == 200
            chunks = iter(response.response)
            first_chunk = next(chunks)
            if chosen == "csv":
                first_chunk = next(chunks)  # past the header line, sent before any query
            assert first_chunk
            if postgresql:
                # The probe sees the server-side cursor while the stream is open.
                assert streaming_somewhere()
        finally:
            response.close()
    # The next request works, and sees the same rows.
    assert api.ids(bookings_path(api), {"per_page": 100}) == sorted(thirty_bookings)
    assert len(csv_rows(api.get(bookings_path(api), {"format": "csv"}))) == 31
    if postgresql:
        # A new transaction: PostgreSQL shows pg_stat_activity as of a transaction's first look.
        db.session.rollback()
        # No server-side cursor left open on this connection, none idle in a transaction elsewhere.
        assert open_cursors() == []
        stuck = db.session.execute(
            text(
                "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
            )
        ).all()
        assert stuck == []


@pytest.mark.parametrize("chosen", ["csv", "ndjson"])
def test_an_export_body_closed_without_its_response_releases_its_connection(
    app: Flask, api: Caller, thirty_bookings: list[int], chosen: str
) -> None:
    """A server that closes the body it iterates but never calls the response's `close`
    (or drops the response half read) still gets the export's connection back: ending its
    transaction must not wait for the garbage collector."""
    db.session.commit()  # the rows are the request's to read
    with app.test_request_context(url(bookings_path(api), {"format": chosen}), headers=api.headers):
        response = app.full_dispatch_request()
    assert response.status_code == 200
    body = iter(response.response)
    if chosen == "csv":
        assert next(body).startswith("id,")  # the header line, sent before any query
    assert next(body)  # the first rows: the export's cursor is open
    pool = db.engine.pool
    in_use = pool.checkedout()  # type: ignore[attr-defined]
    body.close()  # type: ignore[attr-defined]
    assert pool.checkedout() == in_use - 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("chosen", ["csv", "ndjson"])
def test_export_over_http_streams_from_a_request_of_its_own(
    app: Flask, api: Caller, thirty_bookings: list[int], chosen: str
) -> None:
    """Served by a real server, the request has its own session (on PostgreSQL its reads
    are in autocommit) and the export its own transaction for the server-side cursor."""
    with live_server(app) as base:
        response = requests.get(
            base + url(bookings_path(api), {"format": chosen, "include": "tickets"}),
            headers=api.headers,
            timeout=30,
        )
        # The connection went back whole: the next request on the server works.
        after = requests.get(base + url("/user"), headers=api.headers, timeout=30)
    assert response.status_code == 200, response.text
    lines = response.text.splitlines()
    assert len(lines) == (31 if chosen == "csv" else 30)
    assert after.status_code == 200


@pytest.mark.parametrize("sort", ["id", "created_at", "-created_at,status"])
def test_an_export_in_small_chunks_sends_every_row_once_in_the_lists_order(
    api: Caller, thirty_bookings: list[int], monkeypatch: pytest.MonkeyPatch, sort: str
) -> None:
    """Chunk after chunk, with each chunk's includes loaded between two reads, and a
    sort over a column that is NULL in every third row (the chunk edges fall on them)."""
    monkeypatch.setattr(export, "CHUNK_ROWS", 7)
    listed = api.data(bookings_path(api), {"sort": sort, "per_page": 100, "include": "group"})
    exported = ndjson_lines(
        api.get(bookings_path(api), {"format": "ndjson", "sort": sort, "include": "group"})
    )
    assert [line["id"] for line in exported] == [item["id"] for item in listed]
    assert exported == listed


def test_on_mysql_an_export_reads_bounded_chunks_inside_one_consistent_snapshot(
    api: Caller,
    thirty_bookings: list[int],
    monkeypatch: pytest.MonkeyPatch,
    count_statements: StatementCounter,
) -> None:
    """PyMySQL's streamed result would hold the connection the includes need: each chunk
    is a read of its own, of at most `CHUNK_ROWS` rows, all in one snapshot."""
    if db.engine.dialect.name != "mysql":
        pytest.skip("PostgreSQL and SQLite stream through a server-side cursor")
    monkeypatch.setattr(export, "CHUNK_ROWS", 7)
    before = count_statements.count
    lines = ndjson_lines(api.get(bookings_path(api), {"format": "ndjson", "include": "tickets"}))
    assert len(lines) == 30
    sent = count_statements.statements[before:]
    reads = [s for s in sent if s.startswith("SELECT bookings.")]
    assert len(reads) == 5  # 7 + 7 + 7 + 7 + 2
    assert all(s.rstrip().endswith("LIMIT %(param_1)s") for s in reads), reads
    snapshot = sent.index("START TRANSACTION WITH CONSISTENT SNAPSHOT")
    assert snapshot < sent.index(reads[0])


def test_rows_committed_while_an_export_streams_are_not_in_it(
    app: Flask, api: Caller, thirty_bookings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export is one snapshot: a booking committed after its first chunk was sent
    (and that would sort into a later chunk) is not in it."""
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer, which waits for the export to end")
    monkeypatch.setattr(export, "CHUNK_ROWS", 7)
    db.session.commit()
    response = api.client.get(
        url(bookings_path(api), {"format": "ndjson"}), headers=api.headers, buffered=False
    )
    try:
        assert response.status_code == 200
        chunks = iter(response.response)
        first = next(chunks)
        late = BookingFactory(event_id=api.event_id, status="confirmed").id
        body = first + b"".join(chunks)
    finally:
        response.close()
    ids = [json.loads(line)["id"] for line in body.decode().splitlines()]
    assert ids == sorted(thirty_bookings)
    assert late not in ids
    assert late in api.ids(bookings_path(api), {"per_page": 100})
