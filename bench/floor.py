"""The floor: the benchmarked requests as a bare WSGI app over hand-written SQL and orjson."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode
from wsgiref.types import StartResponse, WSGIEnvironment

import orjson
import psycopg
import redis
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://root@127.0.0.1:5432/eventio_bench")
SECRET_KEY = os.environ.get("SECRET_KEY", "").encode()
STATS_TTL = int(os.environ.get("STATS_CACHE_TTL") or 300)
# psycopg prepares a statement on its 5th execution; FLOOR_PREPARE=0 never prepares (as the API).
# The API's default statement timeout, so that both give up on a statement alike under
# overload, and neither leaves the other a backlog of statements to compete with.
STATEMENT_TIMEOUT_MS = int(os.environ.get("STATEMENT_TIMEOUT_MS") or 10_000)
PREPARE_THRESHOLD = 5 if os.environ.get("FLOOR_PREPARE", "1") != "0" else None
ACTIVE = ("provisional", "confirmed", "waiting_list")
USER_TYPE = "App\\Models\\User"
LIST_INCLUDE = "tickets.ticket,group.customer"
SINGLE_INCLUDE = "tickets,group.customer"
OFF = {"0", "false", "off", "no"}

Row = tuple[Any, ...]
Headers = list[tuple[str, str]]


def ts(column: str) -> str:
    """A timestamp as the API writes it, formatted by PostgreSQL: `…T14:30:00.000000Z`."""
    return f"""to_char({column}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


USER_COLUMNS = "t.token, t.abilities, t.expires_at, u.id, u.name, u.email"
AUTH_USER = f"""
SELECT {USER_COLUMNS}
FROM personal_access_tokens t JOIN users u ON u.id = t.tokenable_id
WHERE t.id = %(token)s AND t.tokenable_type = %(type)s"""
# The token, its user, the event and whether the user may read `area` there: one statement.
AUTH_EVENT = f"""
SELECT {USER_COLUMNS}, e.id, e.name, EXISTS (
    SELECT 1 FROM event_users eu
    JOIN event_roles r ON r.id = eu.event_role_id AND r.event_id = eu.event_id
    JOIN event_role_permissions p ON p.event_role_id = r.id
    WHERE eu.user_id = u.id AND eu.event_id = e.id AND eu.active
      AND p.area = %(area)s AND p.permission IN ('read', 'write', 'admin'))
FROM personal_access_tokens t JOIN users u ON u.id = t.tokenable_id
LEFT JOIN events e ON e.id = %(event)s
WHERE t.id = %(token)s AND t.tokenable_type = %(type)s"""

BOOKING_COLUMNS = (
    "b.id, b.event_id, b.group_id, b.booking_type, b.booking_reference, b.status, "
    f"{ts('b.created_at')}, {ts('b.updated_at')}"
)
GROUP_COLUMNS = (
    f"g.id, g.event_id, g.customer_id, g.name, g.association, {ts('g.created_at')}, "
    f"{ts('g.updated_at')}"
)
CUSTOMER_COLUMNS = (
    "c.id, trim(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')), c.email, "
    f"c.post_code, {ts('c.created_at')}, {ts('c.updated_at')}"
)
WITH_GROUP = f"""{BOOKING_COLUMNS}, {GROUP_COLUMNS}, {CUSTOMER_COLUMNS}
FROM bookings b
LEFT JOIN groups g ON g.id = b.group_id AND g.event_id = %(event)s
LEFT JOIN customers c ON c.id = g.customer_id"""
COUNT_BOOKINGS = "SELECT count(*) FROM bookings WHERE event_id = %(event)s AND status = %(status)s"
# The page's ids come from the index alone (a deferred join), then their rows are joined.
OFFSET_PAGE = f"""
WITH page AS (
    SELECT id FROM bookings WHERE event_id = %(event)s AND status = %(status)s
    ORDER BY created_at DESC, id LIMIT %(limit)s OFFSET %(offset)s)
SELECT {WITH_GROUP} JOIN page ON page.id = b.id
ORDER BY b.created_at DESC, b.id"""
CURSOR_PAGE = f"""
WITH page AS (
    SELECT id FROM bookings WHERE event_id = %(event)s AND status = %(status)s
      AND created_at <= %(at)s AND (created_at < %(at)s OR (created_at = %(at)s AND id > %(id)s))
    ORDER BY created_at DESC, id LIMIT %(limit)s)
SELECT {WITH_GROUP} JOIN page ON page.id = b.id
ORDER BY b.created_at DESC, b.id"""
FIRST_CURSOR_PAGE = f"""
WITH page AS (
    SELECT id FROM bookings WHERE event_id = %(event)s AND status = %(status)s
    ORDER BY created_at DESC, id LIMIT %(limit)s)
SELECT {WITH_GROUP} JOIN page ON page.id = b.id
ORDER BY b.created_at DESC, b.id"""
ONE_BOOKING = f"SELECT {WITH_GROUP} WHERE b.id = %(booking)s AND b.event_id = %(event)s"
LINES = f"""
SELECT bt.id, bt.booking_id, bt.ticket_id, t.title, t.participant_type, bt.qty, bt.price::text,
       {ts("bt.created_at")}, {ts("bt.updated_at")},
       t.id, t.event_id, t.price::text, t.seq, {ts("t.created_at")}, {ts("t.updated_at")}
FROM booking_tickets bt LEFT JOIN tickets t ON t.id = bt.ticket_id
WHERE bt.booking_id = ANY(%(bookings)s) ORDER BY bt.id"""
STATS = """
SELECT t.id, t.participant_type, t.title, coalesce(s.confirmed, 0), coalesce(s.provisional, 0)
FROM tickets t LEFT JOIN (
    SELECT bt.ticket_id,
           sum(bt.qty) FILTER (WHERE b.status = 'confirmed') AS confirmed,
           sum(bt.qty) FILTER (WHERE b.status = 'provisional') AS provisional
    FROM booking_tickets bt JOIN bookings b ON b.id = bt.booking_id
    WHERE b.event_id = %(event)s AND b.status IN ('confirmed', 'provisional')
    GROUP BY bt.ticket_id) s ON s.ticket_id = t.id
WHERE t.event_id = %(event)s
ORDER BY t.seq, t.id"""
CUSTOMERS_WHERE = """
FROM customers c
WHERE EXISTS (SELECT 1 FROM groups g WHERE g.customer_id = c.id AND g.event_id = %(event)s)
  AND c.email ILIKE %(pattern)s ESCAPE '\\'"""
COUNT_CUSTOMERS = f"SELECT count(*) {CUSTOMERS_WHERE}"
CUSTOMERS_PAGE = (
    f"SELECT {CUSTOMER_COLUMNS} {CUSTOMERS_WHERE} ORDER BY c.id LIMIT %(limit)s OFFSET %(offset)s"
)
EXPORT = f"""
COPY (SELECT b.id, b.event_id, b.group_id, b.booking_type, b.booking_reference, b.status,
             {ts("b.created_at")} AS created_at, {ts("b.updated_at")} AS updated_at
      FROM bookings b WHERE b.event_id = {{event}} AND b.status IN ('provisional', 'confirmed',
      'waiting_list') ORDER BY b.id)
TO STDOUT WITH (FORMAT csv, HEADER)"""

_local = threading.local()
_redis = redis.Redis.from_url(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/9")


class Problem(Exception):
    """An error answered in the API's body: `{"message": …}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def connection() -> psycopg.Connection[Row]:
    """One autocommit connection per worker thread, opened on first use."""
    conn: psycopg.Connection[Row] | None = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = psycopg.connect(
            DATABASE_URL,
            autocommit=True,
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        )
        conn.prepare_threshold = PREPARE_THRESHOLD
        _local.conn = conn
    return conn


class Call:
    """One request: its query, its connection, and how many statements it sent."""

    def __init__(self, environ: WSGIEnvironment) -> None:
        self.environ = environ
        self.pairs = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        self.args = dict(self.pairs)
        self.conn = connection()
        self.statements = 0
        host = environ.get("HTTP_HOST") or environ["SERVER_NAME"]
        self.path = f"{environ['wsgi.url_scheme']}://{host}{environ.get('PATH_INFO', '')}"

    def all(self, sql: str, params: dict[str, Any]) -> list[Row]:
        self.statements += 1
        return self.conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def one(self, sql: str, params: dict[str, Any]) -> Row | None:
        self.statements += 1
        return self.conn.execute(sql, params).fetchone()  # type: ignore[arg-type]

    def number(self, name: str, default: int) -> int:
        raw = self.args.get(name)
        if raw is None:
            return default
        if not raw.isdigit() or int(raw) < 1:
            raise Problem(422, f"The {name} must be a whole number of at least 1.")
        return int(raw)

    def authenticate(self, area: str | None = None, event: int | None = None) -> Row:
        """As Sanctum: `<id>|<secret>`, the row by id, SHA-256 compared in constant time."""
        scheme, _, token = self.environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        token_id, bar, secret = token.strip().partition("|")
        if scheme.lower() != "bearer" or not bar or not token_id.isdigit() or not secret:
            raise Problem(401, "Unauthenticated.")
        params = {"token": int(token_id), "type": USER_TYPE, "area": area, "event": event}
        row = self.one(AUTH_USER if event is None else AUTH_EVENT, params)
        digest = hashlib.sha256(secret.encode()).hexdigest()
        if row is None or not hmac.compare_digest(row[0] or "", digest):
            raise Problem(401, "Unauthenticated.")
        if row[2] is not None and row[2] <= datetime.now(UTC).replace(tzinfo=None):
            raise Problem(401, "Unauthenticated.")
        if area is not None:
            abilities = orjson.loads(row[1] or "[]")
            if "*" not in abilities and f"{area}.read" not in abilities:
                raise Problem(403, f"This token does not have the `{area}.read` ability.")
        if event is not None:
            if row[6] is None:
                raise Problem(404, f"Event {event} not found.")
            if not row[8]:
                raise Problem(
                    403, f"You do not have `read` permission on `{area}` for event {event}."
                )
        return row


def user(call: Call) -> dict[str, Any]:
    row = call.authenticate()
    return {"data": {"id": row[3], "name": row[4], "email": row[5]}}


def booking_item(row: Row) -> dict[str, Any]:
    """A booking and its group (with customer), from a `WITH_GROUP` row."""
    group = None
    if row[8] is not None:
        customer = None
        if row[15] is not None:
            customer = {
                "id": row[15],
                "full_name": row[16],
                "email_address": row[17],
                "post_code": row[18],
                "created_at": row[19],
                "updated_at": row[20],
            }
        group = {
            "id": row[8],
            "event_id": row[9],
            "customer_id": row[10],
            "name": row[11],
            "association": row[12],
            "created_at": row[13],
            "updated_at": row[14],
            "customer": customer,
        }
    return {
        "id": row[0],
        "event_id": row[1],
        "group_id": row[2],
        "booking_type": row[3],
        "booking_reference": row[4],
        "status": row[5],
        "created_at": row[6],
        "updated_at": row[7],
        "tickets": [],
        "group": group,
    }


def attach_lines(call: Call, event: int, items: list[dict[str, Any]], nested: bool) -> None:
    """Each booking's ticket lines, with their ticket when `nested`, in one statement."""
    if not items:
        return
    by_booking = {item["id"]: item["tickets"] for item in items}
    for r in call.all(LINES, {"bookings": list(by_booking)}):
        line: dict[str, Any] = {
            "id": r[0],
            "booking_id": r[1],
            "ticket_id": r[2],
            "ticket_title": r[3],
            "participant_type": r[4],
            "qty": r[5],
            "price": r[6],
            "created_at": r[7],
            "updated_at": r[8],
        }
        if nested:
            line["ticket"] = (
                {
                    "id": r[9],
                    "event_id": r[10],
                    "title": r[3],
                    "participant_type": r[4],
                    "price": r[11],
                    "seq": r[12],
                    "created_at": r[13],
                    "updated_at": r[14],
                }
                if r[9] is not None and r[10] == event
                else None
            )
        by_booking[r[1]].append(line)


def page_url(call: Call, page: int) -> str:
    kept = [(k, v) for k, v in call.pairs if k != "page"]
    return f"{call.path}?{urlencode([*kept, ('page', str(page))])}"


def envelope(call: Call, data: list[dict[str, Any]], total: int, page: int, per_page: int) -> Any:
    """Laravel's length-aware paginator, as the API renders it."""
    last = max(-(-total // per_page), 1)
    offset = (page - 1) * per_page
    return {
        "data": data,
        "links": {
            "first": page_url(call, 1),
            "last": page_url(call, last),
            "prev": page_url(call, page - 1) if page > 1 else None,
            "next": page_url(call, page + 1) if page < last else None,
        },
        "meta": {
            "current_page": page,
            "from": offset + 1 if data else None,
            "last_page": last,
            "path": call.path,
            "per_page": per_page,
            "to": offset + len(data) if data else None,
            "total": total,
        },
    }


# The API's cursor (eventio/querybuilder/cursor.py): AES-256-GCM under a key derived from
# SECRET_KEY, the route as associated data, a random 12-byte nonce, base64url.
CURSOR_LABEL = b"eventio pagination cursor v1"
CURSOR_CIPHER = AESGCM(hmac.new(SECRET_KEY, CURSOR_LABEL, hashlib.sha256).digest())
CURSOR_CONTEXT = CURSOR_LABEL + b"\x00/api/v2/event/<id:event_id>/bookings"


def encode_cursor(values: list[Any], backwards: bool) -> str:
    payload = orjson.dumps({"s": "-created_at,id", "v": values, "b": backwards})
    nonce = os.urandom(12)
    sealed = nonce + CURSOR_CIPHER.encrypt(nonce, payload, CURSOR_CONTEXT)
    return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()


def decode_cursor(text: str) -> list[Any]:
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    try:
        payload = CURSOR_CIPHER.decrypt(raw[:12], raw[12:], CURSOR_CONTEXT)
    except (ValueError, InvalidTag):
        raise Problem(422, "The cursor is not one this floor serves.") from None
    data = orjson.loads(payload)
    if data.get("s") != "-created_at,id" or data["b"]:
        raise Problem(422, "The cursor is not one this floor serves.")
    return list(data["v"])


def cursor_url(call: Call, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    kept = [(k, v) for k, v in call.pairs if k not in ("cursor", "page")]
    return f"{call.path}?{urlencode([*kept, ('cursor', cursor)])}"


def position(item: dict[str, Any]) -> list[Any]:
    """A row's place in `-created_at,id`, as the API's cursor holds it (`isoformat()`)."""
    at = item["created_at"]
    if at is not None:
        at = at[:-8] if at.endswith(".000000Z") else at[:-1]
    return [at, item["id"]]


def bookings(call: Call, event: int) -> Any:
    if call.args.get("format") == "csv":
        return export(call, event)
    call.authenticate("bookings", event)
    status = call.args.get("filter[status]")
    if (
        status not in ACTIVE
        or call.args.get("sort") != "-created_at"
        or call.args.get("include") != LIST_INCLUDE
    ):
        raise Problem(400, "The floor serves only the benchmarked bookings request.")
    per_page = min(call.number("per_page", 15), 1000)
    params: dict[str, Any] = {"event": event, "status": status, "limit": per_page}
    cursor = call.args.get("cursor")
    if cursor is None:
        page = call.number("page", 1)
        total = call.one(COUNT_BOOKINGS, params)[0]  # type: ignore[index]
        params["offset"] = (page - 1) * per_page
        rows = call.all(OFFSET_PAGE, params) if params["offset"] < total else []
        items = [booking_item(row) for row in rows]
        attach_lines(call, event, items, nested=True)
        return envelope(call, items, total, page, per_page)
    params["limit"] = per_page + 1
    if cursor:
        params["at"], params["id"] = decode_cursor(cursor)
        rows = call.all(CURSOR_PAGE, params)
    else:
        rows = call.all(FIRST_CURSOR_PAGE, params)
    more = len(rows) > per_page
    items = [booking_item(row) for row in rows[:per_page]]
    attach_lines(call, event, items, nested=True)
    next_cursor = encode_cursor(position(items[-1]), False) if items and more else None
    prev_cursor = encode_cursor(position(items[0]), True) if items and cursor else None
    return {
        "data": items,
        "links": {
            "first": None,
            "last": None,
            "prev": cursor_url(call, prev_cursor),
            "next": cursor_url(call, next_cursor),
        },
        "meta": {
            "path": call.path,
            "per_page": per_page,
            "next_cursor": next_cursor,
            "prev_cursor": prev_cursor,
        },
    }


def booking(call: Call, event: int, booking_id: int) -> Any:
    call.authenticate("bookings", event)
    if call.args.get("include") != SINGLE_INCLUDE:
        raise Problem(400, "The floor serves only the benchmarked booking request.")
    row = call.one(ONE_BOOKING, {"event": event, "booking": booking_id})
    if row is None:
        raise Problem(404, "Booking not found.")
    item = booking_item(row)
    attach_lines(call, event, [item], nested=False)
    return {"data": item}


def stats(call: Call, event: int) -> Any:
    """The report from Redis when cached there, else one aggregate statement (then cached)."""
    row = call.authenticate("event", event)
    key = f"floor:stats:{event}"
    refresh = "no-cache" in call.args and call.args["no-cache"].strip().lower() not in OFF
    if not refresh:
        cached = _redis.get(key)
        if cached is not None:
            return Raw(cached)
    lines = [
        {
            "id": r[0],
            "participant_type": r[1],
            "title": r[2],
            "total_confirmed_tickets_sold": int(r[3]),
            "total_provisional_tickets_sold": int(r[4]),
        }
        for r in call.all(STATS, {"event": event})
    ]
    confirmed = sum(s["total_confirmed_tickets_sold"] for s in lines)
    provisional = sum(s["total_provisional_tickets_sold"] for s in lines)
    body = orjson.dumps(
        {
            "event_id": event,
            "event_name": row[7],
            "stats": lines,
            "total_confirmed": confirmed,
            "total_provisional": confirmed + provisional,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    _redis.set(key, body, ex=STATS_TTL)
    return Raw(body)


def customers(call: Call, event: int) -> Any:
    call.authenticate("customers", event)
    fragment = call.args.get("filter[email]")
    if not fragment or set(call.args) - {"filter[email]", "page", "per_page"}:
        raise Problem(400, "The floor serves only the benchmarked customers request.")
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    page, per_page = call.number("page", 1), min(call.number("per_page", 15), 1000)
    params = {"event": event, "pattern": f"%{escaped}%", "limit": per_page}
    params["offset"] = (page - 1) * per_page
    total = call.one(COUNT_CUSTOMERS, params)[0]  # type: ignore[index]
    rows = call.all(CUSTOMERS_PAGE, params) if params["offset"] < total else []
    keys = ("id", "full_name", "email_address", "post_code", "created_at", "updated_at")
    items = [dict(zip(keys, row, strict=True)) for row in rows]
    return envelope(call, items, total, page, per_page)


class Raw(bytes):
    """A body already encoded."""


class Stream:
    """A streamed body: its media type and its chunks."""

    def __init__(self, media_type: str, chunks: Iterator[bytes]) -> None:
        self.media_type = media_type
        self.chunks = chunks


def export(call: Call, event: int) -> Stream:
    """The event's active bookings as CSV, straight from COPY, in 64 KB chunks."""
    call.authenticate("bookings", event)
    call.statements += 1
    conn = call.conn

    def chunks() -> Iterator[bytes]:
        buffer = bytearray()
        with conn.cursor() as cursor, cursor.copy(EXPORT.format(event=int(event))) as copy:
            for data in copy:
                buffer += data
                if len(buffer) >= 65536:
                    yield bytes(buffer)
                    buffer.clear()
        if buffer:
            yield bytes(buffer)

    return Stream("text/csv; charset=utf-8", chunks())


ROUTES = [
    (re.compile(r"/api/v2/user"), user),
    (re.compile(r"/api/v2/event/([0-9]{1,18})/bookings"), bookings),
    (re.compile(r"/api/v2/event/([0-9]{1,18})/bookings/([0-9]{1,18})"), booking),
    (re.compile(r"/api/v2/event/([0-9]{1,18})/stats"), stats),
    (re.compile(r"/api/v2/event/([0-9]{1,18})/customers"), customers),
]


def dispatch(call: Call) -> Any:
    path = call.environ.get("PATH_INFO", "")
    for pattern, view in ROUTES:
        match = pattern.fullmatch(path)
        if match:
            return view(call, *(int(g) for g in match.groups()))
    raise Problem(404, "Not Found")


def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Serve one request; `X-Floor-Statements` says how many SQL statements it sent."""
    status, body, media_type = "200 OK", b"", "application/json"
    call = None
    try:
        call = Call(environ)
        result = dispatch(call)
        if isinstance(result, Stream):
            headers = [
                ("Content-Type", result.media_type),
                ("Content-Disposition", 'attachment; filename="bookings.csv"'),
                ("X-Floor-Statements", str(call.statements)),
            ]
            start_response(status, headers)
            return result.chunks
        body = result if isinstance(result, Raw) else orjson.dumps(result)
    except Problem as problem:
        status, body = f"{problem.status} Error", orjson.dumps({"message": problem.message})
    except psycopg.Error:
        _local.conn = None  # a broken connection is reopened by the next request
        raise
    headers: Headers = [
        ("Content-Type", media_type),
        ("Content-Length", str(len(body))),
        ("X-Floor-Statements", str(call.statements if call else 0)),
    ]
    start_response(status, headers)
    return [body]
