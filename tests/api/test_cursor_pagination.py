"""Keyset pages over HTTP: `cursor=` walks, prev/next, forged and stale cursors, the envelope."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import pytest

from eventio.db.extensions import db
from tests.api.conftest import Caller, assert_error
from tests.conftest import StatementCounter
from tests.factories import (
    BookingFactory,
    CustomerFactory,
    EventFactory,
    EventUserFactory,
    GroupFactory,
)

STATUSES = ("provisional", "confirmed", "waiting_list")
BOOKING_SORTS = ("id", "created_at", "status", "booking_reference", "updated_at")
PER_PAGE = 7


def bookings_path(api: Caller) -> str:
    return f"/event/{api.event_id}/bookings"


def timestamp(index: int) -> datetime | None:
    """Every fifth row NULL, the others in few distinct values so ties cross page boundaries."""
    if index % 5 == 0:
        return None
    return datetime(2026, 1, 1 + index % 4, 9, 0, 0)


@pytest.fixture
def forty_bookings(api: Caller) -> list[int]:
    """40 active bookings with ties and NULLs in every sortable column, plus rows never listed."""
    rows = [
        BookingFactory.build(
            event_id=api.event_id,
            status=STATUSES[index % 3],
            booking_reference=f"REF-{(index * 7) % 40:03d}",
            created_at=timestamp(index),
            updated_at=timestamp(index + 2),
        )
        for index in range(40)
    ]
    # Never listed: a cancelled booking and another event's booking.
    rows.append(BookingFactory.build(event_id=api.event_id, status="cancelled"))
    rows.append(BookingFactory.build(event_id=EventFactory().id))
    db.session.add_all(rows)
    db.session.commit()
    return [row.id for row in rows[:40]]


def walk(api: Caller, path: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Every cursor page, from `cursor=` (empty) to the page whose `next_cursor` is null."""
    pages = []
    cursor = ""
    for _ in range(100):
        body = api.ok(path, {**query, "cursor": cursor, "per_page": PER_PAGE})
        pages.append(body)
        if body["meta"]["next_cursor"] is None:
            return pages
        cursor = body["meta"]["next_cursor"]
    raise AssertionError("the cursor walk never ended")


def page_ids(body: dict[str, Any]) -> list[int]:
    return [item["id"] for item in body["data"]]


def walked_ids(pages: list[dict[str, Any]]) -> list[int]:
    return [id_ for page in pages for id_ in page_ids(page)]


def offset_ids(api: Caller, path: str, query: dict[str, Any]) -> list[int]:
    return api.ids(path, {**query, "per_page": 1000})


@pytest.mark.parametrize("sort", [*BOOKING_SORTS, *(f"-{name}" for name in BOOKING_SORTS)])
def test_cursor_walk_yields_the_offset_order_for_every_booking_sort(
    api: Caller, forty_bookings: list[int], sort: str
) -> None:
    pages = walk(api, bookings_path(api), {"sort": sort})
    expected = offset_ids(api, bookings_path(api), {"sort": sort})
    assert sorted(expected) == sorted(forty_bookings)
    assert walked_ids(pages) == expected
    assert [len(page["data"]) for page in pages] == [7, 7, 7, 7, 7, 5]


def test_cursor_walk_matches_offset_pages_for_a_two_key_sort(
    api: Caller, forty_bookings: list[int]
) -> None:
    query = {"sort": "status,-created_at"}
    pages = walk(api, bookings_path(api), query)
    expected = offset_ids(api, bookings_path(api), query)
    assert walked_ids(pages) == expected
    for number, page in enumerate(pages, start=1):
        offset_page = api.ids(bookings_path(api), {**query, "per_page": PER_PAGE, "page": number})
        assert page_ids(page) == offset_page


def test_following_links_next_walks_the_same_rows(api: Caller, forty_bookings: list[int]) -> None:
    body = api.ok(bookings_path(api), {"sort": "-created_at", "cursor": "", "per_page": PER_PAGE})
    seen = page_ids(body)
    while body["links"]["next"] is not None:
        response = api.client.get(body["links"]["next"], headers=api.headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        seen += page_ids(body)
    assert seen == offset_ids(api, bookings_path(api), {"sort": "-created_at"})


@pytest.mark.parametrize("sort", ["id", "-created_at", "updated_at", "-status"])
def test_prev_cursor_of_page_three_gives_page_two(
    api: Caller, forty_bookings: list[int], sort: str
) -> None:
    pages = walk(api, bookings_path(api), {"sort": sort})
    back = api.ok(
        bookings_path(api),
        {"sort": sort, "cursor": pages[2]["meta"]["prev_cursor"], "per_page": PER_PAGE},
    )
    assert page_ids(back) == page_ids(pages[1])
    # Forward again from the page reached backwards: page three once more.
    again = api.ok(
        bookings_path(api),
        {"sort": sort, "cursor": back["meta"]["next_cursor"], "per_page": PER_PAGE},
    )
    assert page_ids(again) == page_ids(pages[2])
    # And back twice reaches the first page, which has no prev.
    first = api.ok(
        bookings_path(api),
        {"sort": sort, "cursor": back["meta"]["prev_cursor"], "per_page": PER_PAGE},
    )
    assert page_ids(first) == page_ids(pages[0])
    assert first["meta"]["prev_cursor"] is None
    assert first["links"]["prev"] is None


def test_first_page_has_no_prev_and_last_page_has_no_next(
    api: Caller, forty_bookings: list[int]
) -> None:
    pages = walk(api, bookings_path(api), {})
    first, last = pages[0], pages[-1]
    assert first["meta"]["prev_cursor"] is None and first["links"]["prev"] is None
    assert first["meta"]["next_cursor"] and first["links"]["next"]
    assert last["meta"]["next_cursor"] is None and last["links"]["next"] is None
    assert last["meta"]["prev_cursor"] and last["links"]["prev"]
    for middle in pages[1:-1]:
        assert middle["meta"]["prev_cursor"] and middle["meta"]["next_cursor"]


def test_cursor_envelope_is_laravels_cursor_paginator_without_a_total(
    api: Caller, forty_bookings: list[int]
) -> None:
    body = api.ok(bookings_path(api), {"cursor": "", "per_page": PER_PAGE})
    assert set(body) == {"data", "links", "meta"}
    assert set(body["links"]) == {"first", "last", "prev", "next"}
    assert body["links"]["first"] is None and body["links"]["last"] is None
    assert set(body["meta"]) == {"path", "per_page", "next_cursor", "prev_cursor"}
    assert body["meta"]["per_page"] == PER_PAGE
    assert body["meta"]["path"] == f"http://localhost/api/v2{bookings_path(api)}"
    assert f"cursor={body['meta']['next_cursor']}" in body["links"]["next"]
    assert "per_page=7" in body["links"]["next"]


def test_empty_list_gives_an_empty_cursor_page(api: Caller) -> None:
    body = api.ok(bookings_path(api), {"cursor": ""})
    assert body["data"] == []
    assert body["meta"]["next_cursor"] is None and body["meta"]["prev_cursor"] is None


def test_rows_inserted_during_a_pull_neither_repeat_nor_push_out_old_rows(
    api: Caller, forty_bookings: list[int]
) -> None:
    query = {"sort": "created_at", "per_page": PER_PAGE}
    first = api.ok(bookings_path(api), {**query, "cursor": ""})
    seen = page_ids(first)
    cursor = first["meta"]["next_cursor"]
    inserted = []
    while cursor is not None:
        # Before the current position (earliest timestamp) and after it (latest, and NULL).
        for created in (datetime(2025, 1, 1), datetime(2027, 1, 1), None):
            inserted.append(
                BookingFactory(event_id=api.event_id, status="confirmed", created_at=created).id
            )
        body = api.ok(bookings_path(api), {**query, "cursor": cursor})
        seen += page_ids(body)
        cursor = body["meta"]["next_cursor"]
    assert len(seen) == len(set(seen)), "a row came twice"
    assert set(forty_bookings) <= set(seen), "an old row was skipped"
    assert set(seen) <= set(forty_bookings) | set(inserted)


def test_rows_inserted_during_an_id_pull_come_once_at_the_end(
    api: Caller, forty_bookings: list[int]
) -> None:
    query = {"sort": "-id", "per_page": PER_PAGE}
    body = api.ok(bookings_path(api), {**query, "cursor": ""})
    seen = page_ids(body)
    while body["meta"]["next_cursor"] is not None:
        BookingFactory(event_id=api.event_id, status="confirmed")
        body = api.ok(bookings_path(api), {**query, "cursor": body["meta"]["next_cursor"]})
        seen += page_ids(body)
    # Descending by id, new (larger) ids sort before the position: none shows up.
    assert seen == sorted(forty_bookings, reverse=True)


def real_cursor(api: Caller, sort: str = "id") -> str:
    body = api.ok(bookings_path(api), {"sort": sort, "cursor": "", "per_page": PER_PAGE})
    cursor = body["meta"]["next_cursor"]
    assert isinstance(cursor, str)
    return cursor


def one_character_changed(text: str) -> str:
    middle = len(text) // 2
    replacement = "A" if text[middle] != "A" else "B"
    return text[:middle] + replacement + text[middle + 1 :]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param(lambda cursor: "not-a-cursor", id="random text"),
        pytest.param(lambda cursor: "!!!***", id="not base64"),
        pytest.param(one_character_changed, id="one character changed"),
        pytest.param(lambda cursor: cursor[:-3], id="truncated"),
        pytest.param(
            lambda cursor: b64(b'{"s":"id","v":[3],"b":false}'), id="base64 of arbitrary json"
        ),
        pytest.param(
            lambda cursor: b64(b"x" * 12 + b'{"s":"id","v":[3],"b":false}'),
            id="json behind a made-up signature",
        ),
        pytest.param(lambda cursor: b64(b"\x00" * 40), id="base64 of zero bytes"),
    ],
)
def test_forged_cursor_is_a_422_keyed_cursor(
    api: Caller, forty_bookings: list[int], forged: Any
) -> None:
    cursor = forged(real_cursor(api))
    response = api.get(bookings_path(api), {"sort": "id", "cursor": cursor})
    body = assert_error(response, 422)
    assert list(body["errors"]) == ["cursor"]


@pytest.mark.parametrize("other_sort", ["-id", "created_at", "status,id", "-updated_at"])
def test_cursor_reused_with_another_sort_is_a_stale_422(
    api: Caller, forty_bookings: list[int], other_sort: str
) -> None:
    cursor = real_cursor(api, "id")
    response = api.get(bookings_path(api), {"sort": other_sort, "cursor": cursor})
    body = assert_error(response, 422)
    assert "another sort" in body["errors"]["cursor"][0]


def test_cursor_issued_with_no_sort_continues_with_sort_id(
    api: Caller, forty_bookings: list[int]
) -> None:
    body = api.ok(bookings_path(api), {"cursor": "", "per_page": PER_PAGE})
    after = api.ok(
        bookings_path(api),
        {"sort": "id", "cursor": body["meta"]["next_cursor"], "per_page": PER_PAGE},
    )
    assert page_ids(after) == sorted(forty_bookings)[PER_PAGE : 2 * PER_PAGE]


def test_filters_stay_applied_across_cursor_pages(api: Caller, forty_bookings: list[int]) -> None:
    query = {"filter[status]": "confirmed,waiting_list", "sort": "-booking_reference"}
    pages = walk(api, bookings_path(api), query)
    assert len(pages) > 2
    for page in pages[1:]:
        assert "filter%5Bstatus%5D=confirmed%2Cwaiting_list" in (page["links"]["prev"] or "")
    statuses = {item["status"] for page in pages for item in page["data"]}
    assert statuses == {"confirmed", "waiting_list"}
    assert walked_ids(pages) == offset_ids(api, bookings_path(api), query)


def test_cursor_pages_keep_their_includes(api: Caller, forty_bookings: list[int]) -> None:
    group = GroupFactory(event_id=api.event_id)
    BookingFactory(event_id=api.event_id, group_id=group.id, status="confirmed")
    pages = walk(api, bookings_path(api), {"include": "group"})
    items = [item for page in pages for item in page["data"]]
    assert all("group" in item for item in items)
    assert [item["group"]["id"] for item in items if item["group"]] == [group.id]


def test_cursor_walks_the_customers_list(api: Caller) -> None:
    for index in range(17):
        customer = CustomerFactory(last_name=f"Name{index % 4}")
        GroupFactory(event_id=api.event_id, customer_id=customer.id)
    CustomerFactory()  # no group at the event: never listed
    path = f"/event/{api.event_id}/customers"
    for sort in ("-last_name", "email", "id"):
        pages = walk(api, path, {"sort": sort})
        assert walked_ids(pages) == offset_ids(api, path, {"sort": sort})
        assert len(walked_ids(pages)) == 17


def test_cursor_walks_the_event_users_list_on_a_boolean_sort(api: Caller) -> None:
    for index in range(15):
        EventUserFactory(event_id=api.event_id, active=index % 3 != 0)
    path = f"/event/{api.event_id}/users"
    for sort in ("active", "-active", "-user_id"):
        pages = walk(api, path, {"sort": sort})
        assert walked_ids(pages) == offset_ids(api, path, {"sort": sort})
        assert len(walked_ids(pages)) == 16  # and the manager's own assignment


def test_cursor_page_runs_no_count_statement(
    api: Caller, forty_bookings: list[int], count_statements: StatementCounter
) -> None:
    cursor = real_cursor(api, "-created_at")
    count_statements.statements.clear()
    api.ok(bookings_path(api), {"sort": "-created_at", "cursor": cursor, "per_page": PER_PAGE})
    assert count_statements.count > 0
    assert not [s for s in count_statements.statements if "count(" in s.lower()]
    # The detector does see the count of an offset page.
    count_statements.statements.clear()
    api.ok(bookings_path(api), {"sort": "-created_at", "per_page": PER_PAGE})
    assert [s for s in count_statements.statements if "count(" in s.lower()]
