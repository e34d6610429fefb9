"""Stream every matching row of a list as CSV or NDJSON, in constant memory.

Rows come in chunks, all from one snapshot; NDJSON keeps includes (loaded per chunk),
CSV flattens the row's own fields. A client that hangs up closes the generator, which
closes the database cursor and ends the transaction.

PostgreSQL and SQLite read through a server-side cursor. On MySQL and MariaDB a
streamed (unbuffered) PyMySQL result holds the connection until it is read to its end:
the includes of a chunk could not be loaded on it, and PyMySQL would silently drop
the rest of the result to run them. There each chunk is its own buffered keyset read
(the rows after the last one sent, in the list's ordering) inside one
`START TRANSACTION WITH CONSISTENT SNAPSHOT`.

An export is bounded in time (`EXPORT_MAX_SECONDS`) and in how long its reader may leave
a chunk unread (`EXPORT_SEND_TIMEOUT_SECONDS`): past either, a timer ends its transaction
and gives its connection back while the body waits, and the body then breaks off with
an error (never a clean end: the reader must not take a cut export for a whole one).
Under gunicorn a write to a reader that stopped would block the worker thread for ever:
the socket gets the send timeout, so the write fails and gunicorn closes the body.

CSV cells of text columns that a spreadsheet would read as a formula get a leading `'`
(`CSV_NEUTRALISE_FORMULAS`); `bom=1` starts the file with a UTF-8 byte order mark.
"""

from __future__ import annotations

import csv
import io
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

import orjson
from flask import Response, current_app, request, stream_with_context
from marshmallow import fields
from sqlalchemy import Connection, CursorResult, Select
from sqlalchemy.engine import Row

from eventio.api import formats
from eventio.api.flags import flag
from eventio.db.extensions import db
from eventio.querybuilder import QuerySpec
from eventio.querybuilder.builder import BuiltQuery
from eventio.querybuilder.cursor import after, position
from eventio.querybuilder.includes import IncludePlan, count_key
from eventio.querybuilder.ordering import OrderKey
from eventio.querybuilder.scope import IncludeScope
from eventio.schemas.fields import Money

log = logging.getLogger(__name__)

# The streamed formats (the OpenAPI document lists them as a list's other answers).
MEDIA_TYPES = {name: formats.MEDIA_TYPES[name] for name in ("csv", "ndjson")}
CHUNK_ROWS = 2000
# OWASP's CSV injection list: what a spreadsheet reads as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
# RFC 4180's line end: Python's csv module quotes a cell holding a bare `\r` only when
# `\r` is part of the line end, and a reader that ends lines at `\r` would split it.
LINE_END = "\r\n"


class ExportCut(Exception):
    """An export stopped before its end: ran too long, or its reader stalled."""


@dataclass(frozen=True)
class ExportLimits:
    """How long an export may run, and may wait for its reader (0: no limit)."""

    max_seconds: float
    send_timeout: float

    @classmethod
    def from_config(cls, config: Any) -> ExportLimits:
        return cls(
            float(config["EXPORT_MAX_SECONDS"] or 0),
            float(config["EXPORT_SEND_TIMEOUT_SECONDS"] or 0),
        )


class Watch:
    """Ends an export from a timer when its time is up or its reader stalls.

    The body holds `lock` while it reads from the database; the timer takes it to end the
    transaction, so the two never use the connection at once. A timer is armed each time a
    chunk is handed to the server (one thread per chunk of thousands of rows)."""

    def __init__(self, limits: ExportLimits, release: Callable[[], None]) -> None:
        self.limits = limits
        self.lock = threading.Lock()
        self.reason: str | None = None
        self.finished = False
        self._release = release
        self._deadline = time.monotonic() + limits.max_seconds if limits.max_seconds else None
        self._timer: threading.Timer | None = None

    def check(self) -> None:
        """Called with `lock` held when the body resumes: stop if the timer stopped it,
        or if the time is up though no timer fired yet."""
        late = self._deadline is not None and time.monotonic() >= self._deadline
        if self.reason is None and late:
            self._cut_locked(f"ran past EXPORT_MAX_SECONDS ({self.limits.max_seconds:g} s)")
        if self.reason is not None:
            raise ExportCut(f"export stopped: {self.reason}")

    def handed_over(self) -> None:
        """A chunk goes to the reader: it has until the send timeout to take it."""
        self.cancel()
        now = time.monotonic()
        due, reason = None, ""
        if self.limits.send_timeout:
            due = now + self.limits.send_timeout
            reason = (
                "the reader took no data for EXPORT_SEND_TIMEOUT_SECONDS "
                f"({self.limits.send_timeout:g} s)"
            )
        if self._deadline is not None and (due is None or self._deadline < due):
            due = self._deadline
            reason = f"ran past EXPORT_MAX_SECONDS ({self.limits.max_seconds:g} s)"
        if due is not None:
            self._timer = threading.Timer(max(due - now, 0.0), self._expire, (reason,))
            self._timer.daemon = True
            self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self, reason: str) -> None:
        with self.lock:
            if not self.finished and self.reason is None:
                self._cut_locked(reason)

    def _cut_locked(self, reason: str) -> None:
        self.reason = reason
        log.warning("export of %s stopped: %s", request_path(), reason)
        self._release()


def request_path() -> str:
    try:
        return request.path
    except RuntimeError:  # the timer's thread has no request
        return "a list"


def requested_format() -> str | None:
    """`format=csv|ndjson`, or an Accept header that prefers one of them to JSON (None:
    the paginated JSON list); see `eventio.api.formats`."""
    chosen = formats.negotiate(formats.LIST_FORMATS)
    return None if chosen == "json" else chosen


def stream(
    export_format: str,
    spec: QuerySpec,
    built: BuiltQuery,
    statement: Select[Any],
    plan: IncludePlan,
    scope: IncludeScope,
) -> Response:
    """Every row of `statement`, serialised by the list's `plan` a chunk at a time."""
    from eventio.api.listing import present  # the one serialisation path

    connection = export_connection()
    results: list[CursorResult[Any]] = []
    limits = ExportLimits.from_config(current_app.config)

    def release() -> None:
        """The cursor, its snapshot and the connection, in that order, once."""
        for result in results:
            result.close()
        if not connection.closed:
            connection.rollback()
            connection.close()

    watch = Watch(limits, release)

    def finish() -> None:
        watch.cancel()
        with watch.lock:
            watch.finished = True
            release()

    def row_chunks() -> Iterator[Any]:
        if connection.dialect.name == "mysql":
            yield from keyset_chunks(connection, statement, built.order, CHUNK_ROWS)
            return
        results.append(connection.execute(statement.execution_options(yield_per=CHUNK_ROWS)))
        yield from results[0].partitions()

    def chunks() -> Iterator[list[dict[str, Any]]]:
        # Released when the last row is out (no need to wait for the server's close), and
        # when the body is closed or dropped before that, whatever becomes of the response.
        try:
            source = row_chunks()
            while True:
                with watch.lock:
                    watch.check()
                    rows = next(source, None)
                    if rows is None:
                        return
                    items = present(plan, rows, scope, connection)
                watch.handed_over()
                yield items
        finally:
            finish()

    send_timeout(limits)
    # The first chunk is read before the answer starts: an include past
    # MAX_INCLUDED_ROWS there is still a 422. Past it in a later chunk, the stream is cut
    # (the body ends without its last chunk), never shortened silently.
    pending = chunks()
    first = next(pending, None)
    rows_out = chain([] if first is None else [first], pending)
    if export_format == "ndjson":
        body = ndjson(rows_out)
    else:
        header = csv_header(spec, built)
        neutralise = current_app.config["CSV_NEUTRALISE_FORMULAS"]
        text = text_columns(spec, header) if neutralise else frozenset()
        body = to_csv(rows_out, header, text, bom=flag("bom"))
    response = Response(stream_with_context(body), mimetype=MEDIA_TYPES[export_format])
    # When the stream ends or the client hangs up: the cursor and its transaction go.
    response.call_on_close(finish)
    filename = f"{spec.resource.type}.{export_format}"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def send_timeout(limits: ExportLimits) -> None:
    """Under gunicorn, a write to a reader that stopped fails after the send timeout
    instead of blocking the thread for ever: gunicorn's threaded worker writes the body
    with `sendall` on a blocking socket with no timeout. The socket goes back to
    non-blocking when gunicorn keeps the connection alive for its next request."""
    sock = request.environ.get("gunicorn.socket")
    if sock is not None and limits.send_timeout:
        sock.settimeout(limits.send_timeout)


def export_connection() -> Connection:
    """A connection of the export's own, in one transaction: a server-side cursor needs
    one (the request's connection reads in autocommit), and on PostgreSQL and MySQL it
    is REPEATABLE READ, so the rows and their includes are one snapshot."""
    connection = db.engine.connect()
    if connection.dialect.name == "postgresql":
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
    elif connection.dialect.name == "mysql":
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        try:
            # The snapshot is taken now, not at the first chunk's read.
            connection.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        except Exception:
            connection.close()
            raise
    return connection


def keyset_chunks(
    connection: Connection, statement: Select[Any], order: list[OrderKey], size: int
) -> Iterator[list[Row[Any]]]:
    """Every row of `statement` in `order`, `size` at a time, each chunk read whole."""
    ordered = statement.order_by(None).order_by(*[key.clause() for key in order]).limit(size)
    chunk = ordered
    while True:
        rows = list(connection.execute(chunk).all())
        if rows:
            yield rows
        if len(rows) < size:
            return
        chunk = ordered.where(after(order, position(rows[-1], order), False))


def ndjson(chunks: Iterator[list[dict[str, Any]]]) -> Iterator[bytes]:
    for items in chunks:
        yield b"".join(orjson.dumps(item) + b"\n" for item in items)


def csv_header(spec: QuerySpec, built: BuiltQuery) -> list[str]:
    """The row's own fields (narrowed by a sparse fieldset) and counts; never includes."""
    resource = spec.resource
    only = built.fields.get(resource.type)
    own = [name for name in resource.field_names if only is None or name in only]
    return own + [count_key(relation.name) for relation in built.counts]


def text_columns(spec: QuerySpec, header: list[str]) -> frozenset[str]:
    """The columns whose schema field is free text: neutralised, unlike numbers, dates,
    amounts and ids, whatever their values look like."""
    schema = spec.resource.schema
    declared = schema().fields if schema is not None else {}
    return frozenset(
        key
        for key in header
        if isinstance(declared.get(key), fields.String) and not isinstance(declared.get(key), Money)
    )


def to_csv(
    chunks: Iterator[list[dict[str, Any]]],
    header: list[str],
    text: frozenset[str] = frozenset(),
    bom: bool = False,
) -> Iterator[str]:
    yield (BOM if bom else "") + _line(header)
    cells = [(key, key in text) for key in header]
    for items in chunks:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator=LINE_END)
        writer.writerows(
            [_text(item.get(key)) if is_text else _cell(item.get(key)) for key, is_text in cells]
            for item in items
        )
        yield buffer.getvalue()


def _text(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula starts with `'` (OWASP)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return _cell(value)


def _line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=LINE_END).writerow(cells)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
