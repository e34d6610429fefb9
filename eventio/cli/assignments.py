"""`flask assignments …`: give a user a role at an event, take it away, list them."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select, true

from eventio.auth.guard import utcnow
from eventio.cli.rows import fetch
from eventio.db.extensions import db
from eventio.models import Event, EventRole, EventUser, User

assignments_cli = AppGroup("assignments", help="Users' roles at events (event_users).")


@assignments_cli.command("add")
@click.argument("user_id", type=int)
@click.argument("event_id", type=int)
@click.argument("role_id", type=int)
def add(user_id: int, event_id: int, role_id: int) -> None:
    """Give USER_ID the role ROLE_ID at EVENT_ID. Prints the assignment id."""
    fetch(User, user_id, "user")
    fetch(Event, event_id, "event")
    role = fetch(EventRole, role_id, "role")
    if role.event_id != event_id:
        raise click.ClickException(
            f"Role {role_id} belongs to event {role.event_id}, not to event {event_id}."
        )
    current = db.session.execute(
        select(EventUser.id).where(
            EventUser.user_id == user_id, EventUser.event_id == event_id, EventUser.active == true()
        )
    ).scalar()
    if current is not None:
        # A user holds one role per event.
        raise click.ClickException(
            f"User {user_id} already has an active assignment ({current}) at event "
            f"{event_id}; deactivate it first."
        )
    now = utcnow()
    assignment = EventUser(
        user_id=user_id,
        event_id=event_id,
        event_role_id=role_id,
        active=True,
        created_at=now,
        updated_at=now,
    )
    db.session.add(assignment)
    db.session.commit()
    click.echo(assignment.id)


@assignments_cli.command("deactivate")
@click.argument("assignment_id", type=int)
def deactivate(assignment_id: int) -> None:
    """Deactivate ASSIGNMENT_ID. The user loses that role at its event."""
    assignment = fetch(EventUser, assignment_id, "assignment")
    if not assignment.active:
        click.echo(f"Assignment {assignment_id} is already inactive.")
        return
    assignment.active = False
    assignment.updated_at = utcnow()
    db.session.commit()
    click.echo(f"Deactivated assignment {assignment_id}.")


@assignments_cli.command("list")
@click.option("--event", "event_id", type=int, help="Only the assignments at this event.")
@click.option("--user", "user_id", type=int, help="Only this user's assignments.")
def list_assignments(event_id: int | None, user_id: int | None) -> None:
    """List assignments: id, user, event, role and whether active."""
    statement = (
        select(EventUser, User.email, EventRole.title)
        .join(User, User.id == EventUser.user_id)
        .join(EventRole, EventRole.id == EventUser.event_role_id)
        .order_by(EventUser.id)
    )
    if event_id is not None:
        statement = statement.where(EventUser.event_id == event_id)
    if user_id is not None:
        statement = statement.where(EventUser.user_id == user_id)
    for row, email, title in db.session.execute(statement):
        state = "active" if row.active else "inactive"
        click.echo(
            f"{row.id}  user {row.user_id} <{email}>  event {row.event_id}  "
            f"role {row.event_role_id} {title!r}  {state}"
        )
