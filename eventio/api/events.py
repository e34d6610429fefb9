"""Events: the caller's list, one event's details."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, false
from sqlalchemy.sql.elements import ColumnElement

from eventio.api import resources
from eventio.api.blueprint import bp
from eventio.api.declaration import declared
from eventio.api.incremental import UPDATED_SINCE
from eventio.api.listing import paginated, single
from eventio.auth.guard import caller
from eventio.auth.permissions import EventAccess, events_where
from eventio.querybuilder import AllowedFilter, QuerySpec
from eventio.querybuilder.resource import Relation
from eventio.querybuilder.scope import IncludeScope, ScopeRule

EVENTS = QuerySpec(
    resources.events,
    filters=[
        AllowedFilter.exact("id"),
        AllowedFilter.exact("slug"),
        AllowedFilter.partial("name"),
        AllowedFilter.exact("start_date"),
        AllowedFilter.exact("end_date"),
        UPDATED_SINCE,
    ],
    sorts=["id", "slug", "name", "start_date", "end_date", "updated_at"],
    includes=["tickets", "bookings"],
)
events = resources.events_t


def readable_bookings(relation: Relation, scope: IncludeScope) -> Sequence[ColumnElement[bool]]:
    """Under `/events`, each event carries its bookings only where the caller may read them."""
    if relation.target is not resources.bookings:
        return ()
    if "bookings.read" not in scope.abilities or scope.user_id is None:
        return (false(),)
    readable = events_where(scope.user_id, "bookings")
    return (resources.bookings_t.c.event_id.in_(readable),)


# The caller's id and whether the token may read bookings are the scope's data.
READABLE_BOOKINGS = ScopeRule(readable_bookings, abilities=("bookings.read",))


@bp.get("/events")
@declared(abilities=("event.read",))
@paginated(EVENTS, scope=READABLE_BOOKINGS)
def list_events() -> Select[Any]:
    """List the events where the caller's role may read event details."""
    readable = events_where(caller().user_id, "event")
    return resources.events.select().where(events.c.id.in_(readable))


@bp.get("/event/<id:event_id>")
@single(EVENTS, "Event")
def show_event(access: EventAccess) -> Select[Any]:
    """Show one event."""
    return resources.events.select().where(events.c.id == access.event_id)
