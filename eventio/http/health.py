"""`/health/live` and `/health/ready` for load balancers and orchestrators; no token needed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import cached_property

import redis
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import Blueprint, Flask, Response, current_app
from sqlalchemy import Connection, Engine, inspect, text

from eventio.db.extensions import db
from eventio.db.inspection import Inspection, inspect_database
from eventio.db.replica import lag_seconds
from eventio.db.state import SchemaState
from eventio.http.responses import json_response
from eventio.settings import Settings

# The logger keeps its name from before the package moves: log filters match on it.
log = logging.getLogger("eventio.health")

bp = Blueprint("health", __name__, url_prefix="/health")

REDIS_TIMEOUT = 0.5
OK = ("ok", "not configured")
# What an existing (Laravel-made) database may lack and still be served: not migrated by
# the API, and whatever state its optional parts are in (named, never failing).
PASSING = {"migrations": ("not managed",)}
# `replica_lag_seconds` is a figure; the `replica` check is what passes or fails.
INFORMATIVE = frozenset({"oauth", "indexes", "replica_lag_seconds"})
NOT_CHECKED = {
    "migrations": "not checked",
    "schema": "not checked",
    "oauth": "not checked",
    "indexes": "not checked",
}
Checks = dict[str, str]


def passes(name: str, state: str) -> bool:
    return state in OK or name in INFORMATIVE or state in PASSING.get(name, ())


class Readiness:
    """The checks behind `/health/ready`, side by side and bounded in time.

    Answers name a state, never an error's text (hosts, users and versions stay in
    the log); a check logs one warning when it starts failing, not one per probe.
    """

    def __init__(
        self,
        migrations: str,
        version_table: str,
        redis_url: str | None,
        timeout: float,
        schema: SchemaState | None = None,
        oauth_elsewhere: bool = False,
        write_elsewhere: bool = False,
        max_replica_lag: float = 30.0,
    ) -> None:
        self.max_replica_lag = max_replica_lag
        self.schema = schema
        self.oauth_elsewhere = oauth_elsewhere
        self.write_elsewhere = write_elsewhere
        self.migrations_directory = migrations
        self.version_table = version_table
        self.redis = (
            redis.Redis.from_url(
                redis_url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
            )
            if redis_url
            else None
        )
        self.timeout = timeout
        self._failing: set[str] = set()

    @cached_property
    def scripts(self) -> tuple[frozenset[str], frozenset[str]]:
        """The heads of the migrations folder, and every revision it knows."""
        config = Config()
        config.set_main_option("script_location", self.migrations_directory)
        directory = ScriptDirectory.from_config(config)
        known = frozenset(script.revision for script in directory.walk_revisions())
        return frozenset(directory.get_heads()), known

    def run(self, engine: Engine) -> Checks:
        database, cache = within(self.timeout, lambda: self.database(engine), self.redis_state)
        late = f"no answer within {self.timeout:g} s"
        checks = database or {"database": self.failed("database", "timeout", late), **NOT_CHECKED}
        checks["redis"] = (cache or {"redis": self.failed("redis", "timeout", late)})["redis"]
        for name, state in checks.items():
            if passes(name, state) and name in self._failing:
                self._failing.discard(name)
                log.warning("ready again: %s is %s", name, state)
        return checks

    def database(self, engine: Engine) -> Checks:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
                inspection = inspect_database(connection)
                migrations = (
                    self.migration_state(connection) if inspection.managed else "not managed"
                )
                lag = lag_seconds(connection)
        except Exception as error:
            return {"database": self.failed("database", "unreachable", error), **NOT_CHECKED}
        if self.schema is not None:
            self.schema.set(inspection)
        checks = {"database": "ok", "migrations": migrations, **self.schema_states(inspection)}
        return checks if lag is None else {**checks, **self.replica_states(lag)}

    def replica_states(self, lag: float) -> Checks:
        """A standby behind by more than REPLICA_MAX_LAG_SECONDS is not ready: it would
        serve old rows, and leaving the load balancer's pool lets it catch up."""
        figure = f"{lag:.1f}"
        if lag <= self.max_replica_lag:
            state = "ok"
        else:
            detail = f"{figure} s behind the primary (at most {self.max_replica_lag:g} s)"
            state = self.failed("replica", "lagging", detail)
        return {"replica": state, "replica_lag_seconds": figure}

    def schema_states(self, inspection: Inspection) -> Checks:
        """What an existing database lacks: required parts fail, optional ones are named."""
        if inspection.can_serve:
            schema = "ok"
        else:
            schema = self.failed("schema", "incomplete", inspection.summary())
        if self.oauth_elsewhere:
            oauth = "ok"
        elif not inspection.oauth_tables:
            oauth = "not set up"
        elif inspection.read_only and not self.write_elsewhere:
            oauth = "read-only"
        else:
            oauth = "ok"
        missing = len(inspection.missing_indexes)
        indexes = f"{missing} recommended missing" if missing else "ok"
        return {"schema": schema, "oauth": oauth, "indexes": indexes}

    def migration_state(self, connection: Connection) -> str:
        """`ok` at the folder's head; `behind` (or never migrated); `unknown` revision."""
        try:
            heads, known = self.scripts
            current = applied_revisions(connection, self.version_table)
        except Exception as error:
            return self.failed("migrations", "unknown", error)
        if current == heads:
            return "ok"
        state = "unknown" if current - known else "behind"
        detail = f"database at {sorted(current) or 'no revision'}, code at {sorted(heads)}"
        return self.failed("migrations", state, detail)

    def redis_state(self) -> Checks:
        if self.redis is None:
            return {"redis": "not configured"}
        try:
            self.redis.ping()
        except redis.RedisError as error:
            return {"redis": self.failed("redis", "unreachable", error)}
        return {"redis": "ok"}

    def failed(self, name: str, state: str, reason: object) -> str:
        """Log the reason when the check starts failing; the answer only names the state."""
        if name not in self._failing:
            self._failing.add(name)
            log.warning("not ready: %s is %s: %s", name, state, reason)
        return state


def applied_revisions(connection: Connection, version_table: str) -> frozenset[str]:
    """What Alembic's version table says (read directly: MigrationContext logs each time)."""
    if not inspect(connection).has_table(version_table):
        return frozenset()
    rows = connection.execute(text(f"SELECT version_num FROM {version_table}")).scalars()
    return frozenset(rows)


def within(timeout: float, *probes: Callable[[], Checks]) -> list[Checks | None]:
    """Run the probes in threads; None for one still running at the deadline."""
    results: list[Checks | None] = [None] * len(probes)

    def run(index: int) -> None:
        results[index] = probes[index]()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(probes))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [None if thread.is_alive() else results[i] for i, thread in enumerate(threads)]


def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/live")
def live() -> Response:
    """Answer while the process answers; touch nothing else."""
    return no_store(json_response({"status": "ok"}))


@bp.get("/ready")
def ready() -> Response:
    """Check the database, its migrations (on a database the API migrates), the tables and
    columns it needs, a standby's replay lag, and Redis; a 503 names what is failing.
    Missing optional parts (the API's OAuth table, recommended indexes) are named without
    failing."""
    readiness: Readiness = current_app.extensions["eventio.health"]
    checks = readiness.run(db.engine)
    if all(passes(name, state) for name, state in checks.items()):
        return no_store(json_response({"status": "ok", "checks": checks}))
    body = {"message": "Service Unavailable", "status": "fail", "checks": checks}
    response = json_response(body, 503)
    response.headers["Retry-After"] = str(current_app.config.get("RETRY_AFTER_SECONDS") or 5)
    return no_store(response)


def install(app: Flask, settings: Settings) -> None:
    """The readiness checks of this app (eventio/http/pipeline.py registers `bp`)."""
    migrate = app.extensions["migrate"]
    app.extensions["eventio.health"] = Readiness(
        migrate.directory,
        migrate.configure_args.get("version_table", "alembic_version"),
        settings.redis_url,
        settings.health_check_timeout,
        app.extensions.get("eventio.schema"),
        oauth_elsewhere=bool(settings.oauth_database_url),
        write_elsewhere=bool(settings.write_database_url),
        max_replica_lag=settings.replica_max_lag_seconds,
    )
