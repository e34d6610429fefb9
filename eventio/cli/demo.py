"""`flask demo` loads a deterministic demo world (`flask demo-token` prints a token for it)."""

from __future__ import annotations

import random
import time

import click
from sqlalchemy import Connection, exists, select

from eventio.cli.bulk import BulkWriter
from eventio.cli.demo_bookings import BookingGenerator, Chunk, counts
from eventio.cli.demo_world import FLAGSHIP_EVENT, access, events
from eventio.cli.invocation import flask_command
from eventio.db.extensions import db

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
    click.echo(f"Event {FLAGSHIP_EVENT} is the flagship. A token: {flask_command()} demo-token")
