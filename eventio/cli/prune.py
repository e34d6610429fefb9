"""`flask tokens prune-expired`: delete expired OAuth-issued tokens (`sanctum:prune-expired`)."""

from __future__ import annotations

from datetime import datetime, timedelta

import click
from flask import current_app
from sqlalchemy import ColumnElement, Engine, delete, inspect, or_

from eventio.auth.guard import utcnow
from eventio.db.extensions import db
from eventio.models import PersonalAccessToken
from eventio.oauth.clients import token_name

TOKENS = PersonalAccessToken.__table__
# Every token `POST /oauth/token` issues is named after its client; nothing else is.
OAUTH_ISSUED = TOKENS.c.name.startswith(token_name(""), autoescape=True)


def write_engine() -> Engine:
    """The primary when DATABASE_URL is a read-only replica."""
    return db.engines["write" if current_app.config["WRITE_DATABASE_URL"] else None]


def expired_before(
    has_expires_at: bool, now: datetime, hours: int, lifetime_minutes: int | None
) -> ColumnElement[bool] | None:
    """Dead for more than `hours`: by its own `expires_at` (Sanctum 3 and later) or by the
    deployment's lifetime from `created_at` (TOKEN_EXPIRATION_MINUTES), as Sanctum prunes;
    None when neither can tell."""
    grace = timedelta(hours=hours)
    criteria = []
    if has_expires_at:
        criteria.append(TOKENS.c.expires_at < now - grace)
    if lifetime_minutes:
        criteria.append(TOKENS.c.created_at < now - timedelta(minutes=lifetime_minutes) - grace)
    return or_(*criteria) if criteria else None


@click.command("prune-expired")
@click.option(
    "--hours",
    type=click.IntRange(min=0),
    default=24,
    show_default=True,
    help="Delete tokens expired for more than this many hours.",
)
def prune_expired(hours: int) -> None:
    """Delete OAuth-issued tokens expired over --hours ago; prints how many."""
    engine = write_engine()
    columns = {column["name"] for column in inspect(engine).get_columns(TOKENS.name)}
    criterion = expired_before(
        "expires_at" in columns, utcnow(), hours, current_app.config["TOKEN_EXPIRATION_MINUTES"]
    )
    if criterion is None:
        click.echo(
            "Nothing to prune: `personal_access_tokens` has no `expires_at` column (Sanctum 2)"
            " and TOKEN_EXPIRATION_MINUTES is not set, so no token ever expires."
        )
        return
    with engine.begin() as connection:
        deleted = connection.execute(delete(TOKENS).where(OAUTH_ISSUED, criterion)).rowcount
    click.echo(f"Deleted {deleted} OAuth-issued tokens expired for more than {hours} hours.")
