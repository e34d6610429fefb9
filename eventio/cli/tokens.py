"""`flask tokens …`: issue Sanctum tokens (shown once), list them, revoke one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import delete, inspect, null, select
from sqlalchemy.orm import Session, scoped_session

from eventio.auth.guard import utcnow
from eventio.auth.tokens import create_token
from eventio.cli.rows import fetch
from eventio.db.extensions import db
from eventio.db.state import schema
from eventio.models import USER_MORPH_TYPE, PersonalAccessToken, User

# The end of MySQL's and MariaDB's `timestamp` type, which Laravel's columns are.
TIMESTAMP_END = datetime(2038, 1, 19, 3, 14, 7)

tokens_cli = AppGroup("tokens", help="Personal access tokens (Laravel Sanctum format).")


def issue_token(
    session: Session | scoped_session[Any],
    user_id: int,
    name: str,
    abilities: list[str],
    expires_at: datetime | None,
    now: datetime,
) -> str:
    """Store a token for the user and return the plain `<id>|<secret>`, which is not kept."""
    prefix = current_app.config["TOKEN_PREFIX"]
    return create_token(session, user_id, name, abilities, expires_at, now, prefix)  # type: ignore[arg-type]


class Timestamp(click.ParamType):  # type: ignore[type-arg]
    """An ISO 8601 date or time, as naive UTC (a time without an offset is taken as UTC)."""

    name = "ISO8601"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time, e.g. 2026-12-31T23:59:59Z.", param, ctx)
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        return parsed


@tokens_cli.command("issue")
@click.argument("user_id", type=int)
@click.option("--name", required=True, help="What the token is for, e.g. the client's name.")
@click.option("--ability", "abilities", multiple=True, help="Repeatable; default `*`.")
@click.option(
    "--expires-in-days", type=click.IntRange(min=1), help="Expire this many days from now."
)
@click.option("--expires-at", type=Timestamp(), help="Expire at this time (UTC unless given).")
def issue(
    user_id: int,
    name: str,
    abilities: tuple[str, ...],
    expires_in_days: int | None,
    expires_at: datetime | None,
) -> None:
    """Issue a token for USER_ID; prints the plain token once."""
    fetch(User, user_id, "user")
    now = utcnow()
    if expires_in_days is not None and expires_at is not None:
        raise click.UsageError("Give --expires-in-days or --expires-at, not both.")
    if expires_in_days is not None:
        expires_at = now + timedelta(days=expires_in_days)
    if expires_at is not None and expires_at <= now:
        raise click.BadParameter(
            f"{expires_at:%Y-%m-%d %H:%M:%S} UTC is past.", param_hint="--expires-at"
        )
    if not name.strip() or any(not ability.strip() for ability in abilities):
        raise click.UsageError("--name and --ability must not be empty.")
    if expires_at is not None and expires_at >= TIMESTAMP_END and expiry_is_a_timestamp():
        raise click.BadParameter(
            f"MySQL's timestamp columns end in {TIMESTAMP_END:%Y-%m-%d}: give an earlier time.",
            param_hint="--expires-at",
        )
    if expires_at is not None and schema().get().sanctum == 2:
        raise click.UsageError(
            "This token table (made by Sanctum 2) has no expires_at column: issue the token "
            "without --expires-in-days/--expires-at; TOKEN_EXPIRATION_MINUTES expires every "
            "token by age."
        )
    plain = issue_token(db.session, user_id, name, list(abilities) or ["*"], expires_at, now)
    click.echo(plain)
    click.echo("Store this token now: it will not be shown again.", err=True)


def expiry_is_a_timestamp() -> bool:
    """Whether `expires_at` is MySQL's `timestamp` (Laravel's column), which ends in 2038."""
    if db.engine.dialect.name != "mysql":
        return False
    columns = inspect(db.engine).get_columns("personal_access_tokens")
    return any(
        column["name"] == "expires_at" and "TIMESTAMP" in str(column["type"]).upper()
        for column in columns
    )


def shown(value: datetime | None) -> str:
    return "never" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


@tokens_cli.command("list")
@click.option("--user", "user_id", type=int, help="Only this user's tokens.")
def list_tokens(user_id: int | None) -> None:
    """List tokens (never their secrets nor hashes)."""
    table = PersonalAccessToken.__table__.c
    # A Sanctum 2 table has no `expires_at`: its tokens never expire by date.
    expires = (
        table.expires_at
        if schema().get().has_column("personal_access_tokens", "expires_at")
        else null()
    )
    statement = (
        select(
            table.id,
            table.name,
            table.tokenable_id,
            table.abilities,
            table.last_used_at,
            table.created_at,
            expires.label("expires_at"),
            User.email,
        )
        .outerjoin(User, User.id == table.tokenable_id)
        .where(table.tokenable_type == USER_MORPH_TYPE)
        .order_by(table.id)
    )
    if user_id is not None:
        statement = statement.where(table.tokenable_id == user_id)
    for token in db.session.execute(statement):
        owner = f"<{token.email}>" if token.email else "(user deleted)"
        click.echo(
            f"{token.id}  {token.name!r}  user {token.tokenable_id} {owner}  "
            f"abilities {token.abilities or '[]'}  last used {shown(token.last_used_at)}  "
            f"expires {shown(token.expires_at)}  created {shown(token.created_at)}"
        )


@tokens_cli.command("revoke")
@click.argument("token_id", type=int)
def revoke(token_id: int) -> None:
    """Revoke TOKEN_ID by deleting it, as Sanctum does."""
    table = PersonalAccessToken.__table__
    deleted = db.session.execute(delete(table).where(table.c.id == token_id)).rowcount
    if not deleted:
        raise click.ClickException(f"No token with id {token_id}.")
    db.session.commit()
    click.echo(f"Revoked token {token_id}.")
