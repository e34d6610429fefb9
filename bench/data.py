"""The bench database: created, migrated and filled once; what the requests are about."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from settings import BIN, DEEP_ROWS, PAGE, ROOT, Settings, log


def flask(settings: Settings, *args: str, capture: bool = False) -> str:
    """`flask --app eventio ...` on the run's database (settings.database_url)."""
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "eventio", *args],
        cwd=ROOT,
        env=settings.server_env(),
        capture_output=capture,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stderr or ''}{done.stdout or ''}")
    return done.stdout or ""


def connect(settings: Settings) -> psycopg.Connection[tuple[Any, ...]]:
    return psycopg.connect(settings.database_url, autocommit=True)


def ensure_database(settings: Settings) -> None:
    """Create, migrate and fill the bench database when needed (reused otherwise); ANALYZE."""
    name = conninfo_to_dict(settings.database_url)["dbname"]
    admin = make_conninfo(settings.database_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            log(f"creating database {name}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(name))))
    log("migrating (flask db upgrade)")
    flask(settings, "db", "upgrade", capture=True)
    with connect(settings) as conn:
        filled = conn.execute("SELECT count(*) FROM bookings").fetchone()
    if not filled or filled[0] == 0:
        log(f"loading the demo world: {settings.bookings:,} bookings (a few minutes, once)")
        flask(settings, "demo", "--bookings", str(settings.bookings), "--seed", str(settings.seed))
    else:
        log(f"reusing {filled[0]:,} bookings already in {name}")
    log("VACUUM (ANALYZE)")
    with connect(settings) as conn:
        conn.execute("VACUUM (ANALYZE)")


def issue_token(settings: Settings) -> str:
    output = flask(settings, "demo-token", capture=True)
    found = re.search(r"^\s*([0-9]+\|\S+)\s*$", output, re.MULTILINE)
    if found is None:
        raise SystemExit(f"No token in the output of `flask demo-token`:\n{output}")
    return found.group(1)


@dataclass(frozen=True)
class EventPick:
    """An event the requests are about, and the ids and fragment they use there."""

    id: int
    bookings: int
    confirmed: int
    booking_id: int
    fragment: str
    fragment_matches: int


def email_fragment(conn: psycopg.Connection[tuple[Any, ...]], event: int) -> tuple[str, int]:
    """The shortest `last.digits` fragment of a customer's email matching 2-20 at the event."""
    count = (
        "SELECT count(*) FROM customers c WHERE EXISTS (SELECT 1 FROM groups g "
        "WHERE g.customer_id = c.id AND g.event_id = %s) AND c.email ILIKE %s"
    )
    emails = conn.execute(
        "SELECT c.email FROM customers c WHERE EXISTS (SELECT 1 FROM groups g "
        "WHERE g.customer_id = c.id AND g.event_id = %s) "
        "AND c.email ~ '^[a-z]+[.][a-z]+[.][0-9]{4,}@' ORDER BY c.id LIMIT 30 OFFSET 50",
        (event,),
    ).fetchall()
    for (email,) in emails:
        _, last, number = email.split("@")[0].split(".")
        for digits in range(1, len(number) + 1):
            fragment = f"{last}.{number[:digits]}"
            found = conn.execute(count, (event, f"%{fragment}%")).fetchone()
            matches = found[0] if found else 0
            if 2 <= matches <= 20:
                return fragment, matches
    email = emails[0][0]
    return email.split("@")[0], 1


def pick_events(settings: Settings) -> tuple[EventPick, EventPick]:
    """The flagship (most bookings) and the event nearest BENCH_MEDIUM_BOOKINGS."""
    with connect(settings) as conn:
        sizes = conn.execute(
            "SELECT event_id, count(*), count(*) FILTER (WHERE status = 'confirmed') "
            "FROM bookings GROUP BY event_id ORDER BY count(*) DESC, event_id"
        ).fetchall()
        flagship = sizes[0]
        medium = min(sizes[1:], key=lambda s: (abs(s[1] - settings.medium_target), s[0]))
        picks = []
        for event, total, confirmed in (medium, flagship):
            booking = conn.execute(
                "SELECT b.id FROM bookings b JOIN groups g ON g.id = b.group_id "
                "WHERE b.event_id = %s AND g.customer_id IS NOT NULL AND "
                "(SELECT count(*) FROM booking_tickets bt WHERE bt.booking_id = b.id) >= 2 "
                "ORDER BY b.id LIMIT 1 OFFSET 500",
                (event,),
            ).fetchone()
            if booking is None:
                raise SystemExit(f"Event {event} has no booking with a customer and two lines.")
            fragment, matches = email_fragment(conn, event)
            picks.append(EventPick(event, total, confirmed, booking[0], fragment, matches))
    if flagship[2] <= DEEP_ROWS + PAGE:
        raise SystemExit(
            f"The flagship has {flagship[2]:,} confirmed bookings; {DEEP_ROWS:,} needed"
        )
    return picks[0], picks[1]


def data_size(settings: Settings) -> dict[str, int]:
    tables = ("events", "tickets", "customers", "groups", "bookings", "booking_tickets")
    with connect(settings) as conn:
        counts = {}
        for table in tables:
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            counts[table] = row.fetchone()[0]  # type: ignore[index]
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        counts["database bytes"] = size[0] if size else 0
    return counts
