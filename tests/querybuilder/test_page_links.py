"""`meta.links`: Laravel's page-link list, its "..." windows, labels and null URLs."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from eventio.querybuilder import PageRequest, envelope
from eventio.querybuilder.pagination import cursor_envelope, page_urls

PATH = "http://api.test/event/1/bookings"
PREVIOUS, NEXT = "&laquo; Previous", "Next &raquo;"


def page_links(current: int, last_page: int, pairs: list[tuple[str, str]] | None = None) -> Any:
    """`meta.links` of page `current` when there are `last_page` pages of 10 rows."""
    request = PageRequest(current, 10)
    data = [{"id": 1}] if current <= last_page else []
    return envelope(data, last_page * 10, request, PATH, pairs or [])["meta"]["links"]


def labels(links: list[dict[str, Any]]) -> list[str]:
    return [link["label"] for link in links]


def pages(*numbers: int | str) -> list[str]:
    """Labels as Laravel writes them: previous, the numbers (and "..."), next."""
    return [PREVIOUS, *(str(n) for n in numbers), NEXT]


def test_one_page_of_one_has_both_arrows_disabled_and_page_1_active() -> None:
    assert page_links(1, 1) == [
        {"url": None, "label": PREVIOUS, "active": False},
        {"url": f"{PATH}?page=1", "label": "1", "active": True},
        {"url": None, "label": NEXT, "active": False},
    ]


def test_an_empty_list_still_has_its_one_page() -> None:
    body = envelope([], 0, PageRequest(1, 15), PATH, [])
    assert labels(body["meta"]["links"]) == pages(1)
    assert body["meta"]["links"][1]["active"] is True


def test_first_page_of_many_links_forward_only() -> None:
    links = page_links(1, 5)
    assert labels(links) == pages(1, 2, 3, 4, 5)
    assert [link["active"] for link in links] == [False, True, False, False, False, False, False]
    assert links[0]["url"] is None
    assert links[-1]["url"] == f"{PATH}?page=2"


def test_middle_page_of_many_links_both_ways() -> None:
    links = page_links(3, 5)
    assert [link["label"] for link in links if link["active"]] == ["3"]
    assert (links[0]["url"], links[-1]["url"]) == (f"{PATH}?page=2", f"{PATH}?page=4")
    assert [link["url"] for link in links[1:-1]] == [f"{PATH}?page={n}" for n in range(1, 6)]


def test_last_page_of_many_has_next_disabled() -> None:
    links = page_links(5, 5)
    assert [link["label"] for link in links if link["active"]] == ["5"]
    assert (links[0]["url"], links[-1]["url"]) == (f"{PATH}?page=4", None)


def test_thirteen_pages_are_all_listed() -> None:
    # Laravel lists every page while there are fewer than 2 * onEachSide(3) + 8 = 14.
    assert labels(page_links(7, 13)) == pages(*range(1, 14))


@pytest.mark.parametrize(
    ("current", "last_page", "expected"),
    [
        # Close to the beginning (page <= 7): pages 1 to 10, "...", the last two.
        (1, 14, pages(*range(1, 11), "...", 13, 14)),
        (7, 14, pages(*range(1, 11), "...", 13, 14)),
        (7, 500, pages(*range(1, 11), "...", 499, 500)),
        # Close to the end (page > last - 7): the first two, "...", the last ten.
        (8, 14, pages(1, 2, "...", *range(5, 15))),
        (14, 20, pages(1, 2, "...", *range(11, 21))),
        (20, 20, pages(1, 2, "...", *range(11, 21))),
        # In between: the first two, "...", three either side, "...", the last two.
        (8, 20, pages(1, 2, "...", *range(5, 12), "...", 19, 20)),
        (13, 20, pages(1, 2, "...", *range(10, 17), "...", 19, 20)),
        (250, 500, pages(1, 2, "...", *range(247, 254), "...", 499, 500)),
    ],
)
def test_a_long_range_is_elided_as_laravels_url_window_does(
    current: int, last_page: int, expected: list[str]
) -> None:
    links = page_links(current, last_page)
    assert labels(links) == expected
    assert [link["label"] for link in links if link["active"]] == [str(current)]


def test_an_ellipsis_has_no_url_and_is_never_active() -> None:
    links = page_links(250, 500)
    ellipses = [link for link in links if link["label"] == "..."]
    assert ellipses == [{"url": None, "label": "...", "active": False}] * 2


def test_a_page_past_the_end_shows_the_window_of_the_end_with_nothing_active() -> None:
    links = page_links(25, 20)
    assert labels(links) == pages(1, 2, "...", *range(11, 21))
    assert not any(link["active"] for link in links)
    assert (links[0]["url"], links[-1]["url"]) == (f"{PATH}?page=24", None)
    assert labels(page_links(9, 3)) == pages(1, 2, 3)


def test_every_page_url_keeps_the_query_as_the_other_links_do() -> None:
    pairs = [
        ("filter[status]", "confirmed,provisional"),
        ("filter[reference]", "50% a_b&c"),
        ("page", "2"),
        ("sort", "-created_at"),
        ("per_page", "10"),
    ]
    body = envelope([{"id": 1}] * 10, 300, PageRequest(15, 10), PATH, pairs)
    links = body["meta"]["links"]
    url_of = page_urls(PATH, pairs)
    others = [pair for pair in pairs if pair[0] != "page"]

    assert links[0]["url"] == body["links"]["prev"] == url_of(14)
    assert links[-1]["url"] == body["links"]["next"] == url_of(16)
    numbered = [link for link in links[1:-1] if link["label"] != "..."]
    assert [link["url"] for link in numbered] == [url_of(int(link["label"])) for link in numbered]
    assert numbered[0]["url"] == body["links"]["first"]
    assert numbered[-1]["url"] == body["links"]["last"]
    for link in numbered:
        parts = urlsplit(link["url"])
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == PATH
        assert parse_qsl(parts.query) == [*others, ("page", link["label"])]


def test_meta_keys_are_in_laravels_order() -> None:
    body = envelope([{"id": 1}], 1, PageRequest(1, 15), PATH, [])
    assert list(body["meta"]) == [
        "current_page",
        "from",
        "last_page",
        "links",
        "path",
        "per_page",
        "to",
        "total",
    ]


def test_two_envelopes_share_no_link_objects() -> None:
    first = page_links(250, 500)
    first[3]["url"] = "changed"
    assert page_links(250, 500)[3] == {"url": None, "label": "...", "active": False}


def test_a_cursor_page_has_no_page_link_list() -> None:
    # Laravel's CursorPaginator::toArray() has no `links`, so its resource meta has none.
    body = cursor_envelope([{"id": 1}], "next", "prev", 10, PATH, [("cursor", "x")])
    assert list(body["meta"]) == ["path", "per_page", "next_cursor", "prev_cursor"]
