"""What every answer owes a hostile network: bounded request lines and bodies, tokenless
OPTIONS, `nosniff`, no server banner, and CORS only for the origins configured.

Settings (the environment, or the app's config first):

- `MAX_REQUEST_LINE`: the longest request target (path and query string) in bytes,
  8000 by default; longer is a 414 in the contract's body. gunicorn.conf.py keeps its
  own request-line limit just above it, so the app is the one that answers.
- `MAX_BODY_BYTES`: the largest request body in bytes, 16384 (16 KiB) by default; a larger
  one is a 413 in the contract's body (and RFC 6749's for `/oauth/token`), refused on its
  `Content-Length` before any of it is read, and a chunked one is cut at the limit.
  deploy/nginx/eventio.conf's `client_max_body_size` is filled from it.
- `CORS_ORIGINS`: a comma list of origins (`https://bi.example.com`) allowed to read the
  API from a browser; empty (the default) sends no CORS header at all.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request
from flask_cors import CORS
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import WSGIRequestHandler

from eventio.http.errors import ApiError, error_response
from eventio.http.responses import json_response
from eventio.settings import (  # noqa: F401  # the deploy scripts and tests read them here
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_REQUEST_LINE,
    max_body_bytes,
)

OAUTH_BLUEPRINT = "oauth"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# What the Werkzeug development server (`make run`) and gunicorn.conf.py say in `Server`.
SERVER_BANNER = "eventio"
CORS_METHODS = ("GET", "HEAD", "OPTIONS")
# `If-None-Match` too: a browser revalidating with an ETag must get past the preflight.
CORS_ALLOW_HEADERS = ("Authorization", "If-None-Match")
# Response headers a browser script may read besides the CORS-safelisted ones.
CORS_EXPOSE_HEADERS = (
    "Content-Disposition",
    "ETag",
    "Retry-After",
    "WWW-Authenticate",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-Request-ID",
)
CORS_MAX_AGE_SECONDS = 600
CORS_PATHS = r"/api/v2/.*"


def request_target_length(environ: dict[str, object]) -> int:
    """The raw target as sent (gunicorn and Werkzeug both set `RAW_URI`), else rebuilt."""
    raw = environ.get("RAW_URI")
    if isinstance(raw, str):
        return len(raw)
    path, query = environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")
    return len(str(path)) + (len(str(query)) + 1 if query else 0)


def declared_body_length(environ: dict[str, object]) -> int:
    """The body's `Content-Length` (0 when absent or not a number: Werkzeug's reading)."""
    value = environ.get("CONTENT_LENGTH")
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return 0


def read_chunked_body(environ: dict[str, Any], max_body: int) -> None:
    """Read a chunked body (it has no `Content-Length`) up to one byte past the limit: a
    413 when it goes on, else the body in memory with its length declared. Werkzeug's own
    limit would cut such a body at the limit silently and parse the part it read."""
    stream = environ["wsgi.input"]
    body = bytearray()
    while len(body) <= max_body:
        chunk = stream.read(max_body + 1 - len(body))
        if not chunk:
            break
        body += chunk
    if len(body) > max_body:
        raise RequestEntityTooLarge()
    environ["wsgi.input"] = io.BytesIO(bytes(body))
    environ["CONTENT_LENGTH"] = str(len(body))


def guard_request(max_request_line: int, max_body: int) -> Callable[[], Response | None]:
    """First of all before-request steps: a 414 for an overlong target, a 413 for an
    overlong body (on its header alone: nothing of it is read), then OPTIONS."""

    def guard() -> Response | None:
        environ = request.environ  # one look-up of the request proxy on the common path
        if request_target_length(environ) > max_request_line:
            raise ApiError(
                414,
                f"The request URI is longer than {max_request_line} characters; "
                "send fewer or shorter query parameters.",
            )
        if declared_body_length(environ) > max_body:
            raise RequestEntityTooLarge()
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            read_chunked_body(environ, max_body)
        method = environ.get("REQUEST_METHOD", "")
        if method.upper() == "OPTIONS" and getattr(
            request.url_rule, "provide_automatic_options", False
        ):
            # Before the API's token check: a preflight carries no token, and the answer
            # (an empty body and `Allow`) is the same for every id and every caller.
            return current_app.make_default_options_response()
        return None

    return guard


def body_too_large(error: RequestEntityTooLarge) -> Response:
    """A 413, whether the declared length was too large or a chunked body ran past the
    limit while read; the token endpoint's also in RFC 6749's shape, never stored."""
    limit = current_app.config["MAX_BODY_BYTES"]
    message = f"The request body is larger than {limit} bytes."
    if request.blueprint != OAUTH_BLUEPRINT:
        return error_response(413, message)
    # RFC 6749 section 5.2 has no code for a body too large; a malformed request is closest.
    response = json_response(
        {"message": message, "error": "invalid_request", "error_description": message}, 413
    )
    response.headers.update(NO_STORE)
    return response


def add_nosniff(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def add_vary_origin(response: Response) -> Response:
    """An answer with CORS on depends on `Origin`: caches must key on it."""
    response.vary.add("Origin")
    return response


def parse_origins(value: str | Iterable[str] | None) -> list[str]:
    """`scheme://host[:port]` origins, or a ValueError naming the one that is not."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    origins = []
    for item in (item.strip().rstrip("/") for item in items):
        if not item:
            continue
        parts = urlsplit(item)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise ValueError(
                f"CORS_ORIGINS: `{item}` is not an origin; write `https://host[:port]`, "
                "comma-separated, without paths or wildcards."
            )
        if parts.query or parts.fragment or "*" in item:
            raise ValueError(f"CORS_ORIGINS: `{item}` is not an origin.")
        origins.append(item)
    return origins


def exactly(origin: str) -> re.Pattern[str]:
    """Compiled, so flask-cors never reads an origin as a regex; matched whole, any case."""
    return re.compile(re.escape(origin) + r"\Z", re.IGNORECASE)


def init_cors(app: Flask, origins: list[str]) -> None:
    CORS(
        app,
        resources=CORS_PATHS,
        # Given here, so flask-cors never reads our raw `CORS_ORIGINS` setting itself.
        origins=[exactly(origin) for origin in origins],
        methods=list(CORS_METHODS),
        allow_headers=list(CORS_ALLOW_HEADERS),
        expose_headers=list(CORS_EXPOSE_HEADERS),
        max_age=CORS_MAX_AGE_SECONDS,
        supports_credentials=False,  # bearer tokens, never cookies
        # flask-cors would otherwise list every allowed origin to a request without one.
        always_send=False,
        # Ours instead, on every answer: flask-cors leaves it out with one origin.
        vary_header=False,
        # The after_request below already sees error answers; no patching of the app.
        intercept_exceptions=False,
    )


def hide_development_server_version() -> None:
    """`flask run` answers `Server: Werkzeug/x Python/y`; say nothing about versions."""
    WSGIRequestHandler.version_string = lambda self: SERVER_BANNER  # type: ignore[method-assign]
