"""The application factory: the only way to get an app."""

from __future__ import annotations

import hashlib
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask.sessions import SessionInterface

from eventio import settings
from eventio.cache.store import make_cache
from eventio.db import dialects, mysql_session, prepared, reads, replica
from eventio.db import state as database_state
from eventio.db.engines import engine_options
from eventio.db.extensions import db, migrate
from eventio.db.problems import check_url
from eventio.http.public_url import parse_base_url
from eventio.http.responses import OrjsonProvider

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
    app = EventioFlask("eventio", instance_path=settings.instance_path(), static_folder=None)
    app.json = OrjsonProvider(app)
    app.session_interface = NoSessions()
    configure(app, config or {})
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):
        # Its owner's only: it holds the database and the demo token (eventio.cli.demo_token).
        Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
    check_url(url)  # one clear line, not a driver's traceback
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(url, app.config))
    binds = {}
    for bind, setting in (("write", "WRITE_DATABASE_URL"), ("oauth", "OAUTH_DATABASE_URL")):
        if app.config.get(setting):
            bind_url = settings.database_url(app.config[setting], app.instance_path)
            check_url(bind_url, setting)
            binds[bind] = {"url": bind_url, **engine_options(bind_url, app.config)}
    if binds:
        app.config["SQLALCHEMY_BINDS"] = binds
    # A malformed URL fails at start, not on the first list.
    public = app.config.get("PUBLIC_BASE_URL")
    app.config["PUBLIC_BASE_URL"] = parse_base_url(public) if public else None
    typed = settings.install(app)

    db.init_app(app)
    with app.app_context():  # SQLite's functions, on this app's engines only
        dialects.install(*db.engines.values())
    mysql_session.init_app(app)
    prepared.init_app(app)
    reads.init_app(app)
    replica.init_app(app)
    database_state.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS)
    app.extensions["eventio.cache"] = make_cache(typed.redis_url)

    from eventio.api import IdConverter, bp
    from eventio.cli import register_commands
    from eventio.http import pipeline

    app.url_map.converters["id"] = IdConverter
    app.url_map.strict_slashes = False
    # `//events` is a 404 in the contract's body, not Werkzeug's HTML redirect.
    app.url_map.merge_slashes = False
    app.register_blueprint(bp)
    pipeline.install(app, typed)
    register_commands(app)
    return app


def configure(app: Flask, overrides: Mapping[str, Any]) -> None:
    """`app.config`: the environment's settings, the overrides, and what follows from them."""
    app.config.update(settings.from_environment(app.instance_path))
    app.config.update(overrides)
    if "DATABASE_URL" in overrides:
        app.config["SQLALCHEMY_DATABASE_URI"] = settings.database_url(
            overrides["DATABASE_URL"], app.instance_path
        )
    if not app.config["SECRET_KEY"]:
        # Shared by every worker and host on the same database; set SECRET_KEY in production.
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        app.config["SECRET_KEY"] = hashlib.sha256(b"eventio:" + url.encode()).hexdigest()
    # Werkzeug's own body check as well, for a body that reaches a reader some other way.
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_BODY_BYTES"])
