"""An encoded `/` (`%2F`) in a path is part of its segment, never a separator."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ENCODED_SLASH = re.compile("%2f", re.IGNORECASE)


def raw_path(environ: WSGIEnvironment) -> str:
    """The path as the client sent it (gunicorn's `RAW_URI`, Werkzeug's `REQUEST_URI`)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    if not raw.startswith("/"):  # an absolute URI in the request line
        return urlsplit(raw).path
    return raw.partition("?")[0]


class EncodedSlashes:
    """WSGI servers decode `%2F` into PATH_INFO, so `/event/1%2Fbookings` would route as
    `/event/1/bookings`. Such a path is routed as sent instead: no route holds a `%`,
    so it is a 404 in the contract's body, naming the path the client sent."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        path = raw_path(environ)
        if "%" in path and ENCODED_SLASH.search(path):
            script_name = environ.get("SCRIPT_NAME", "")
            if script_name and path.startswith(script_name):
                path = path[len(script_name) :]
            environ["PATH_INFO"] = path
        return self.app(environ, start_response)
