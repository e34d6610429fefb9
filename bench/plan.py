"""The benchmarked requests: the same path and query on the API and on the floor."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from data import EventPick
from settings import DEEP_ROWS, LIST_INCLUDE, PAGE


@dataclass(frozen=True)
class Request:
    """One benchmarked request: the same path and query on the API and on the floor."""

    key: str
    label: str
    path: str

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}{self.path}"


def bookings_path(event: int, **extra: str) -> str:
    query = {
        "include": LIST_INCLUDE,
        "filter[status]": "confirmed",
        "sort": "-created_at",
        "per_page": str(PAGE),
        **extra,
    }
    return f"/api/v2/event/{event}/bookings?{urlencode(query)}"


USER = Request("user", "/user (baseline)", "/api/v2/user")


def build_requests(medium: EventPick, flagship: EventPick, deep_cursor: str) -> list[Request]:
    requests_: list[Request] = [USER]
    for name, pick in (("medium", medium), ("flagship", flagship)):
        requests_.append(
            Request(f"{name}-page", f"{name}: bookings page 1 + includes", bookings_path(pick.id))
        )
    flag = flagship.id
    deep_page = str(DEEP_ROWS // PAGE + 1)
    requests_ += [
        Request(
            "flagship-offset-deep",
            "flagship: page 4001 by offset",
            bookings_path(flag, page=deep_page),
        ),
        Request(
            "flagship-cursor-first", "flagship: first cursor page", bookings_path(flag, cursor="")
        ),
        Request(
            "flagship-cursor-deep",
            "flagship: cursor 400k deep",
            bookings_path(flag, cursor=deep_cursor),
        ),
    ]
    for name, pick in (("medium", medium), ("flagship", flagship)):
        stats = f"/api/v2/event/{pick.id}/stats"
        requests_ += [
            Request(f"{name}-stats-warm", f"{name}: stats (cached)", stats),
            Request(f"{name}-stats-nocache", f"{name}: stats no-cache", f"{stats}?no-cache"),
        ]
    for name, pick in (("medium", medium), ("flagship", flagship)):
        one = f"/api/v2/event/{pick.id}/bookings/{pick.booking_id}?include=tickets,group.customer"
        requests_.append(Request(f"{name}-booking", f"{name}: one booking + includes", one))
    for name, pick in (("medium", medium), ("flagship", flagship)):
        customers = (
            f"/api/v2/event/{pick.id}/customers?{urlencode({'filter[email]': pick.fragment})}"
        )
        requests_.append(
            Request(f"{name}-customers", f"{name}: customers filter[email]", customers)
        )
    return requests_
