"""Responses: the 200 body of each kind of view, and the contract's error answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from apispec import APISpec
from marshmallow import Schema

from eventio.api.export import MEDIA_TYPES
from eventio.openapi.examples import page_example, row_example, single_example
from eventio.openapi.introspect import ApiView
from eventio.openapi.schemas import (
    CursorLinksSchema,
    CursorMetaSchema,
    ErrorSchema,
    PageLinksSchema,
    PageMetaSchema,
    ValidationErrorSchema,
)
from eventio.querybuilder import QuerySpec
from eventio.querybuilder.includes import count_key

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer"},
    }
}


@dataclass(frozen=True)
class ErrorAnswer:
    """A non-200 answer, as a reusable response component."""

    name: str
    description: str
    schema: type[Schema] = ErrorSchema
    headers: Mapping[str, Any] = field(default_factory=dict)


ERRORS = {
    "401": ErrorAnswer(
        "Unauthenticated",
        "No token, or a malformed, unknown or expired one (`Unauthenticated.`); a token sent "
        "as `Bearer Bearer ...` gets a message saying to send it alone after `Bearer `.",
    ),
    "403": ErrorAnswer(
        "Forbidden",
        "The token lacks an ability, or the user a permission at the event; the message says.",
    ),
    "404": ErrorAnswer(
        "NotFound", "No such event or resource, a resource of another event, or no such route."
    ),
    "406": ErrorAnswer(
        "NotAcceptable",
        "The format asked for (`format=`, or an `Accept` header) is not one this endpoint "
        "serves; `errors.format` names the ones it does.",
        ValidationErrorSchema,
    ),
    "422": ErrorAnswer(
        "UnprocessableEntity",
        "A query parameter is invalid or not allowed; `errors` names it (`filter`, `sort`, ...).",
        ValidationErrorSchema,
    ),
    "429": ErrorAnswer(
        "TooManyRequests", "Too many requests (`Too Many Attempts.`).", headers=RETRY_AFTER
    ),
    "500": ErrorAnswer("ServerError", "An unexpected failure (`Server Error`)."),
    "503": ErrorAnswer(
        "ServiceUnavailable",
        "The database is unavailable, or stopped a statement that took too long.",
        headers=RETRY_AFTER,
    ),
}


def register_errors(spec: APISpec) -> None:
    for answer in ERRORS.values():
        response: dict[str, Any] = {
            "description": answer.description,
            "content": {"application/json": {"schema": answer.schema}},
        }
        if answer.headers:
            response["headers"] = dict(answer.headers)
        spec.components.response(answer.name, response)


def error_responses(view: ApiView) -> dict[str, Any]:
    """401, 406, 422, 429, 500 and 503 everywhere; 403 where something is required; 404 by
    id."""
    statuses = ["401", "406", "422", "429", "500", "503"]
    if view.abilities:
        statuses.append("403")
    if view.path_converters:
        statuses.append("404")
    return {
        status: {"$ref": f"#/components/responses/{ERRORS[status].name}"}
        for status in sorted(statuses)
    }


def item_schema(spec: QuerySpec) -> Any:
    """The resource's schema, plus the `<name>_count` integers its count includes may add."""
    counts = [name.removesuffix("Count") for name in spec.count_includes]
    if not counts:
        return spec.resource.schema
    extra = {count_key(name): {"type": "integer", "minimum": 0} for name in counts}
    return {"allOf": [spec.resource.schema, {"type": "object", "properties": extra}]}


def envelope(item: Any, links: type[Schema], meta: type[Schema]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["data", "links", "meta"],
        "properties": {"data": {"type": "array", "items": item}, "links": links, "meta": meta},
    }


def paginated_response(spec: QuerySpec, path: str, per_page: int) -> dict[str, Any]:
    """A page (or a cursor page) of rows as JSON, or every row streamed as CSV or NDJSON."""
    item = item_schema(spec)
    example = page_example(spec.resource.schema, path, per_page)
    page = {"title": "Page", **envelope(item, PageLinksSchema, PageMetaSchema)}
    cursor = {"title": "Cursor page", **envelope(item, CursorLinksSchema, CursorMetaSchema)}
    streamed = {media: {"schema": {"type": "string"}} for media in MEDIA_TYPES.values()}
    return {
        "description": f"A page of {spec.resource.name}; with `cursor`, a cursor page.",
        "content": {
            "application/json": {"schema": {"oneOf": [page, cursor]}, "example": example},
            **streamed,
        },
    }


def single_response(spec: QuerySpec) -> dict[str, Any]:
    body = {"type": "object", "required": ["data"], "properties": {"data": item_schema(spec)}}
    return {
        "description": f"One of the {spec.resource.name}.",
        "content": {
            "application/json": {"schema": body, "example": single_example(spec.resource.schema)}
        },
    }


def schema_response(schema: type[Schema], csv: bool = False) -> dict[str, Any]:
    """A body a view builds itself, documented by `schema`, with its fields' examples; with
    `csv`, also served as a CSV table (docs/csv.md)."""
    content: dict[str, Any] = {
        "application/json": {"schema": schema, "example": row_example(schema)}
    }
    if csv:
        content["text/csv"] = {"schema": {"type": "string"}}
    return {"description": "OK", "content": content}
