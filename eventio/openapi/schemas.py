"""Marshmallow schemas of the bodies around the resources: envelopes and errors."""

from __future__ import annotations

from marshmallow import Schema, fields


class ErrorSchema(Schema):
    """The contract's error body; `errors` comes only with a 422."""

    message = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class ValidationErrorSchema(Schema):
    """A 422: the message, and the messages by parameter (`filter`, `sort`, `page`, ...)."""

    message = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)


class PageLinksSchema(Schema):
    first = fields.Url(required=True)
    last = fields.Url(required=True)
    prev = fields.Url(required=True, allow_none=True)
    next = fields.Url(required=True, allow_none=True)


class PageLinkSchema(Schema):
    """One entry of `meta.links`, as Laravel's `linkCollection()` makes it.

    The list is "&laquo; Previous", the page numbers (with "..." entries where Laravel's
    window elides pages) and "Next &raquo;"; `url` is null for an ellipsis and for a
    previous or next page that does not exist, and `active` marks the current page.
    """

    url = fields.Url(required=True, allow_none=True)
    label = fields.String(required=True)
    active = fields.Boolean(required=True)


class PageMetaSchema(Schema):
    """Laravel's length-aware paginator; `from` and `to` are null past the last page."""

    current_page = fields.Integer(required=True)
    from_ = fields.Integer(required=True, allow_none=True, data_key="from")
    last_page = fields.Integer(required=True)
    links = fields.List(
        fields.Nested(PageLinkSchema),
        required=True,
        metadata={
            "description": "Laravel's page-link list: `&laquo; Previous`, the page numbers "
            "(from 14 pages on, cut by `...` entries as Laravel's `UrlWindow` cuts them), "
            "`Next &raquo;`; `url` is null where there is no such page."
        },
    )
    path = fields.Url(required=True)
    per_page = fields.Integer(required=True)
    to = fields.Integer(required=True, allow_none=True)
    total = fields.Integer(required=True)


class CursorLinksSchema(Schema):
    """A cursor page has no first or last page, only a previous and a next one."""

    first = fields.Url(required=True, allow_none=True)
    last = fields.Url(required=True, allow_none=True)
    prev = fields.Url(required=True, allow_none=True)
    next = fields.Url(required=True, allow_none=True)


class CursorMetaSchema(Schema):
    """Laravel's cursor paginator: no total, and no page-link list."""

    path = fields.Url(required=True)
    per_page = fields.Integer(required=True)
    next_cursor = fields.String(required=True, allow_none=True)
    prev_cursor = fields.String(required=True, allow_none=True)
