"""ETag and 304 on every GET, gzip / brotli for responses over 1 KB when asked, and
`Cache-Control` so that no shared cache keeps a caller's answer.

The ETag is computed on the uncompressed body; Flask-Compress then marks it with the
encoding (`"…:gzip"`) and answers a matching `If-None-Match` with 304 itself.
"""

from __future__ import annotations

import importlib.util

from flask import Flask, Response, request
from flask_compress import Compress

from eventio.http.state import state

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


# A caller's answer: a browser may keep it but must revalidate it (with its ETag, and its
# token) before each use; a proxy or CDN must not keep it at all.
PRIVATE = "private, no-cache"
# An error nobody was authenticated for (401, an unknown route, a refused body): nothing
# worth revalidating, and nothing any cache should keep.
NO_STORE = "no-store"


def add_cache_control(response: Response) -> Response:
    """Unless the view chose already (health, OAuth and the docs' assets do)."""
    if "Cache-Control" in response.headers:
        return response
    if state().caller is not None:
        response.headers["Cache-Control"] = PRIVATE
    elif response.status_code >= 400:
        response.headers["Cache-Control"] = NO_STORE
    elif "HTTP_AUTHORIZATION" in request.environ:
        # Answered for a credential outside the API's tokens (`/metrics`).
        response.headers["Cache-Control"] = PRIVATE
    return response


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
    """Flask-Compress's settings; eventio/http/pipeline.py registers its hook in its place."""
    brotli = importlib.util.find_spec("brotli") is not None
    app.config.setdefault("COMPRESS_MIMETYPES", MEDIA_TYPES)
    app.config.setdefault("COMPRESS_MIN_SIZE", 1024)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"] if brotli else ["gzip"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "deflate"] if brotli else [])
    app.config.setdefault("COMPRESS_STREAMS", brotli)
    # The pipeline registers `compress.after_request` between `add_etag` and `drop_date`.
    app.config["COMPRESS_REGISTER"] = False
    compress.init_app(app)
