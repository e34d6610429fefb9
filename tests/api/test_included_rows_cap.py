"""A to-many include carries at most MAX_INCLUDED_ROWS rows per answer; past it a 422
names the list to page through, never a silently shortened list."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from eventio.db.extensions import db
from eventio.querybuilder import InvalidIncludeQuery
from tests.api.conftest import Caller, assert_error
from tests.factories import BookingFactory, BookingTicketFactory, GroupFactory, TicketFactory

CAP = 3


@pytest.fixture(autouse=True)
def small_cap(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "MAX_INCLUDED_ROWS", CAP)


def bookings(api: Caller, count: int, **values: Any) -> list[int]:
    return [BookingFactory(event_id=api.event_id, **values).id for _ in range(count)]


def refused(api: Caller, path: str, query: str) -> str:
    body = assert_error(api.get(path, query), 422)
    assert list(body["errors"]) == ["include"]
    message: str = body["message"]
    assert body["errors"]["include"] == [message]
    return message


def test_the_default_cap_is_ten_thousand() -> None:
    from eventio.settings import from_environment

    assert from_environment("")["MAX_INCLUDED_ROWS"] == 10_000


def test_a_single_resource_may_include_exactly_the_cap(api: Caller) -> None:
    ids = bookings(api, CAP)
    data = api.data(f"/event/{api.event_id}", "include=bookings")
    assert sorted(item["id"] for item in data["bookings"]) == ids


def test_a_single_resource_past_the_cap_names_the_list_to_page_through(api: Caller) -> None:
    bookings(api, CAP + 1)
    message = refused(api, f"/event/{api.event_id}", "include=bookings")
    assert message == (
        f"`include=bookings` would carry more than {CAP} rows; "
        f"page through /api/v2/event/{api.event_id}/bookings instead."
    )


def test_the_cap_counts_the_rows_of_a_whole_page(api: Caller) -> None:
    groups = [GroupFactory(event_id=api.event_id).id for _ in range(2)]
    for group in groups:
        bookings(api, 2, group_id=group)
    path = f"/event/{api.event_id}/groups"
    message = refused(api, path, "include=bookings")
    assert f"page through /api/v2/event/{api.event_id}/bookings instead" in message
    # A smaller page carries fewer: each page of one group is answered whole.
    for page in (1, 2):
        data = api.data(path, f"include=bookings&per_page=1&page={page}")
        assert len(data[0]["bookings"]) == 2
    # So does a cursor page.
    assert len(api.data(path, "include=bookings&per_page=1&cursor=")[0]["bookings"]) == 2


def test_a_nested_include_is_capped_at_its_own_level(api: Caller) -> None:
    group = GroupFactory(event_id=api.event_id).id
    ticket = TicketFactory(event_id=api.event_id).id
    lines = bookings(api, 2, group_id=group)
    for booking in lines:
        for _ in range(2):
            BookingTicketFactory(booking_id=booking, ticket_id=ticket)
    path = f"/event/{api.event_id}/groups"
    message = refused(api, path, "include=bookings.tickets")
    assert message.startswith(f"`include=bookings.tickets` would carry more than {CAP} rows")
    assert f"/api/v2/event/{api.event_id}/bookings/{{booking_id}}/tickets" in message
    # Two bookings of two lines each: one booking's lines fit.
    data = api.data(f"/event/{api.event_id}/groups/{group}/bookings", "include=tickets&per_page=1")
    assert len(data[0]["tickets"]) == 2


def test_events_past_the_cap_name_the_list_per_event(api: Caller) -> None:
    bookings(api, CAP + 1)
    message = refused(api, "/events", "include=bookings")
    assert "page through /api/v2/event/{event_id}/bookings instead" in message


def test_an_include_reads_at_most_one_row_past_the_cap(app: Flask, api: Caller) -> None:
    bookings(api, 50)
    seen: list[int] = []

    def fetched(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        """The include's statement: bounded by a LIMIT; the rows it returned where the
        driver tells (SQLite's rowcount of a SELECT is -1)."""
        if "FROM bookings" in statement and "LIMIT" in statement.upper():
            seen.append(cursor.rowcount)

    engine = db.engine
    event.listen(engine, "after_cursor_execute", fetched)
    try:
        refused(api, f"/event/{api.event_id}", "include=bookings")
    finally:
        event.remove(engine, "after_cursor_execute", fetched)
    assert seen and all(count in (CAP + 1, -1) for count in seen)


def test_no_cap_when_set_to_zero(app: Flask, api: Caller, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "MAX_INCLUDED_ROWS", 0)
    bookings(api, CAP + 2)
    assert len(api.data(f"/event/{api.event_id}", "include=bookings")["bookings"]) == CAP + 2


@pytest.mark.parametrize("export_format", ["ndjson", "csv"])
def test_an_export_past_the_cap_in_its_first_chunk_is_refused_before_it_starts(
    api: Caller, export_format: str
) -> None:
    group = GroupFactory(event_id=api.event_id).id
    bookings(api, CAP + 1, group_id=group)
    path = f"/event/{api.event_id}/groups"
    message = refused(api, path, f"include=bookings&format={export_format}")
    assert f"page through /api/v2/event/{api.event_id}/bookings instead" in message


def test_an_export_at_the_cap_is_whole(api: Caller) -> None:
    group = GroupFactory(event_id=api.event_id).id
    ids = bookings(api, CAP, group_id=group)
    response = api.get(f"/event/{api.event_id}/groups", "include=bookings&format=ndjson")
    assert response.status_code == 200
    (line,) = response.get_data(as_text=True).splitlines()
    assert sorted(booking["id"] for booking in json.loads(line)["bookings"]) == ids


def test_an_export_past_the_cap_in_a_later_chunk_is_cut_not_shortened(
    api: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eventio.api import export

    monkeypatch.setattr(export, "CHUNK_ROWS", 1)
    first, second = (GroupFactory(event_id=api.event_id).id for _ in range(2))
    bookings(api, 1, group_id=first)
    bookings(api, CAP + 1, group_id=second)
    response = api.client.get(
        f"/api/v2/event/{api.event_id}/groups",
        query_string={"include": "bookings", "format": "ndjson", "sort": "id"},
        headers=api.headers,
        buffered=False,
    )
    assert response.status_code == 200
    chunks = response.response
    try:
        with pytest.raises(InvalidIncludeQuery):
            for _ in chunks:
                pass
    finally:
        response.close()
