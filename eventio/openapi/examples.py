"""Whole-response examples, so that Swagger UI shows a real answer and not one it makes up.

Left to itself, Swagger UI builds an example from the schema: `"string"` for text, a random
number matching money's pattern (`"-93824874884715639796935366690549790505.51"`), and every
relation nested in every other until a cycle, which it shows as `"booking": "string"`. These
examples take each field's `metadata["example"]` (the contract's example values, declared in
eventio/schemas) and show a row as a request without `include` answers it.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, fields

BASE_URL = "https://eventio.example.com"
TEMPLATE = re.compile(r"\{[^{}]+\}")


def row_example(schema: type[Schema] | Schema) -> dict[str, Any]:
    """A row of `schema` with each field's example; relations (filled by `include`) left out.

    A field without an example raises KeyError: tests/openapi builds every example, so a new
    field cannot ship with Swagger UI's `"string"`.
    """
    instance = schema() if isinstance(schema, type) else schema
    row: dict[str, Any] = {}
    for name, field in instance.fields.items():
        if field.metadata.get("include"):
            continue
        key = field.data_key or name
        if isinstance(field, fields.Nested):
            row[key] = row_example(field.schema)
        elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
            row[key] = [row_example(field.inner.schema)]
        else:
            try:
                row[key] = field.metadata["example"]
            except KeyError:
                raise KeyError(f"{type(instance).__name__}.{name} has no example") from None
    return row


def example_url(path: str) -> str:
    """`/api/v2/event/{eventId}/bookings` -> `https://eventio.example.com/api/v2/event/1/...`."""
    return BASE_URL + TEMPLATE.sub("1", path)


def page_example(schema: type[Schema], path: str, per_page: int) -> dict[str, Any]:
    """The first and only page of one row, in Laravel's paginator envelope."""
    url = example_url(path)
    first = f"{url}?page=1"
    return {
        "data": [row_example(schema)],
        "links": {"first": first, "last": first, "prev": None, "next": None},
        "meta": {
            "current_page": 1,
            "from": 1,
            "last_page": 1,
            "links": [
                {"url": None, "label": "&laquo; Previous", "active": False},
                {"url": first, "label": "1", "active": True},
                {"url": None, "label": "Next &raquo;", "active": False},
            ],
            "path": url,
            "per_page": per_page,
            "to": 1,
            "total": 1,
        },
    }


def single_example(schema: type[Schema]) -> dict[str, Any]:
    return {"data": row_example(schema)}
