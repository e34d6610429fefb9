"""Send a fuzzed request in-process, and say what (if anything) is wrong with the answer.

The property: never a 5xx; every 4xx in the contract's error body; every 200 a body of
the kind asked for (the list envelope, one row, CSV, NDJSON) that parses.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.fuzzing.strategies import FuzzRequest
from tests.fuzzing.world import World

ERRORS_LOGGER = "eventio.errors"
LENGTH_AWARE_META = (
    "current_page",
    "from",
    "last_page",
    "links",
    "path",
    "per_page",
    "to",
    "total",
)
CURSOR_META = ("path", "per_page", "next_cursor", "prev_cursor")
LINKS = ("first", "last", "prev", "next")


@dataclass(frozen=True)
class Outcome:
    status: int
    mimetype: str
    body: bytes
    # The traceback of an exception the app logged (a 500) or raised while streaming.
    trace: str | None = None
    response: TestResponse | None = field(default=None, repr=False, compare=False)


class TracebackCatcher(logging.Handler):
    """Keeps the traceback of the last exception `eventio.http.errors` logged."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.last = "".join(traceback.format_exception(*record.exc_info))


@contextmanager
def catching_tracebacks() -> Iterator[TracebackCatcher]:
    catcher = TracebackCatcher()
    logger = logging.getLogger(ERRORS_LOGGER)
    logger.addHandler(catcher)
    try:
        yield catcher
    finally:
        logger.removeHandler(catcher)


def send(
    client: FlaskClient, request: FuzzRequest, world: World, catcher: TracebackCatcher
) -> Outcome:
    """GET the request with its raw query string, reading the whole (maybe streamed) body."""
    headers = {"Authorization": f"Bearer {world.token_by_name[request.token]}"}
    if request.accept is not None:
        headers["Accept"] = request.accept
    catcher.last = None
    response = client.get(
        request.path, headers=headers, environ_overrides={"QUERY_STRING": request.query}
    )
    try:
        body = response.get_data()
    except Exception:  # a streamed body that breaks halfway: the client gets a cut response
        return Outcome(500, response.mimetype, b"", traceback.format_exc(), response)
    finally:
        response.close()
    return Outcome(response.status_code, response.mimetype, body, catcher.last, response)


def contract_error_problem(outcome: Outcome) -> str | None:
    """What is wrong with a 4xx body (None: nothing): `{message}`, `errors` exactly on a 422
    and a 406."""
    if outcome.mimetype != "application/json":
        return f"a {outcome.status} answered as {outcome.mimetype!r}, not JSON"
    try:
        body = json.loads(outcome.body)
    except ValueError:
        return f"a {outcome.status} whose body is not JSON"
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("message"), str)
        or not body["message"]
    ):
        return f"a {outcome.status} without a message: {outcome.body[:200]!r}"
    if outcome.status not in (406, 422):
        return None if "errors" not in body else f"a {outcome.status} with `errors`"
    errors = body.get("errors")
    status = outcome.status
    if not isinstance(errors, dict) or not errors:
        return f"a {status} without an `errors` object"
    if status == 406 and list(errors) != ["format"]:
        return f"a 406 whose errors are not keyed `format`: {list(errors)}"
    for key, messages in errors.items():
        if not isinstance(messages, list) or not messages:
            return f"a {status} whose errors[{key!r}] is not a list of messages"
        if not all(isinstance(m, str) for m in messages):
            return f"a {status} whose errors[{key!r}] holds something other than text"
    return None


def list_envelope_problem(body: Any, event_id: int | None) -> str | None:
    """What is wrong with a 200 list body (None: nothing): `{data, links, meta}` of one event."""
    if not isinstance(body, dict) or set(body) != {"data", "links", "meta"}:
        return f"a list whose body is not {{data, links, meta}}: {str(body)[:200]}"
    data, links, meta = body["data"], body["links"], body["meta"]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        return "a list whose data is not a list of objects"
    if not isinstance(links, dict) or set(links) != set(LINKS):
        return f"a list whose links are {links!r}"
    if not all(link is None or isinstance(link, str) for link in links.values()):
        return "a list with a link that is not a URL"
    if not isinstance(meta, dict) or set(meta) not in (set(LENGTH_AWARE_META), set(CURSOR_META)):
        return f"a list whose meta is {meta!r}"
    per_page = meta["per_page"]
    if not isinstance(per_page, int) or per_page < 1 or len(data) > per_page:
        return f"a list of {len(data)} rows with per_page {per_page!r}"
    if "total" in meta and (not isinstance(meta["total"], int) or len(data) > meta["total"]):
        return f"a list of {len(data)} rows with total {meta['total']!r}"
    if "links" in meta and (problem := page_links_problem(links, meta)):
        return problem
    if event_id is not None:
        strays = [item.get("id") for item in data if item.get("event_id", event_id) != event_id]
        if strays:
            return f"rows {strays} of another event than {event_id}"
    return None


def page_links_problem(links: dict[str, Any], meta: dict[str, Any]) -> str | None:
    """`meta.links` agrees with `links`: its arrows are prev and next, at most one page active."""
    page_links = meta["links"]
    if not isinstance(page_links, list) or len(page_links) < 3:
        return f"a list whose meta.links is {page_links!r}"
    first, last = page_links[0], page_links[-1]
    if (first.get("url"), last.get("url")) != (links["prev"], links["next"]):
        return "a list whose meta.links arrows are not links.prev and links.next"
    active = [link.get("label") for link in page_links if link.get("active")]
    expected = [str(meta["current_page"])] if meta["current_page"] <= meta["last_page"] else []
    if active != expected:
        return f"a list on page {meta['current_page']} whose active page links are {active}"
    return None


def success_problem(request: FuzzRequest, outcome: Outcome) -> str | None:
    """What is wrong with a 200 (None: nothing), by the body's media type and the route."""
    if outcome.mimetype == "text/csv":
        rows = list(csv.reader(io.StringIO(outcome.body.decode())))
        if not rows or any(len(row) != len(rows[0]) for row in rows):
            return "a CSV whose rows do not all have the header's width"
        return None
    if outcome.mimetype == "application/x-ndjson":
        for line in outcome.body.decode().splitlines():
            if not isinstance(json.loads(line), dict):
                return "an NDJSON line that is not an object"
        return None
    if outcome.mimetype != "application/json":
        return f"a 200 answered as {outcome.mimetype!r}"
    try:
        body = json.loads(outcome.body)
    except ValueError:
        return "a 200 whose body is not JSON"
    listing = request.target.listing
    if listing == "paginated":
        event_id = path_event_id(request)
        return list_envelope_problem(body, event_id)
    if listing == "single" and not (isinstance(body, dict) and isinstance(body.get("data"), dict)):
        return f"one row not as {{data: {{...}}}}: {str(body)[:200]}"
    if not isinstance(body, dict):
        return f"a 200 whose body is not an object: {str(body)[:200]}"
    return None


def path_event_id(request: FuzzRequest) -> int | None:
    if "event_id" not in request.target.arguments:
        return None
    return int(request.path.split("/event/", 1)[1].split("/", 1)[0])


def problem(request: FuzzRequest, outcome: Outcome) -> str | None:
    """Why this answer breaks the property, or None when it keeps it."""
    try:
        if outcome.status >= 500:
            return f"a {outcome.status}"
        if 400 <= outcome.status < 500:
            return contract_error_problem(outcome)
        if outcome.status == 200:
            return success_problem(request, outcome)
        return f"an unexpected {outcome.status}"
    except (ValueError, UnicodeDecodeError) as error:  # a body that does not even decode
        return f"a {outcome.status} whose body does not parse: {error}"
