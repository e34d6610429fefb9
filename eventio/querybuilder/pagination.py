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
    return {
        "data": data,
        "links": {
            "first": url(1),
            "last": url(last_page),
            "prev": url(current - 1) if current > 1 else None,
            "next": url(current + 1) if current < last_page else None,
        },
        "meta": {
            "current_page": current,
            "from": first_item,
            "last_page": last_page,
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
    """`{data, links, meta}` as Laravel's API resources render a cursor paginator."""
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
