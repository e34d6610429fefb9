"""The connection a request reads on.

On PostgreSQL, MySQL and MariaDB each worker thread keeps one Core connection, in
autocommit, for the reads of all its requests, as the benchmark's floor keeps one
psycopg connection per thread.
Taking a connection through the ORM session costs about a sixth of a small request's CPU:
the session's setup and teardown, the pool's checkout and checkin, and switching the
connection to autocommit and back each time. A read in autocommit needs no BEGIN and no
ROLLBACK; each statement sees committed rows, as in PostgreSQL's default READ COMMITTED.
On MySQL the session's transaction would be REPEATABLE READ: a session that outlives a
request (a test's application context, a CLI command) would keep reading the snapshot of
its first statement, and miss a `last_used_at` or a booking written since.

A held connection is replaced when it is older than the pool's `pool_recycle`, or when
the database dropped it (SQLAlchemy then marks it invalidated); `Engine.dispose()` closes
them all. It holds a place in the pool: `DB_POOL_SIZE` should be at least the threads of
a worker (docs/deployment.md).

A server that starts a thread per request (Werkzeug's dev server, `make run`) must not
leave a connection behind with each thread: the connection is handed back to the pool
when its thread ends, by a finalizer on the thread's local data, which CPython drops as
the thread exits. Gunicorn's threads live as long as the worker: nothing runs per request.

SQLite (the embedded default, and the SQLite test suite) reads on the session's
connection, as every write does.
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref

from flask import Flask, current_app
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import SQLAlchemyError

from eventio.db.extensions import db

AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}
EXTENSION = "eventio.reads"


class _Holder:
    """A thread's connection, in that thread's local data: when the thread ends, the
    local data goes, and the finalizer below hands the connection back."""

    __slots__ = ("__weakref__", "connection", "expires")

    def __init__(self, connection: Connection, expires: float) -> None:
        self.connection = connection
        self.expires = expires


class HeldConnections:
    """One autocommit connection per thread, kept from request to request, returned when
    the thread ends."""

    def __init__(self, engine: Engine, recycle_seconds: float) -> None:
        self.engine = engine
        self.recycle_seconds = recycle_seconds
        self._local = threading.local()
        self._lock = threading.Lock()
        # Every thread's connection, so `close_all` can end them (tests, shutdown).
        self._held: weakref.WeakSet[Connection] = weakref.WeakSet()

    def get(self) -> Connection:
        holder: _Holder | None = getattr(self._local, "holder", None)
        if holder is None:
            return self._replace()
        connection = holder.connection
        if connection.closed or connection.invalidated or time.monotonic() >= holder.expires:
            connection = self._replace()
        return connection

    def discard(self) -> None:
        """Close this thread's connection; the next read opens a new one."""
        holder: _Holder | None = getattr(self._local, "holder", None)
        self._local.holder = None
        if holder is not None:
            self._close(holder.connection)

    def __len__(self) -> int:
        """How many threads hold a connection (each counts as checked out of the pool)."""
        with self._lock:
            return len(self._held)

    def close_all(self) -> None:
        """End every thread's connection, for when no request is running. Each is closed
        outright, not handed back: its pool may be one `Engine.dispose()` just dropped."""
        with self._lock:
            held = list(self._held)
        for connection in held:
            with contextlib.suppress(SQLAlchemyError):
                connection.invalidate()
            self._close(connection)

    def _replace(self) -> Connection:
        self.discard()
        connection = self.engine.connect().execution_options(**AUTOCOMMIT)
        holder = _Holder(connection, time.monotonic() + self.recycle_seconds)
        # Runs when the thread's local data is dropped: the thread ended.
        weakref.finalize(holder, self._close, connection).atexit = False
        self._local.holder = holder
        with self._lock:
            self._held.add(connection)
        return connection

    def _close(self, connection: Connection) -> None:
        with self._lock:
            self._held.discard(connection)
        with contextlib.suppress(SQLAlchemyError):  # unusable already: being thrown away
            connection.close()


def reads() -> Connection:
    """The connection this request reads on."""
    held: HeldConnections | None = current_app.extensions.get(EXTENSION)
    if held is None:
        return db.session.connection()
    return held.get()


def discard() -> None:
    """Drop this thread's read connection (after the database dropped it)."""
    held: HeldConnections | None = current_app.extensions.get(EXTENSION)
    if held is None:
        db.session.rollback()
    else:
        held.discard()


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name not in ("postgresql", "mysql"):
        return
    recycle = app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_recycle", -1)
    held = HeldConnections(engine, recycle if recycle and recycle > 0 else float("inf"))
    app.extensions[EXTENSION] = held

    # `Engine.dispose()` means every connection goes (tests, a process that forked).
    @event.listens_for(engine, "engine_disposed")
    def close_held(disposed: Engine) -> None:
        held.close_all()
