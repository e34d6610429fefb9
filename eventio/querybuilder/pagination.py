"""Laravel's length-aware paginator: a count, one page of rows, and its envelope."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection, Select, func
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class PageRequest:
    page: int
    per_page: int

    @classmethod
    def of(cls, page: int, requested: int | None, default: int, maximum: int) -> PageRequest:
        """A larger `per_page` than the maximum is served as the maximum."""
        return cls(page, min(requested or default, maximum))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def count_statement(statement: Select[Any]) -> Select[Any]:
    """`SELECT count(*)` over the same FROM and WHERE, without the ordering."""
    return statement.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)


def fetch_page(
    session: Session | Connection,
    statement: Select[Any],
    request: PageRequest,
    count: Callable[[Select[Any]], int] | None = None,
) -> tuple[list[Row[Any]], int]:
    """The page's rows and the total; a page past the end costs no second statement.

    `count` may answer the total another way (a cache) from the count statement.
    """
    counting = count_statement(statement)
    total = count(counting) if count else session.execute(counting).scalar_one()
    if request.offset >= total:
        return [], total
    rows = session.execute(statement.limit(request.per_page).offset(request.offset)).all()
    return list(rows), total


def page_urls(path: str, pairs: Sequence[tuple[str, str]]) -> Callable[[int], str]:
    """The URL of any page: the query (without `page`) encoded once, `page` last."""
    kept = urlencode([(k, v) for k, v in pairs if k != "page"])
    prefix = f"{path}?{kept}&page=" if kept else f"{path}?page="
    return lambda page: f"{prefix}{page}"


# Laravel's `pagination.previous` / `pagination.next` (lang/en/pagination.php).
PREVIOUS_LABEL = "&laquo; Previous"
NEXT_LABEL = "Next &raquo;"
# Laravel's `AbstractPaginator::$onEachSide`: pages shown either side of the current one.
ON_EACH_SIDE = 3


def page_window(current: int, last_page: int, on_each_side: int = ON_EACH_SIDE) -> list[range]:
    """The runs of page numbers Laravel's `UrlWindow` shows; an ellipsis goes between two runs.

    Fewer than `2 * on_each_side + 8` pages are all shown. Otherwise the first pages (or
    the first two), the pages around the current one and the last pages (or the last
    two), whichever of Laravel's three slider shapes fits where the current page is.
    """
    if last_page < on_each_side * 2 + 8:
        return [range(1, last_page + 1)]
    window = on_each_side + 4
    start, finish = range(1, 3), range(last_page - 1, last_page + 1)
    if current <= window:
        return [range(1, window + on_each_side + 1), finish]
    if current > last_page - window:
        return [start, range(last_page - window - on_each_side + 1, last_page + 1)]
    return [start, range(current - on_each_side, current + on_each_side + 1), finish]


def link_list(
    current: int, last_page: int, url: Callable[[int], str], prev: str | None, next_: str | None
) -> list[dict[str, Any]]:
    """`meta.links`: Laravel's `linkCollection()`, previous, the page window, next."""
    links: list[dict[str, Any]] = [{"url": prev, "label": PREVIOUS_LABEL, "active": False}]
    for index, pages in enumerate(page_window(current, last_page)):
        if index:
            links.append({"url": None, "label": "...", "active": False})
        links.extend(
            {"url": url(page), "label": str(page), "active": page == current} for page in pages
        )
    links.append({"url": next_, "label": NEXT_LABEL, "active": False})
    return links


def envelope(
    data: list[dict[str, Any]],
    total: int,
    request: PageRequest,
    path: str,
    pairs: Sequence[tuple[str, str]],
) -> dict[str, Any]:
    """`{data, links, meta}` as Laravel's API resources paginate; links keep the query."""
    last_page = max(math.ceil(total / request.per_page), 1)
    current = request.page
    first_item = request.offset + 1 if data else None
    url = page_urls(path, pairs)
    prev = url(current - 1) if current > 1 else None
    next_ = url(current + 1) if current < last_page else None
    return {
        "data": data,
        "links": {"first": url(1), "last": url(last_page), "prev": prev, "next": next_},
        "meta": {
            "current_page": current,
            "from": first_item,
            "last_page": last_page,
            "links": link_list(current, last_page, url, prev, next_),
            "path": path,
            "per_page": request.per_page,
            "to": request.offset + len(data) if data else None,
            "total": total,
        },
    }


def cursor_url(path: str, pairs: Sequence[tuple[str, str]], cursor: str | None) -> str | None:
    if cursor is None:
        return None
    kept = [(k, v) for k, v in pairs if k not in ("cursor", "page")]
    return f"{path}?{urlencode([*kept, ('cursor', cursor)])}"


def cursor_envelope(
    data: list[dict[str, Any]],
    next_cursor: str | None,
    prev_cursor: str | None,
    per_page: int,
    path: str,
    pairs: Sequence[tuple[str, str]],
) -> dict[str, Any]:
    """`{data, links, meta}` as Laravel's API resources render a cursor paginator.

    Laravel's cursor paginator has no page numbers, so its `meta` has no `links` list.
    """
    return {
        "data": data,
        "links": {
            "first": None,
            "last": None,
            "prev": cursor_url(path, pairs, prev_cursor),
            "next": cursor_url(path, pairs, next_cursor),
        },
        "meta": {
            "path": path,
            "per_page": per_page,
            "next_cursor": next_cursor,
            "prev_cursor": prev_cursor,
        },
    }
