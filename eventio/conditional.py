"""ETag and 304 on every GET, and gzip / brotli for responses over 1 KB when asked.

The ETag is computed on the uncompressed body; Flask-Compress then marks it with the
encoding (`"…:gzip"`) and answers a matching `If-None-Match` with 304 itself.
"""

from __future__ import annotations

import importlib.util

from flask import Flask, Response, request
from flask_compress import Compress

compress = Compress()
MEDIA_TYPES = ["application/json", "text/csv", "application/x-ndjson"]
# The request headers Werkzeug's `make_conditional` answers; without one it would only
# add a `Date` (which `drop_date` removes again), so it is not called.
CONDITIONS = (
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_IF_RANGE",
    "HTTP_RANGE",
)


def add_etag(response: Response) -> Response:
    if (
        request.method in ("GET", "HEAD")
        and response.status_code == 200
        and not response.is_streamed
        and not response.direct_passthrough
    ):
        response.add_etag()
        if any(header in request.environ for header in CONDITIONS):
            response.make_conditional(request)
    return response


def drop_date(response: Response) -> Response:
    """Werkzeug's conditional handling adds a `Date`; the server adds its own, once."""
    response.headers.pop("Date", None)
    return response


def init_app(app: Flask) -> None:
    brotli = importlib.util.find_spec("brotli") is not None
    app.config.setdefault("COMPRESS_MIMETYPES", MEDIA_TYPES)
    app.config.setdefault("COMPRESS_MIN_SIZE", 1024)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"] if brotli else ["gzip"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "deflate"] if brotli else [])
    app.config.setdefault("COMPRESS_STREAMS", brotli)
    # after_request runs in reverse: registered first, this runs after Compress.
    app.after_request(drop_date)
    compress.init_app(app)
    # Registered after Compress, so it runs before it (after_request runs in reverse).
    app.after_request(add_etag)
