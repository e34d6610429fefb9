"""Which representation a request asks for: `format=` first, else the `Accept` header.

Every `/api/v2` route answers JSON; lists also stream CSV and NDJSON, and the stats
report also comes as CSV. `format=` takes its first value (as webargs reads a
parameter). A format this route cannot serve, whether the API has it elsewhere
(`format=csv` on one booking) or not at all (`xml`, `CSV`), and an `Accept` header that
admits none of the route's media types, are a 406 naming the formats the route serves.
No `Accept`, `*/*` and a browser's `text/html,…,*/*;q=0.8` get JSON. Every answer of
the blueprint says `Vary: Accept`, since any of them may depend on it.
"""

from __future__ import annotations

from flask import Response, request

from eventio.api.blueprint import bp
from eventio.http.errors import ApiError

MEDIA_TYPES = {"json": "application/json", "csv": "text/csv", "ndjson": "application/x-ndjson"}
NAMES = {media_type: name for name, media_type in MEDIA_TYPES.items()}
JSON_ONLY = ("json",)
LIST_FORMATS = ("json", "csv", "ndjson")
STATS_FORMATS = ("json", "csv")
# Accept headers that can only mean JSON, answered without parsing them.
PLAIN_ACCEPT = frozenset({"*/*", "application/json"})


def negotiate(served: tuple[str, ...]) -> str:
    """The name of the format to answer in, one of `served` (JSON first)."""
    chosen = request.args.getlist("format")
    if chosen:
        name = chosen[0]
        if name in served:
            return name
        shown = name if len(name) <= 20 else name[:20] + "…"
        raise not_acceptable(f"This endpoint cannot answer in `{shown}`", served)
    accept = request.environ.get("HTTP_ACCEPT")
    if not accept or accept in PLAIN_ACCEPT:
        return "json"
    accepted = request.accept_mimetypes
    best = accepted.best_match([MEDIA_TYPES[name] for name in served])
    if best is not None:
        return NAMES[best]
    if not accepted:  # a header of only blanks and commas asks for nothing
        return "json"
    shown = accept if len(accept) <= 100 else accept[:100] + "…"
    raise not_acceptable(f"Nothing the Accept header `{shown}` admits can be served", served)


def not_acceptable(reason: str, served: tuple[str, ...]) -> ApiError:
    """406 in the contract's body, keyed `format`, naming what this route serves."""
    offered = ", ".join(f"`{name}` ({MEDIA_TYPES[name]})" for name in served)
    message = f"{reason}: it serves {offered}."
    return ApiError(406, message, {"format": [message]})


@bp.after_request
def vary_on_accept(response: Response) -> Response:
    """Any answer of the API may depend on `Accept` (a CSV, or a 406)."""
    response.vary.add("Accept")
    return response
