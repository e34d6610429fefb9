"""The application factory: the only way to get an app."""

from __future__ import annotations

import hashlib
import os
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask.sessions import SessionInterface

from eventio import oauth, observability
from eventio.cache.store import make_cache
from eventio.db import dialects, mysql_session, prepared, reads, replica
from eventio.db import state as database_state
from eventio.db.extensions import db, migrate
from eventio.db.problems import check_url
from eventio.http import (
    conditional,
    errors,
    health,
    index,
    input_guards,
    nul_characters,
    proxies,
    public_url,
    ratelimit,
    raw_paths,
)
from eventio.http.responses import OrjsonProvider
from eventio.settings import database_url, engine_options, from_environment

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")


MEMOIZED = (types.FunctionType, types.MethodType)


class NoSessions(SessionInterface):
    """The API keeps nothing between requests: no session cookie is read, signed or set
    (Flask's default opens a signed-cookie session on every request)."""

    def open_session(self, app: Flask, request: Any) -> None:
        return None  # Flask then uses its null session

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        return None


class EventioFlask(Flask):
    """Flask, remembering which hooks and views are plain functions.

    Flask passes every hook and the view through `ensure_sync` on every request, which asks
    `inspect.iscoroutinefunction` each time: about 4% of a small request's CPU. The answer
    never changes, so it is kept per function (functions and bound methods only, which
    live as long as the app; the memo is bounded all the same)."""

    MEMO_LIMIT = 4096

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ensured: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        ensured = self._ensured.get(func) if type(func) in MEMOIZED else None
        if ensured is None:
            ensured = super().ensure_sync(func)
            if type(func) in MEMOIZED and len(self._ensured) < self.MEMO_LIMIT:
                self._ensured[func] = ensured
        return ensured


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = EventioFlask(
        "eventio", instance_path=os.environ.get("EVENTIO_INSTANCE_PATH"), static_folder=None
    )
    app.json = OrjsonProvider(app)
    app.session_interface = NoSessions()
    app.config.update(from_environment(app.instance_path))
    if config:
        app.config.update(config)
        if "DATABASE_URL" in config:
            app.config["SQLALCHEMY_DATABASE_URI"] = database_url(
                config["DATABASE_URL"], app.instance_path
            )
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not app.config["SECRET_KEY"]:
        # Shared by every worker and host on the same database; set SECRET_KEY in production.
        app.config["SECRET_KEY"] = hashlib.sha256(b"eventio:" + url.encode()).hexdigest()
    if url.startswith("sqlite:///"):
        # Its owner's only: it holds the database and the demo token (eventio.cli.demo_token).
        Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
    check_url(url)  # one clear line, not a driver's traceback
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(url, app.config))
    binds = {}
    for bind, setting in (("write", "WRITE_DATABASE_URL"), ("oauth", "OAUTH_DATABASE_URL")):
        if app.config.get(setting):
            bind_url = database_url(app.config[setting], app.instance_path)
            check_url(bind_url, setting)
            binds[bind] = {"url": bind_url, **engine_options(bind_url, app.config)}
    if binds:
        app.config["SQLALCHEMY_BINDS"] = binds

    # Behind trusted proxies: the client address (limits, logs), scheme and host.
    proxies.init_app(app)
    raw_paths.init_app(app)
    public_url.init_app(app)
    db.init_app(app)
    with app.app_context():  # SQLite's functions, on this app's engines only
        dialects.install(*db.engines.values())
    mysql_session.init_app(app)
    prepared.init_app(app)
    reads.init_app(app)
    replica.init_app(app)
    database_state.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS)
    app.extensions["eventio.cache"] = make_cache(app.config["REDIS_URL"])

    from eventio import openapi
    from eventio.api import IdConverter, bp
    from eventio.cli import register_commands

    app.url_map.converters["id"] = IdConverter
    app.url_map.strict_slashes = False
    # `//events` is a 404 in the contract's body, not Werkzeug's HTML redirect.
    app.url_map.merge_slashes = False
    app.register_blueprint(bp)
    errors.register(app)
    ratelimit.init_app(app)
    health.init_app(app)
    index.init_app(app)
    openapi.init_app(app)
    observability.init_app(app)
    nul_characters.init_app(app)
    oauth.init_app(app)
    conditional.init_app(app)
    input_guards.init_app(app)
    register_commands(app)
    return app
