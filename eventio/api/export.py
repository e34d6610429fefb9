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
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import orjson
from flask import Response, request, stream_with_context
from sqlalchemy import Connection, CursorResult, Select
from sqlalchemy.engine import Row

from eventio.errors import ApiError
from eventio.extensions import db
from eventio.querybuilder import QuerySpec
from eventio.querybuilder.builder import BuiltQuery
from eventio.querybuilder.cursor import after, position
from eventio.querybuilder.includes import Scope, count_key
from eventio.querybuilder.ordering import OrderKey

MEDIA_TYPES = {"csv": "text/csv", "ndjson": "application/x-ndjson"}
CHUNK_ROWS = 2000


def requested_format() -> str | None:
    """`format=csv|ndjson`, or an Accept header that prefers one of them to JSON."""
    chosen = request.args.get("format")
    if chosen is not None:
        if chosen not in MEDIA_TYPES and chosen != "json":
            raise ApiError.invalid(
                "format", f"The format `{chosen[:20]}` is not one of `json, csv, ndjson`."
            )
        return None if chosen == "json" else chosen
    best = request.accept_mimetypes.best_match(
        ["application/json", "text/csv", "application/x-ndjson"], default="application/json"
    )
    for name, media_type in MEDIA_TYPES.items():
        if best == media_type:
            return name
    return None


def stream(
    export_format: str, spec: QuerySpec, built: BuiltQuery, statement: Select[Any], scope: Scope
) -> Response:
    from eventio.api.listing import present  # the one serialisation path

    connection = export_connection()
    results: list[CursorResult[Any]] = []

    def release() -> None:
        """The cursor, its snapshot and the connection, in that order, once."""
        for result in results:
            result.close()
        if not connection.closed:
            connection.rollback()
            connection.close()

    def chunks() -> Iterator[list[dict[str, Any]]]:
        # Released when the last row is out (no need to wait for the server's close), and
        # when the body is closed or dropped before that, whatever becomes of the response.
        try:
            if connection.dialect.name == "mysql":
                for rows in keyset_chunks(connection, statement, built.order, CHUNK_ROWS):
                    yield present(spec, built, rows, scope, connection)
                return
            results.append(connection.execute(statement.execution_options(yield_per=CHUNK_ROWS)))
            for rows in results[0].partitions():
                yield present(spec, built, rows, scope, connection)
        finally:
            release()

    body = (
        ndjson(chunks()) if export_format == "ndjson" else to_csv(chunks(), csv_header(spec, built))
    )
    response = Response(stream_with_context(body), mimetype=MEDIA_TYPES[export_format])
    # When the stream ends or the client hangs up: the cursor and its transaction go.
    response.call_on_close(release)
    filename = f"{spec.resource.type}.{export_format}"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


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


def to_csv(chunks: Iterator[list[dict[str, Any]]], header: list[str]) -> Iterator[str]:
    yield _line(header)
    for items in chunks:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerows([_cell(item.get(key)) for key in header] for item in items)
        yield buffer.getvalue()


def _line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
