"""`flask oauth …`: create a client, rotate its secret, revoke it, list clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from eventio.auth.guard import utcnow
from eventio.db.extensions import db
from eventio.models import OAuthClient
from eventio.oauth import store
from eventio.oauth.clients import create_client, revoke_client, rotate_secret

oauth_cli = AppGroup("oauth", help="OAuth 2.0 clients (client credentials grant).")


@contextmanager
def stores() -> Iterator[tuple[Session, Session]]:
    """The clients' and the tokens' sessions; a store that is not set up is one line saying
    what to do."""
    try:
        with store.sessions() as both:
            yield both
    except SQLAlchemyError as error:
        refused = store.unavailable(error)
        if refused is None:
            raise
        raise click.ClickException(refused.message) from None


@oauth_cli.command("create")
@click.argument("user_id", type=int)
@click.option("--name", required=True, help="What the client is, e.g. the partner's system.")
@click.option("--ability", "abilities", multiple=True, help="Repeatable; default `*`.")
def create(user_id: int, name: str, abilities: tuple[str, ...]) -> None:
    """Create a client acting as USER_ID; prints its id and secret once."""
    try:
        with stores() as (session, _):
            new = create_client(
                session, user_id, name, list(abilities) or ["*"], utcnow(), users=db.session
            )
    except LookupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"client_id:     {new.client_id}")
    click.echo(f"client_secret: {new.secret}")
    click.echo("Store the secret now: it is not shown again.")


@oauth_cli.command("rotate")
@click.argument("client_id")
@click.option(
    "--grace-hours", type=float, default=None, help="How long the old secret still works."
)
def rotate(client_id: str, grace_hours: float | None) -> None:
    """Give CLIENT_ID a new secret; the old one stays valid for the grace period."""
    hours = current_app.config["OAUTH_SECRET_GRACE_HOURS"] if grace_hours is None else grace_hours
    try:
        with stores() as (session, _):
            new = rotate_secret(session, client_id, timedelta(hours=hours), utcnow())
    except LookupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"client_secret: {new.secret}")
    click.echo(f"The previous secret works for {hours:g} more hour(s). Not shown again.")


@oauth_cli.command("revoke")
@click.argument("client_id")
def revoke(client_id: str) -> None:
    """Revoke CLIENT_ID and delete the tokens it was issued."""
    try:
        with stores() as (session, tokens):
            deleted = revoke_client(session, client_id, utcnow(), tokens=tokens)
    except LookupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Revoked {client_id}; {deleted} token(s) deleted.")


@oauth_cli.command("list")
def list_clients() -> None:
    """List clients (never their secrets)."""
    with stores() as (session, _):
        for client in session.execute(select(OAuthClient).order_by(OAuthClient.id)).scalars():
            state = "revoked" if client.revoked_at else "active"
            abilities = ", ".join(json.loads(client.abilities or "[]"))
            click.echo(
                f"{client.client_id}  {client.name}  user {client.user_id}  [{abilities}]  {state}"
            )
