"""The authenticated user, and their role at one event."""

from __future__ import annotations

from typing import Any

from flask import Response
from marshmallow import fields, validate
from sqlalchemy import select
from webargs.flaskparser import use_args

from eventio.api import formats
from eventio.api.blueprint import bp
from eventio.api.declaration import declared
from eventio.auth.guard import caller
from eventio.auth.permissions import active_assignment
from eventio.db.reads import reads
from eventio.http.responses import json_response
from eventio.models import EventRole, EventUser
from eventio.schemas.resources import CurrentUserSchema

EVENT_ID = fields.Integer(validate=validate.Range(min=1, max=2**63 - 1))
USER_ARGS = {"eventId": EVENT_ID}


@bp.get("/user")
@declared(
    arguments=USER_ARGS,
    notes={"eventId": "Also answer the user's role at this event (`event_role`)."},
    response_schema=CurrentUserSchema,
)
@use_args(USER_ARGS, location="query")
def current_user(args: dict[str, Any]) -> Response:
    """Show the authenticated user, and their role at `eventId` when asked."""
    formats.negotiate(formats.JSON_ONLY)
    me = caller()
    body: dict[str, Any] = {
        "data": {"id": me.user_id, "name": me.user_name, "email": me.user_email}
    }
    if "eventId" in args:
        statement = (
            select(EventRole.id, EventRole.title)
            .join(EventUser, active_assignment(me.user_id))
            .where(EventUser.event_id == args["eventId"])
            .order_by(EventUser.id)
            .limit(1)
        )
        role = reads().execute(statement).first()
        body["event_role"] = {"id": role.id, "title": role.title} if role else None
    return json_response(body)
