"""Ticket sales statistics of an event, as JSON or CSV, cached per event, filter set and
format."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response, current_app, g, request
from marshmallow import fields, validate
from webargs.flaskparser import use_args

from eventio.api import formats
from eventio.api.blueprint import bp
from eventio.api.declaration import declare
from eventio.api.export import BOM
from eventio.api.flags import flag
from eventio.auth.guard import for_event
from eventio.auth.permissions import EventAccess
from eventio.cache.prefetch import answered_if_prefetched, prefetch
from eventio.cache.store import computed_once
from eventio.db.reads import reads
from eventio.http.errors import ApiError
from eventio.http.state import state
from eventio.schemas.resources import StatsSchema
from eventio.stats.report import StatsFilters, compute
from eventio.stats.table import report_csv

STATS_ARGS = {
    "ticketId": fields.Integer(validate=validate.Range(min=1, max=2**63 - 1)),
    "ticket": fields.String(validate=validate.Length(max=255)),
    "participant_type": fields.String(validate=validate.Length(max=255)),
}


def raw_cache_key() -> str | None:
    """The cache key `event_stats` will read, from the raw query (see eventio.cache.prefetch);
    None when the view will not read the cache or when the query needs webargs to say."""
    if flag("no-cache") or current_app.config["STATS_CACHE_TTL"] <= 0:
        return None
    try:
        representation = formats.negotiate(formats.STATS_FORMATS)
    except ApiError:  # answered by the view, once the caller's access is checked
        return None
    # The first of each (as webargs reads them); `getlist`, because `get` raises and
    # catches an exception for every parameter that is absent.
    ticket_id, ticket, participant_type = (
        next(iter(request.args.getlist(name)), None) for name in STATS_ARGS
    )
    if ticket_id is not None and not (ticket_id.isascii() and ticket_id.isdigit()):
        return None
    filters = StatsFilters(
        ticket_id=int(ticket_id) if ticket_id is not None else None,
        ticket=ticket or None,
        participant_type=participant_type or None,
    )
    return filters.cache_key((request.view_args or {})["event_id"], cached_as(representation))


def cached_as(representation: str) -> str:
    """What a cached body holds: JSON, or CSV with or without neutralised formulas."""
    if representation == "csv" and not current_app.config["CSV_NEUTRALISE_FORMULAS"]:
        return "csv-verbatim"
    return representation


def answer(body: bytes, representation: str | None = None) -> Response:
    """The cached or computed report, in the format the request negotiated (negotiated
    here when the caller has not: a warm report answered before the view runs)."""
    if representation is None:
        representation = formats.negotiate(formats.STATS_FORMATS)
    if representation == "json":
        return Response(body, mimetype="application/json")
    if flag("bom"):
        body = BOM.encode() + body
    response = Response(body, mimetype="text/csv")
    event_id = (request.view_args or {})["event_id"]
    response.headers["Content-Disposition"] = f'attachment; filename="event-{event_id}-stats.csv"'
    return response


@bp.get("/event/<id:event_id>/stats")
@prefetch(raw_cache_key)
@for_event("event")
@answered_if_prefetched(answer)  # a warm report, read with the rate count
@use_args(STATS_ARGS, location="query")
def event_stats(access: EventAccess, args: dict[str, Any]) -> Response:
    """Report confirmed and provisional tickets sold per ticket type; `no-cache` recomputes."""
    representation = formats.negotiate(formats.STATS_FORMATS)
    filters = StatsFilters(
        ticket_id=args.get("ticketId"),
        ticket=args.get("ticket") or None,
        participant_type=args.get("participant_type") or None,
    )
    cache = current_app.extensions["eventio.cache"]
    key = filters.cache_key(access.event_id, cached_as(representation))
    ttl = current_app.config["STATS_CACHE_TTL"]

    def report() -> bytes:
        # Logged as a miss even when the computation fails.
        g.cache_status = state().cache_status = "miss"
        computed = compute(reads(), access.event_id, access.event_name, filters)
        if representation == "json":
            return orjson.dumps(computed)
        return report_csv(computed, neutralise=current_app.config["CSV_NEUTRALISE_FORMULAS"])

    # The body is cached as the bytes sent: a hit is answered without decoding it.
    if flag("no-cache") or ttl <= 0:
        body, hit = report(), False
        if ttl > 0:
            cache.set_raw(key, body, ttl)
    else:
        # As long as the statement timeout allows: a waiter never waits for nothing.
        wait = current_app.config["STATEMENT_TIMEOUT_MS"] / 1000 + 1
        body, hit = computed_once(cache, key, ttl, report, wait)
    g.cache_status = state().cache_status = "hit" if hit else "miss"
    return answer(body, representation)


# What the route declares, for its access and its docs (eventio/api/declaration.py).
declare(
    event_stats,
    areas=("event",),
    arguments=STATS_ARGS,
    notes={
        "ticketId": "Only the row of this ticket type (its id).",
        "ticket": "Only ticket types whose title contains this text, ignoring case.",
        "participant_type": "Only ticket types of this participant type (exact), e.g. `adult`.",
    },
    flags={"no-cache": "Recompute the statistics now and refresh the cache."},
    response_schema=StatsSchema,
    formats=("json", "csv"),
)
