"""The load's request mix over the demo world, and how each answer is judged.

Five callers (four demo users, one of them with two tokens) each ask about their own
events; a few requests are ones the caller may not make (403 expected), so that a cache
answering the wrong caller shows. Every probe's answer is fetched once before the load;
under load, an answer is right only when it is byte for byte that answer (a stats
report's `generated_at` aside), so a body meant for another caller, another event or
another filter set is caught, not just an error status.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy.engine import make_url

from eventio.cli.demo_world import FLAGSHIP_EVENT, USERS

TOKEN_NAME = "loadtest"
REQUEST_ID_PREFIX = "load-"
LIST_INCLUDES = "tickets.ticket,group.customer"
# A stats report says when it was computed: that moves, the numbers must not.
VOLATILE = re.compile(rb'"generated_at":"[^"]*"')
VOLATILE_LUA = '"generated_at":"[^"]*"'
MASKED = b'"generated_at":""'
# docs/errors.md: the only 503 bodies, each with a numeric Retry-After.
UNAVAILABLE_MESSAGES = (
    "The database is unavailable; try again shortly.",
    "The request took longer than the database allows and was stopped.",
)
UNAVAILABLE_BODIES = frozenset(
    json.dumps({"message": m}, separators=(",", ":")).encode() for m in UNAVAILABLE_MESSAGES
)
OK = "ok"
UNAVAILABLE = "503"


class MixError(RuntimeError):
    """The database or the server cannot serve the mix as it is meant."""


def user_id(name: str) -> int:
    """A demo user's id by name (eventio/cli/demo_world.py)."""
    return next(uid for uid, user_name, _ in USERS if user_name == name)


@dataclass(frozen=True)
class Caller:
    """One token: whose it is and what it reads."""

    name: str
    user_id: int


CALLERS = (
    Caller("manager", user_id("Demo Manager")),  # administers every event
    Caller("manager-2", user_id("Demo Manager")),  # the same user, another token
    Caller("finance", user_id("Finance Analyst")),  # events 1-3, bookings/groups/customers
    Caller("organiser", user_id("John Doe")),  # event 1 only
    Caller("reader", user_id("Bookings Reader")),  # bookings of events 1-2, nothing else
)


@dataclass(frozen=True)
class Probe:
    """One request of the mix: who asks what, how often, and the status it must get."""

    key: str
    caller: str
    path: str
    weight: int
    status: int = 200


@dataclass(frozen=True)
class WorldFacts:
    """The ids the mix needs, read from the database."""

    bookings: dict[int, int]  # event id -> bookings
    booking_ids: dict[int, tuple[int, int]]  # event id -> two bookings of it
    second_ticket: int  # of the flagship, for a filtered stats report


def read_facts(database_url: str) -> WorldFacts:
    with psycopg.connect(plain_url(database_url), autocommit=True) as conn:
        counts = dict(
            conn.execute(
                "SELECT event_id, count(*) FROM bookings WHERE event_id IN (1, 2, 3) "
                "GROUP BY event_id"
            ).fetchall()
        )
        booking_ids = {}
        for event in (1, 2):
            rows = conn.execute(
                "SELECT id FROM bookings WHERE event_id = %s ORDER BY id OFFSET %s LIMIT 2",
                (event, counts[event] // 3),
            ).fetchall()
            booking_ids[event] = (rows[0][0], rows[1][0])
        ticket = conn.execute(
            "SELECT id FROM tickets WHERE event_id = %s ORDER BY seq OFFSET 1 LIMIT 1",
            (FLAGSHIP_EVENT,),
        ).fetchone()
    if ticket is None or set(counts) != {1, 2, 3}:
        raise MixError("The database does not hold the demo world (flask --app eventio demo).")
    return WorldFacts(counts, booking_ids, ticket[0])


def build_mix(facts: WorldFacts) -> list[Probe]:
    """The realistic mix: mostly bookings lists with includes, then stats and single rows."""
    e1 = FLAGSHIP_EVENT
    middle_page = max(1, math.ceil(facts.bookings[e1] / 100) // 2)
    (b1, b1b), (b2, _) = facts.booking_ids[e1], facts.booking_ids[2]
    lists = f"include={LIST_INCLUDES}&per_page=100"
    flagship = f"/api/v2/event/{e1}"
    return [
        Probe("bookings", "manager", f"{flagship}/bookings?{lists}", 4),
        Probe("bookings-mid", "manager", f"{flagship}/bookings?{lists}&page={middle_page}", 1),
        Probe(
            "bookings-provisional",
            "manager",
            f"{flagship}/bookings?filter[status]=provisional&sort=-created_at"
            "&include=tickets&per_page=100",
            2,
        ),
        Probe(
            "bookings-by-ref",
            "manager",
            f"{flagship}/bookings?filter[booking_type]=participant"
            "&sort=booking_reference&per_page=50",
            1,
        ),
        Probe("stats", "manager", f"{flagship}/stats", 2),
        Probe("stats-ticket", "manager", f"{flagship}/stats?ticketId={facts.second_ticket}", 1),
        Probe("booking", "manager", f"{flagship}/bookings/{b1}?include={LIST_INCLUDES}", 1),
        Probe("booking-b", "manager", f"{flagship}/bookings/{b1b}?include=tickets", 1),
        Probe("customers", "manager", f"{flagship}/customers?per_page=50&sort=-id", 1),
        Probe("events", "manager", "/api/v2/events", 1),
        Probe("user", "manager", "/api/v2/user", 1),
        Probe("bookings", "manager-2", f"/api/v2/event/2/bookings?{lists}", 2),
        Probe("stats", "manager-2", "/api/v2/event/2/stats", 1),
        Probe("booking", "manager-2", f"/api/v2/event/2/bookings/{b2}?include={LIST_INCLUDES}", 1),
        Probe("groups", "manager-2", "/api/v2/event/2/groups?include=customer&per_page=50", 1),
        Probe("user", "manager-2", "/api/v2/user", 1),
        Probe(
            "bookings", "finance", "/api/v2/event/3/bookings?include=group.customer&per_page=100", 2
        ),
        Probe("stats", "finance", "/api/v2/event/3/stats", 1),
        Probe("customers", "finance", "/api/v2/event/3/customers?per_page=50", 1),
        Probe("events", "finance", "/api/v2/events", 1),
        Probe("user", "finance", "/api/v2/user", 1),
        Probe("other-event", "finance", "/api/v2/event/4/bookings", 1, status=403),
        Probe(
            "bookings",
            "organiser",
            f"{flagship}/bookings?include=tickets.ticket&per_page=100",
            1,
        ),
        Probe("stats", "organiser", f"{flagship}/stats", 1),
        Probe("events", "organiser", "/api/v2/events", 1),
        Probe("user", "organiser", "/api/v2/user", 1),
        Probe("other-stats", "organiser", "/api/v2/event/2/stats", 1, status=403),
        Probe("bookings", "reader", f"{flagship}/bookings?include=tickets&per_page=100", 1),
        Probe("user", "reader", "/api/v2/user", 1),
        # The manager's report of the same event is cached meanwhile: never for this caller.
        Probe("stats", "reader", f"{flagship}/stats", 1, status=403),
    ]


def sequence(probes: list[Probe], seed: int = 1) -> list[int]:
    """Probe indexes, each repeated by its weight, in a fixed shuffled order."""
    order = [index for index, probe in enumerate(probes) for _ in range(probe.weight)]
    random.Random(seed).shuffle(order)
    return order


def request_id(index: int) -> str:
    """The X-Request-ID a probe is sent with; the API echoes it, which ties answer to probe."""
    return f"{REQUEST_ID_PREFIX}{index}"


def probe_index(echoed: str | None) -> int | None:
    if not echoed or not echoed.startswith(REQUEST_ID_PREFIX):
        return None
    digits = echoed.removeprefix(REQUEST_ID_PREFIX)
    return int(digits) if digits.isdigit() else None


def mask(body: bytes) -> bytes:
    return VOLATILE.sub(MASKED, body)


def headers_for(token: str, index: int) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "X-Request-ID": request_id(index),
    }


def verdict(
    probe: Probe, expected: bytes, status: int, headers: Mapping[str, str], body: bytes
) -> str:
    """`ok`, `503` (documented), or what was wrong, e.g. `wrong-body`, `status-500`."""
    if status == probe.status and mask(body) == expected:
        return OK
    if status == 503:
        documented = headers.get("Retry-After", "").isdigit() and body.strip() in UNAVAILABLE_BODIES
        return UNAVAILABLE if documented else "503-undocumented"
    if status == probe.status:
        return "wrong-body"
    return f"status-{status}"


def plain_url(database_url: str) -> str:
    """A libpq URL (psycopg), from an SQLAlchemy-style one."""
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


def with_port(database_url: str, host: str, port: int) -> str:
    """The same database, reached at another address (a proxy)."""
    url = make_url(database_url).set(host=host, port=port)
    return url.render_as_string(hide_password=False)


def issue_tokens(database_url: str, callers: Iterable[Caller]) -> dict[str, str]:
    """A fresh `*` token per caller, one day long; earlier load-test tokens are revoked."""
    from eventio import create_app
    from eventio.auth.guard import utcnow
    from eventio.cli.tokens import issue_token
    from eventio.db.extensions import db

    with psycopg.connect(plain_url(database_url), autocommit=True) as conn:
        conn.execute("DELETE FROM personal_access_tokens WHERE name = %s", (TOKEN_NAME,))
    app = create_app({"DATABASE_URL": database_url, "RATE_LIMIT_ENABLED": False})
    tokens = {}
    with app.app_context():
        now = utcnow()
        for caller in callers:
            tokens[caller.name] = issue_token(
                db.session, caller.user_id, TOKEN_NAME, ["*"], now + timedelta(days=1), now
            )
        db.session.commit()
        db.engine.dispose()
    return tokens


def expected_bodies(
    base_url: str, probes: list[Probe], tokens: Mapping[str, str], session: Any
) -> list[bytes]:
    """Each probe's answer before the load, asked twice (the second from the caches):
    both must be the probe's status and the same body, or the probe cannot be judged."""
    bodies = []
    for index, probe in enumerate(probes):
        seen = []
        for _ in range(2):
            response = session.get(
                base_url + probe.path, headers=headers_for(tokens[probe.caller], index), timeout=30
            )
            if response.status_code != probe.status:
                raise MixError(
                    f"{probe.caller} {probe.path}: {response.status_code} before the load, "
                    f"{probe.status} expected: {response.text[:300]}"
                )
            seen.append(mask(response.content))
        if seen[0] != seen[1]:
            raise MixError(f"{probe.caller} {probe.path}: two different answers at rest")
        bodies.append(seen[0])
    return bodies


def lua_string(text: str) -> str:
    """A Lua long string holding `text` verbatim."""
    level = 0
    while (text + f"]{'=' * level}]").find(f"]{'=' * level}]") != len(text):
        level += 1
    eq = "=" * level
    # Lua drops a newline right after the opening bracket: give it one to drop.
    return f"[{eq}[\n{text}]{eq}]"


def lua_plan(
    probes: list[Probe], tokens: Mapping[str, str], bodies: list[bytes], order: list[int]
) -> str:
    """The plan `load_mix.lua` reads: probes (1-based, as Lua counts), order and 503 bodies."""
    lines = ["return {", "  probes = {"]
    for index, (probe, body) in enumerate(zip(probes, bodies, strict=True)):
        lines.append(
            "    {"
            f"key = {lua_string(probe.caller + ':' + probe.key)}, "
            f"path = {lua_string(probe.path)}, "
            f"token = {lua_string(tokens[probe.caller])}, "
            f"request_id = {lua_string(request_id(index))}, "
            f"status = {probe.status}, "
            f"volatile = {'true' if VOLATILE.search(body) else 'false'}, "
            f"body = {lua_string(body.decode())}"
            "},"
        )
    lines.append("  },")
    lines.append("  order = {" + ", ".join(str(i + 1) for i in order) + "},")
    lines.append(f"  volatile = {lua_string(VOLATILE_LUA)},")
    lines.append(f"  masked = {lua_string(MASKED.decode())},")
    unavailable = ", ".join(f"[ {lua_string(b.decode())} ] = true" for b in UNAVAILABLE_BODIES)
    lines.append(f"  unavailable = {{{unavailable}}},")
    lines.append("}")
    return "\n".join(lines) + "\n"


def database_name(database_url: str) -> str:
    return str(conninfo_to_dict(plain_url(database_url))["dbname"])


def admin_url(database_url: str) -> str:
    return make_conninfo(plain_url(database_url), dbname="postgres")
