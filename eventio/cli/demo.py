"""`flask demo` loads a deterministic demo world; `flask demo-token` prints a token for it."""

from __future__ import annotations

import random
import time
from datetime import timedelta

import click
from sqlalchemy import Connection, exists, select

from eventio.auth.guard import utcnow
from eventio.cli.bulk import BulkWriter
from eventio.cli.demo_bookings import BookingGenerator, Chunk, counts
from eventio.cli.demo_world import DEMO_EMAIL, FLAGSHIP_EVENT, access, events
from eventio.cli.tokens import issue_token
from eventio.extensions import db
from eventio.models import User

DEMO_TABLES = (
    "users",
    "events",
    "tickets",
    "event_roles",
    "event_role_permissions",
    "event_users",
    "customers",
    "groups",
    "bookings",
    "booking_tickets",
)


def filled_tables(connection: Connection) -> list[str]:
    """The demo's tables that already hold rows."""
    return [
        name
        for name in DEMO_TABLES
        if connection.execute(select(exists().select_from(db.metadata.tables[name]))).scalar()
    ]


def load(connection: Connection, bookings: int, seed: int) -> dict[str, int]:
    """Write the demo world through the connection; returns the row count per table."""
    rng = random.Random(seed)
    event_table, ticket_table, tickets = events(rng)
    setup = [event_table, ticket_table, *access(sorted(tickets))]
    generator = BookingGenerator(rng, bookings, tickets)
    chunk_size = 5_000 if connection.dialect.name == "sqlite" else 50_000
    with BulkWriter.for_connection(connection) as writer:
        # First: on MySQL and MariaDB this is DDL, which commits what was written before it.
        writer.defer_indexes_and_keys(table.name for table in Chunk().tables())
        for table in setup:
            writer.write(table)
        for chunk in generator.chunks(chunk_size):
            for table in chunk.tables():
                writer.write(table)
        writer.finish()
    return {table.name: len(table.rows) for table in setup} | counts(generator)


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has rows.")
@click.option(
    "--bookings",
    type=click.IntRange(min=1),
    default=6000,
    show_default=True,
    help="How many bookings.",
)
@click.option("--seed", type=int, default=2026, show_default=True, help="Same seed, same rows.")
def demo(if_empty: bool, bookings: int, seed: int) -> None:
    """Fill an empty database with a deterministic demo world."""
    started = time.perf_counter()
    with db.engine.begin() as connection:
        filled = filled_tables(connection)
        if filled and if_empty:
            click.echo(f"The database already has data ({', '.join(filled)}); demo skipped.")
            return
        if filled:
            raise click.ClickException(
                f"The database already has rows in {', '.join(filled)}; the demo loads only "
                "into an empty database (--if-empty skips it quietly)."
            )
        written = load(connection, bookings, seed)
    seconds = time.perf_counter() - started
    click.echo(f"Demo world loaded in {seconds:.1f}s (seed {seed}):")
    for name, count in written.items():
        click.echo(f"  {name:<24}{count:>10}")
    click.echo(f"Event {FLAGSHIP_EVENT} is the flagship. A token: flask --app eventio demo-token")


@click.command("demo-token")
@click.option("--port", type=int, default=8000, show_default=True, help="Port in the curl line.")
def demo_token(port: int) -> None:
    """Print a new token for the demo user. 30 days, `*`, with a curl line to try."""
    user = db.session.execute(select(User).where(User.email == DEMO_EMAIL)).scalar()
    if user is None:
        raise click.ClickException(
            f"No demo user ({DEMO_EMAIL}); load the demo world first: flask --app eventio demo"
        )
    now = utcnow()
    expires_at = now + timedelta(days=30)
    token = issue_token(db.session, user.id, "demo-token", ["*"], expires_at, now)
    url = (
        f"http://127.0.0.1:{port}/api/v2/event/{FLAGSHIP_EVENT}/bookings"
        "?include=tickets.ticket,group.customer&per_page=5"
    )
    click.echo(f"Demo token for {user.name} <{user.email}>, expires {expires_at:%Y-%m-%d} UTC:")
    click.echo(f"  {token}")
    click.echo("Try:")
    click.echo(f'  curl -H "Authorization: Bearer {token}" "{url}"')
