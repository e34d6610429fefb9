"""`/api/v2/openapi.json` and the Swagger UI page at `/api/v2/docs`: no token needed.

Swagger UI's files come from the `flask-swagger-ui` package (its `dist` folder), so the
page works with no outside network; a Content-Security-Policy keeps it that way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import flask_swagger_ui
from flask import Blueprint, Flask, Response, current_app, send_from_directory, url_for

from eventio.http.responses import json_response
from eventio.openapi import page
from eventio.openapi.document import build_document

SWAGGER_UI = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
EXTENSION = "eventio.openapi"
ASSET_MAX_AGE = 24 * 3600
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

bp = Blueprint("docs", __name__, url_prefix="/api/v2")


def document() -> dict[str, Any]:
    """Built on first use from the registered routes, then kept for the app's life."""
    extensions = current_app.extensions
    if EXTENSION not in extensions:
        extensions[EXTENSION] = build_document(current_app)
    return extensions[EXTENSION]  # type: ignore[no-any-return]


@bp.get("/openapi.json")
def openapi() -> Response:
    """Serve the OpenAPI document."""
    return json_response(document())


@bp.get("/docs")
def docs_page() -> Response:
    """Serve the Swagger UI page, which loads `openapi.json`."""
    html = page.render(
        assets=url_for("docs.asset", filename="swagger-ui.css").removesuffix("swagger-ui.css"),
        spec_url=url_for("docs.openapi"),
        init_js=url_for("docs.init_script"),
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CSP
    return response


@bp.get("/docs/init.js")
def init_script() -> Response:
    """Start Swagger UI; a file, not inline, so the page's CSP can forbid inline scripts."""
    response = Response(page.INIT_JS, mimetype="text/javascript")
    response.cache_control.max_age = ASSET_MAX_AGE
    return response


@bp.get("/docs/assets/<path:filename>")
def asset(filename: str) -> Response:
    """Swagger UI's own files; an unknown one is the API's JSON 404."""
    return send_from_directory(SWAGGER_UI, filename, max_age=ASSET_MAX_AGE)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
