"""The Laravel paginator envelope: page sizes, pages past the end, absolute links, stable order."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import insert

from eventio.db.extensions import db
from eventio.models import Booking, Ticket
from tests.api.conftest import Caller

STATUSES = ("confirmed", "provisional", "waiting_list")


def add_tickets(event_id: int, count: int) -> list[int]:
    """Many ticket rows in one statement; prices repeat so that sorts need the id tie-break."""
    db.session.execute(
        insert(Ticket),
        [
            {
                "event_id": event_id,
                "title": f"Ticket {n:04d}",
                "participant_type": "adult" if n % 2 else "child",
                "price": Decimal(n % 4),
                "seq": n,
            }
            for n in range(count)
        ],
    )
    db.session.commit()
    return list(
        db.session.scalars(db.select(Ticket.id).where(Ticket.event_id == event_id).order_by("id"))
    )


@pytest.fixture
def forty(api: Caller) -> list[int]:
    return add_tickets(api.event_id, 40)


def tickets(api: Caller) -> str:
    return f"/event/{api.event_id}/tickets"


def test_list_envelope_has_laravel_keys_and_pages_of_15_by_default(
    api: Caller, forty: list[int]
) -> None:
    body = api.ok(tickets(api))
    assert set(body) == {"data", "links", "meta"}
    assert set(body["links"]) == {"first", "last", "prev", "next"}
    assert set(body["meta"]) >= {
        "current_page",
        "from",
        "last_page",
        "path",
        "per_page",
        "to",
        "total",
    }
    assert [t["id"] for t in body["data"]] == forty[:15]
    meta = body["meta"]
    assert (meta["current_page"], meta["from"], meta["to"]) == (1, 1, 15)
    assert (meta["per_page"], meta["total"], meta["last_page"]) == (15, 40, 3)
    assert body["links"]["prev"] is None


def test_per_page_and_page_choose_the_slice(api: Caller, forty: list[int]) -> None:
    body = api.ok(tickets(api), {"per_page": 7, "page": 3})
    assert [t["id"] for t in body["data"]] == forty[14:21]
    meta = body["meta"]
    assert (meta["current_page"], meta["from"], meta["to"]) == (3, 15, 21)
    assert (meta["per_page"], meta["total"], meta["last_page"]) == (7, 40, 6)


def test_last_page_is_partial_and_has_no_next(api: Caller, forty: list[int]) -> None:
    body = api.ok(tickets(api), {"per_page": 15, "page": 3})
    assert [t["id"] for t in body["data"]] == forty[30:]
    assert (body["meta"]["from"], body["meta"]["to"]) == (31, 40)
    assert body["links"]["next"] is None
    assert body["links"]["prev"] is not None


def test_page_past_the_end_is_empty_with_null_from_and_to(api: Caller, forty: list[int]) -> None:
    body = api.ok(tickets(api), {"per_page": 10, "page": 99})
    assert body["data"] == []
    meta = body["meta"]
    assert meta["from"] is None and meta["to"] is None
    assert (meta["current_page"], meta["total"], meta["last_page"]) == (99, 40, 4)
    assert body["links"]["next"] is None


def test_empty_list_has_one_empty_page(api: Caller) -> None:
    body = api.ok(tickets(api))
    assert body["data"] == []
    meta = body["meta"]
    assert (meta["total"], meta["last_page"], meta["current_page"]) == (0, 1, 1)
    assert meta["from"] is None and meta["to"] is None
    assert body["links"]["next"] is None and body["links"]["prev"] is None


def test_per_page_above_1000_is_served_as_1000(api: Caller) -> None:
    ids = add_tickets(api.event_id, 1001)
    body = api.ok(tickets(api), {"per_page": 5000})
    assert body["meta"]["per_page"] == 1000
    assert len(body["data"]) == 1000
    assert [t["id"] for t in body["data"][-2:]] == ids[998:1000]
    assert (body["meta"]["last_page"], body["meta"]["to"]) == (2, 1000)
    second = api.ok(tickets(api), {"per_page": 1001, "page": 2})
    assert second["meta"]["per_page"] == 1000
    assert [t["id"] for t in second["data"]] == ids[1000:]


def test_per_page_of_exactly_1000_is_served_as_asked(api: Caller) -> None:
    add_tickets(api.event_id, 3)
    assert api.ok(tickets(api), {"per_page": 1000})["meta"]["per_page"] == 1000


def query_of(link: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(link).query)


def test_links_are_absolute_and_keep_every_other_parameter(api: Caller, forty: list[int]) -> None:
    query = {
        "filter[participant_type]": "adult",
        "sort": "-price",
        "include": "event",
        "per_page": "4",
        "page": "2",
    }
    body = api.ok(tickets(api), query)
    base = f"http://localhost/api/v2/event/{api.event_id}/tickets"
    assert body["meta"]["path"] == base
    assert body["meta"]["total"] == 20 and body["meta"]["last_page"] == 5
    expected_pages = {"first": "1", "last": "5", "prev": "1", "next": "3"}
    for name, page in expected_pages.items():
        link = body["links"][name]
        parts = urlsplit(link)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == base
        params = query_of(link)
        assert params.pop("page") == [page]
        assert params == {k: [v] for k, v in query.items() if k != "page"}


def test_following_next_links_walks_every_row_once_in_order(api: Caller, forty: list[int]) -> None:
    expected = api.ids(tickets(api), {"sort": "-price", "per_page": 100})
    seen: list[int] = []
    response = api.get(tickets(api), {"sort": "-price", "per_page": 6})
    while True:
        assert response.status_code == 200
        body: dict[str, Any] = response.get_json()
        seen += [t["id"] for t in body["data"]]
        link: str | None = body["links"]["next"]
        if link is None:
            break
        response = api.client.get(link, headers=api.headers)
    assert seen == expected
    assert len(seen) == len(set(seen)) == 40


@pytest.mark.parametrize("sort", ["status", "-status", "-created_at,status", "created_at"])
def test_pages_of_a_sorted_list_are_stable_across_boundaries(api: Caller, sort: str) -> None:
    db.session.execute(
        insert(Booking),
        [
            {
                "event_id": api.event_id,
                "booking_type": "participant" if n % 3 else "exhibitor",
                "booking_reference": f"PAGE-{n:03d}",
                "status": STATUSES[n % 3],
                "created_at": datetime(2026, 1, 1, 12, n % 2),
            }
            for n in range(23)
        ],
    )
    db.session.commit()
    path = f"/event/{api.event_id}/bookings"
    whole = api.data(path, {"sort": sort, "per_page": 100})
    paged: list[int] = []
    for page in range(1, 6):
        paged += api.ids(path, {"sort": sort, "per_page": 5, "page": page})
    assert paged == [b["id"] for b in whole]
    assert sorted(paged) == sorted(set(paged)) and len(paged) == 23
    # Rows of equal sort value come in id order.
    key = sort.split(",")[-1].lstrip("-")
    for before, after in pairwise(whole):
        if before[key] == after[key] and before["created_at"] == after["created_at"]:
            assert before["id"] < after["id"]
