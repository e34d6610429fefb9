"""`meta.links` over HTTP: Laravel's page-link list on every page list, none on cursor pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.api.conftest import Caller
from tests.api.test_pagination import add_tickets, tickets

PREVIOUS, NEXT = "&laquo; Previous", "Next &raquo;"


@pytest.fixture
def forty(api: Caller) -> list[int]:
    return add_tickets(api.event_id, 40)


def labels(body: dict[str, Any]) -> list[str]:
    return [link["label"] for link in body["meta"]["links"]]


def follow(api: Caller, link: str) -> dict[str, Any]:
    parts = urlsplit(link)
    assert parts.path.startswith("/api/v2")
    return api.ok(parts.path.removeprefix("/api/v2"), parts.query)


def test_one_page_of_one(api: Caller) -> None:
    add_tickets(api.event_id, 3)
    body = api.ok(tickets(api))
    assert body["meta"]["links"] == [
        {"url": None, "label": PREVIOUS, "active": False},
        {"url": body["links"]["first"], "label": "1", "active": True},
        {"url": None, "label": NEXT, "active": False},
    ]


def test_first_middle_and_last_page_keep_per_page_and_filters_as_links_next_does(
    api: Caller, forty: list[int]
) -> None:
    query = {"filter[participant_type]": "adult", "sort": "-price", "per_page": "4"}
    for page, prev, next_ in [(1, None, 2), (3, 2, 4), (5, 4, None)]:
        body = api.ok(tickets(api), {**query, "page": str(page)})
        links = body["meta"]["links"]
        assert labels(body) == [PREVIOUS, "1", "2", "3", "4", "5", NEXT]
        assert [link["label"] for link in links if link["active"]] == [str(page)]
        assert links[0]["url"] == body["links"]["prev"]
        assert links[-1]["url"] == body["links"]["next"]
        assert (links[1]["url"], links[-2]["url"]) == (
            body["links"]["first"],
            body["links"]["last"],
        )
        for link, number in [(links[0], prev), (links[-1], next_)]:
            if number is None:
                assert link["url"] is None
            else:
                assert parse_qsl(urlsplit(link["url"]).query) == [
                    *query.items(),
                    ("page", str(number)),
                ]
        for link in links[1:-1]:
            assert parse_qsl(urlsplit(link["url"]).query) == [
                *query.items(),
                ("page", link["label"]),
            ]


def test_a_long_range_is_elided_and_every_page_link_serves_its_page(
    api: Caller, forty: list[int]
) -> None:
    body = api.ok(tickets(api), {"per_page": 2, "page": 10})
    assert body["meta"]["last_page"] == 20
    assert labels(body) == [
        PREVIOUS,
        "1",
        "2",
        "...",
        *map(str, range(7, 14)),
        "...",
        "19",
        "20",
        NEXT,
    ]
    assert [link for link in body["meta"]["links"] if link["label"] == "..."] == [
        {"url": None, "label": "...", "active": False}
    ] * 2
    eleven = next(link for link in body["meta"]["links"] if link["label"] == "11")
    page = follow(api, eleven["url"])
    assert page["meta"]["current_page"] == 11
    assert [row["id"] for row in page["data"]] == forty[20:22]


def test_a_page_past_the_end_lists_the_pages_that_exist(api: Caller, forty: list[int]) -> None:
    body = api.ok(tickets(api), {"per_page": 15, "page": 9})
    assert labels(body) == [PREVIOUS, "1", "2", "3", NEXT]
    assert not any(link["active"] for link in body["meta"]["links"])
    assert body["meta"]["links"][0]["url"] == body["links"]["prev"]


def test_cursor_pages_have_no_page_link_list(api: Caller, forty: list[int]) -> None:
    body = api.ok(tickets(api), {"cursor": "", "per_page": 10})
    assert "links" not in body["meta"]
    assert body["links"]["next"] is not None
    second = follow(api, body["links"]["next"])
    assert "links" not in second["meta"]
