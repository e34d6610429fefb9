"""`flask roles …`: roles of an event and the permissions they grant."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import AppGroup

from eventio.auth.guard import utcnow
from eventio.auth.permissions import AREAS, LEVELS
from eventio.cli.rows import fetch
from eventio.db.extensions import db
from eventio.models import Event, EventRole, EventRolePermission

roles_cli = AppGroup("roles", help="Roles of an event and their permissions.")


class Permission(click.ParamType):  # type: ignore[type-arg]
    """`AREA:LEVEL`, e.g. `bookings:read`, parsed into `(area, level)`."""

    name = "AREA:LEVEL"

    def convert(self, value: Any, param: Any, ctx: Any) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        area, sep, level = str(value).strip().partition(":")
        if not sep:
            self.fail(f"{value!r} is not AREA:LEVEL, e.g. bookings:read.", param, ctx)
        if area not in AREAS:
            self.fail(f"unknown area {area!r}; one of {', '.join(AREAS)}.", param, ctx)
        if level not in LEVELS:
            self.fail(f"unknown level {level!r}; one of {', '.join(LEVELS)}.", param, ctx)
        return area, level


@roles_cli.command("create")
@click.argument("event_id", type=int)
@click.argument("title")
@click.option(
    "--permission",
    "permissions",
    type=Permission(),
    multiple=True,
    help=f"Repeatable. Areas: {', '.join(AREAS)}; levels: {', '.join(LEVELS)}.",
)
def create(event_id: int, title: str, permissions: tuple[tuple[str, str], ...]) -> None:
    """Create a role at EVENT_ID. Prints the role id."""
    fetch(Event, event_id, "event")
    areas = [area for area, _ in permissions]
    repeated = sorted({area for area in areas if areas.count(area) > 1})
    if repeated:
        raise click.BadParameter(
            f"one level per area; given twice: {', '.join(repeated)}.", param_hint="--permission"
        )
    if not title.strip():
        raise click.BadParameter("must not be empty.", param_hint="TITLE")
    now = utcnow()
    role = EventRole(event_id=event_id, title=title.strip(), created_at=now, updated_at=now)
    db.session.add(role)
    db.session.flush()
    db.session.add_all(
        EventRolePermission(
            event_role_id=role.id, area=area, permission=level, created_at=now, updated_at=now
        )
        for area, level in permissions
    )
    db.session.commit()
    click.echo(role.id)
