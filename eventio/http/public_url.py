"""PUBLIC_BASE_URL: where the API is reached, for the links it writes, whatever the headers say."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from flask import current_app, request

# Characters a path keeps as they are (Werkzeug's `base_url` keeps the same).
PATH_SAFE = "!$&'()*+,/:;=@%"


def parse_base_url(value: str) -> str:
    """`https://api.example.com` (a path prefix allowed), without a trailing `/`."""
    parts = urlsplit(value.strip())
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.query
        or parts.fragment
    ):
        raise ValueError(f"PUBLIC_BASE_URL must be http(s)://host[:port][/prefix], not {value!r}")
    return value.strip().rstrip("/")


def base_url() -> str:
    """The request's URL without its query: PUBLIC_BASE_URL and the path when configured,
    else the request's own scheme and `Host` (a laptop, tests)."""
    public: str | None = current_app.config["PUBLIC_BASE_URL"]
    if not public:
        return request.base_url
    return public + quote(request.path, safe=PATH_SAFE)


def absolute_url(path: str) -> str:
    """The link to one of the app's own paths (`/api/v2/docs`): under PUBLIC_BASE_URL when
    configured, else under the request's own scheme, `Host` and script root."""
    public = current_app.config["PUBLIC_BASE_URL"]
    root = public if public else request.url_root.rstrip("/")
    return root + path
