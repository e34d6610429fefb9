"""The HTTP pipeline in one list: every WSGI wrapper, hook, error handler and route family
of the app, in the order a request meets them, registered through Flask's public API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask
from sqlalchemy.exc import ProgrammingError
from werkzeug.exceptions import HTTPException

from eventio import oauth, openapi
from eventio.api import bp as api_bp
from eventio.api import formats  # noqa: F401  # its `Vary: Accept` hook is on api_bp first
from eventio.auth.guard import authenticate
from eventio.cache.responses import join_round_trip
from eventio.http import (
    conditional,
    errors,
    health,
    index,
    input_guards,
    nul_characters,
    proxies,
    ratelimit,
    raw_paths,
)
from eventio.http.errors import ApiError
from eventio.oauth.views import bp as oauth_bp
from eventio.observability import logs, metrics
from eventio.observability.dev_server import quiet_request_lines
from eventio.observability.middleware import ObservedApp, capture_request
from eventio.querybuilder import InvalidQuery
from eventio.settings import Settings

Hook = Callable[..., Any]


def after_step(step: Hook) -> Callable[[Flask], object]:
    """The registration of `step` as an app-wide after-request step."""
    return lambda target: target.after_request(step)


# Blueprint steps: Flask runs a blueprint's before-request steps after the app's, and its
# after-request steps before the app's. The blueprints are module-level objects shared by
# every app, and Flask takes no new step on one once registered: these are registered
# once, when this module is imported (before any app registers the blueprints).
BLUEPRINT_BEFORE: tuple[tuple[Blueprint, tuple[Hook, ...]], ...] = (
    # The API: the token first (every route needs it); then the cache's reads join the
    # request's Redis round trip, which the caller's budget count runs.
    (api_bp, (authenticate, join_round_trip, ratelimit.check)),
    # The token endpoint and `/metrics`: budgets per address, so secrets cannot be guessed.
    (oauth_bp, (ratelimit.check,)),
    (metrics.bp, (ratelimit.check,)),
)
# In run order. On the API, before `formats.vary_on_accept` (registered with the routes),
# so that a 401 turned 429 by the limiter still says `Vary: Accept`.
BLUEPRINT_AFTER: tuple[tuple[Blueprint, tuple[Hook, ...]], ...] = (
    (api_bp, (ratelimit.add_limit_headers,)),
    (oauth_bp, (ratelimit.add_limit_headers,)),
    (metrics.bp, (ratelimit.add_limit_headers,)),
)

for _blueprint, _steps in BLUEPRINT_BEFORE:
    for _step in _steps:
        _blueprint.before_request(_step)
for _blueprint, _steps in BLUEPRINT_AFTER:
    # Flask runs after-request steps last-registered first.
    for _step in reversed(_steps):
        _blueprint.after_request(_step)


def install(app: Flask, settings: Settings) -> None:
    """Wrap, hook and route `app`, in the order below (the order is the behaviour)."""
    origins = input_guards.parse_origins(settings.cors_origins)
    # The budgets of RATE_LIMIT (a typo fails here, at start), unless switched off.
    ratelimit.init_app(app, settings)
    # Flask-Compress's settings; its hook is registered below, in its place.
    conditional.init_app(app)

    # -- WSGI middleware, in the order a request meets them (outermost first).
    middleware: list[Callable[[Any], Any]] = [
        # The request's state and id, its timing to the last byte, the access line.
        lambda wsgi: ObservedApp(wsgi, record_metrics=settings.metrics_enabled),
        # `%2F` in a path stays in its segment: routed as sent, a 404.
        raw_paths.EncodedSlashes,
        # Behind trusted proxies: the client address (limits, logs), scheme and host.
        *proxies.middleware(settings),
    ]
    # Each wraps the app as it stands: the innermost is wrapped first.
    for wrap in reversed(middleware):
        app.wsgi_app = wrap(app.wsgi_app)  # type: ignore[method-assign]

    # -- Logging: before the first request, after the proxies' start-up warning (as ever).
    logs.configure_logging(settings.log_format, settings.log_level)
    # Under `flask run`, the access line is the request's only line.
    quiet_request_lines()
    # `flask run`'s `Server` header names no versions.
    input_guards.hide_development_server_version()

    # -- Before the view, app-wide, in run order (then BLUEPRINT_BEFORE above).
    before: list[Hook] = [
        # First: a 414 / 413 before anything reads the target or body; tokenless OPTIONS.
        input_guards.guard_request(settings.max_request_line, settings.max_body_bytes),
        # Before the API reads the token or any parameter reaches SQL.
        nul_characters.refuse_nul_characters,
    ]
    for step in before:
        app.before_request(step)

    # -- After the view, app-wide, in run order (after BLUEPRINT_AFTER above); each is a
    # registration, since flask-cors and Flask-Compress bring their own hooks.
    after: list[Callable[[Flask], object]] = [
        # CORS headers for the configured origins only (flask-cors registers its hook).
        *([lambda target: input_guards.init_cors(target, origins)] if origins else []),
        # The ETag on the uncompressed body, and a 304 for a matching condition.
        after_step(conditional.add_etag),
        # gzip / brotli; it marks the ETag with the encoding.
        after_step(conditional.compress.after_request),
        # Werkzeug's conditional handling adds a `Date`; the server adds its own.
        after_step(conditional.drop_date),
        # On the final status: who may keep the answer.
        after_step(conditional.add_cache_control),
        # On every answer, whatever the steps above made of it.
        after_step(input_guards.add_nosniff),
        *([after_step(input_guards.add_vary_origin)] if origins else []),
    ]
    # Flask runs after-request steps last-registered first.
    for register in reversed(after):
        register(app)

    # -- After the response, always: what only the app knows, into the access line.
    app.teardown_request(capture_request)

    # -- Error handlers: one envelope for everything. Flask picks by status code first,
    # then by the closest exception class, whatever the order here.
    handlers: list[tuple[type[Exception] | int, Hook]] = [
        (ApiError, errors.handle_api_error),
        (InvalidQuery, errors.handle_invalid_query),
        (HTTPException, errors.handle_http_exception),
        *((unavailable, errors.handle_database_unavailable) for unavailable in errors.UNAVAILABLE),
        (ProgrammingError, errors.handle_programming_error),
        (Exception, errors.handle_unexpected),
        # 413 in the token endpoint's shape too.
        (413, input_guards.body_too_large),
    ]
    for key, handler in handlers:
        app.register_error_handler(key, handler)

    # -- Routes besides the API's (registered by the app factory, with its converters).
    health.install(app, settings)
    app.register_blueprint(health.bp)
    app.register_blueprint(index.bp)
    openapi.init_app(app)
    if settings.metrics_enabled:
        metrics.install(app)
    oauth.init_app(app)
