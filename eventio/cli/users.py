"""`flask users …`: add the people who hold tokens."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from eventio.auth.guard import utcnow
from eventio.db.extensions import db
from eventio.models import User

users_cli = AppGroup("users", help="Users, the people who hold tokens.")


@users_cli.command("create")
@click.argument("name")
@click.argument("email")
def create(name: str, email: str) -> None:
    """Create a user; prints the new user's id."""
    name, email = name.strip(), email.strip()
    if not name:
        raise click.BadParameter("must not be empty.", param_hint="NAME")
    if "@" not in email.strip("@"):
        raise click.BadParameter(f"{email!r} is not an email address.", param_hint="EMAIL")
    if db.session.execute(select(User.id).where(User.email == email)).first():
        raise click.ClickException(f"A user with email {email} already exists.")
    now = utcnow()
    user = User(name=name, email=email, created_at=now, updated_at=now)
    db.session.add(user)
    db.session.commit()
    click.echo(user.id)
