"""Ticket sales statistics of an event, as JSON or CSV, cached per event, filter set and
format."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from flask import Response, current_app
from marshmallow import fields, validate

from eventio.api import formats
from eventio.api.blueprint import bp
from eventio.api.declaration import declared
from eventio.api.export import BOM
from eventio.api.flags import flag
from eventio.auth.permissions import EventAccess
from eventio.cache.responses import cached_response
from eventio.db.reads import reads
from eventio.schemas.resources import StatsSchema
from eventio.stats.report import StatsFilters, compute
from eventio.stats.table import report_csv

STATS_ARGS = {
    "ticketId": fields.Integer(validate=validate.Range(min=1, max=2**63 - 1)),
    "ticket": fields.String(validate=validate.Length(max=255)),
    "participant_type": fields.String(validate=validate.Length(max=255)),
}


def filters_of(args: Mapping[str, Any]) -> StatsFilters:
    """The report's filters from the parsed arguments (an empty string filters nothing)."""
    return StatsFilters(
        ticket_id=args.get("ticketId"),
        ticket=args.get("ticket") or None,
        participant_type=args.get("participant_type") or None,
    )


def cache_key(args: Mapping[str, Any], event_id: int, representation: str) -> str:
    """Per event, filter set and what the body holds."""
    return filters_of(args).cache_key(event_id, cached_as(representation))


def cached_as(representation: str) -> str:
    """What a cached body holds: JSON, or CSV with or without neutralised formulas."""
    if representation == "csv" and not current_app.config["CSV_NEUTRALISE_FORMULAS"]:
        return "csv-verbatim"
    return representation


def negotiated() -> str:
    """JSON, or CSV when `format=csv` or the `Accept` header prefers it (else a 406)."""
    return formats.negotiate(formats.STATS_FORMATS)


def answer(body: bytes, representation: str, event_id: int) -> Response:
    """The cached or computed report, in the format the request negotiated."""
    if representation == "json":
        return Response(body, mimetype="application/json")
    if flag("bom"):
        body = BOM.encode() + body
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="event-{event_id}-stats.csv"'
    return response


@bp.get("/event/<id:event_id>/stats")
@declared(
    areas=("event",),
    notes={
        "ticketId": "Only the row of this ticket type (its id).",
        "ticket": "Only ticket types whose title contains this text, ignoring case.",
        "participant_type": "Only ticket types of this participant type (exact), e.g. `adult`.",
    },
    flags={"no-cache": "Recompute the statistics now and refresh the cache."},
    response_schema=StatsSchema,
    formats=("json", "csv"),
)
@cached_response(
    arguments=STATS_ARGS,
    representation=negotiated,
    key=cache_key,
    respond=answer,
    ttl_setting="STATS_CACHE_TTL",
    refresh=lambda: flag("no-cache"),
)
def event_stats(access: EventAccess, args: dict[str, Any], representation: str) -> bytes:
    """Report confirmed and provisional tickets sold per ticket type; `no-cache` recomputes."""
    computed = compute(reads(), access.event_id, access.event_name, filters_of(args))
    if representation == "json":
        return orjson.dumps(computed)
    return report_csv(computed, neutralise=current_app.config["CSV_NEUTRALISE_FORMULAS"])
