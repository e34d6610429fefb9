"""`GET /` and `GET /api/v2`: where to go from here, for a newcomer; no token needed."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Blueprint, Response

from eventio.http.public_url import absolute_url
from eventio.http.responses import json_response
from eventio.openapi.document import api_version

NAME = "EventIO API"
API = "/api/v2"
# The same for every caller, but its links follow the request's host (or PUBLIC_BASE_URL):
# a cache may keep it and revalidates it with its ETag.
CACHE_CONTROL = "no-cache"
PERSONAL_TOKEN = (
    "flask --app eventio tokens issue USER_ID --name NAME "
    "--ability event.read --ability bookings.read"
)

bp = Blueprint("index", __name__)


@cache
def version() -> str:
    """The package's version, read from its metadata once."""
    return api_version()


def index_body() -> dict[str, Any]:
    token_url = absolute_url("/oauth/token")
    return {
        "name": NAME,
        "version": version(),
        "description": "Read-only access to events, tickets, bookings, groups, customers, "
        "roles and event users.",
        "links": {
            "api": absolute_url(API),
            "docs": absolute_url(f"{API}/docs"),
            "openapi": absolute_url(f"{API}/openapi.json"),
            "health": absolute_url("/health/ready"),
        },
        "authentication": {
            "header": "Authorization: Bearer <token>",
            "personal_token": {
                "how": "Someone with shell access to the server issues it; it is shown once.",
                "command": PERSONAL_TOKEN,
            },
            "client_credentials": {
                "how": "POST grant_type=client_credentials with client_id and client_secret "
                "(form fields or HTTP Basic); the answer's access_token is the bearer token.",
                "token_url": token_url,
            },
            "guides": ["docs/getting-started.md", "docs/authentication.md", "docs/oauth.md"],
        },
    }


@bp.get("/")
@bp.get(API)
def index() -> Response:
    """Name the API and its version, link its docs, and say how to get a token."""
    response = json_response(index_body())
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response
