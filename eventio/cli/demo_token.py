"""`flask demo-token`: the demo user's token, kept in `instance/demo-token` (readable by its
owner only) and printed again while it is valid, so that `make run` does not leave a new
30-day `*` token behind on every run. A kept token that was revoked, has expired, lost
its abilities, or belongs to a database made since, is replaced by a new one."""

from __future__ import annotations

import os
import shlex
from datetime import datetime, timedelta
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import select

from eventio.auth.guard import utcnow
from eventio.auth.tokens import find_token, lookup, statements_for
from eventio.cli.demo_world import DEMO_EMAIL, FLAGSHIP_EVENT
from eventio.cli.invocation import flask_command, shown_path
from eventio.cli.tokens import issue_token
from eventio.db.extensions import db
from eventio.db.state import schema
from eventio.models import PersonalAccessToken, User

TOKEN_FILE = "demo-token"
TOKEN_NAME = "demo-token"
LIFETIME = timedelta(days=30)
# A kept token is printed again only if it stays valid at least this much longer.
MARGIN = timedelta(days=1)


def token_path() -> Path:
    return Path(current_app.instance_path) / TOKEN_FILE


def read_kept(path: Path) -> str | None:
    """The token in the file, or None when there is none (or it cannot be read)."""
    try:
        text = path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


def keep(path: Path, plain: str) -> None:
    """Replace the file with one only its owner may read (0600); a directory made for it
    is its owner's only too (0700)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(plain + "\n")
    os.replace(temporary, path)


def still_valid(plain: str, user_id: int, now: datetime) -> bool:
    """Whether the API accepts the token for the demo user with every ability, now and
    for MARGIN longer (a revoked token has no row; a recreated database has another)."""
    minutes = current_app.config["TOKEN_EXPIRATION_MINUTES"]
    lifetime = timedelta(minutes=minutes) if minutes else None
    statements = statements_for(schema().get().sanctum)
    caller = find_token(db.session, plain, now + MARGIN, lifetime, statements)
    return caller is not None and caller.user_id == user_id and caller.can("*")


def has_expiry_column() -> bool:
    """Sanctum 2's table has no `expires_at`: its tokens never expire by themselves."""
    return schema().get().sanctum != 2


def expiry(plain: str) -> datetime | None:
    found = lookup(plain)
    if found is None or found.by_hash or not has_expiry_column():
        return None
    table = PersonalAccessToken.__table__.c
    return db.session.scalar(select(table.expires_at).where(table.id == found.key))


@click.command("demo-token")
@click.option("--port", type=int, default=8000, show_default=True, help="Port in the curl line.")
@click.option("--new", "fresh", is_flag=True, help="Issue a new token even if one is kept.")
@click.option(
    "--or-hint",
    is_flag=True,
    help="Without the demo user, say how to issue a token and exit 0 (`make run`).",
)
def demo_token(port: int, fresh: bool, or_hint: bool) -> None:
    """Print the demo user's token: the one kept in instance/demo-token while it is valid,
    else a new one (30 days, `*`) kept there; with a curl line to try."""
    flask = flask_command()
    user = db.session.execute(select(User).where(User.email == DEMO_EMAIL)).scalar()
    if user is None:
        message = (
            f"No demo user ({DEMO_EMAIL}) in this database: load the demo world into an "
            f"empty database with `{flask} demo`, or issue a token for a user of yours with "
            f"`{flask} tokens issue USER_ID --name NAME`"
        )
        if or_hint:
            click.echo(message)
            return
        raise click.ClickException(message)
    now = utcnow()
    path = token_path()
    kept = None if fresh else read_kept(path)
    if kept is not None and still_valid(kept, user.id, now):
        token, expires_at, how = kept, expiry(kept), "kept in"
    else:
        expires_at = now + LIFETIME if has_expiry_column() else None
        token = issue_token(db.session, user.id, TOKEN_NAME, ["*"], expires_at, now)
        how = "new, kept in"
        try:
            keep(path, token)
        except OSError as error:
            how = f"new, not kept: {error.strerror or error}:"
    until = "never expires" if expires_at is None else f"expires {expires_at:%Y-%m-%d} UTC"
    url = (
        f"http://127.0.0.1:{port}/api/v2/event/{FLAGSHIP_EVENT}/bookings"
        "?include=tickets.ticket,group.customer&per_page=5"
    )
    click.echo(f"Demo token for {user.name} <{user.email}>, {until} ({how} {shown_path(path)}):")
    click.echo(f"  {token}")
    click.echo("Try:")
    click.echo(f'  export TOKEN="$(cat {shlex.quote(shown_path(path))})"')
    click.echo(f'  curl -H "Authorization: Bearer {token}" "{url}"')
