"""Customers of an event: those with a group at it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, exists

from eventio.api import resources
from eventio.api.blueprint import bp
from eventio.api.incremental import UPDATED_SINCE
from eventio.api.listing import paginated, single
from eventio.auth.permissions import EventAccess
from eventio.querybuilder import AllowedFilter, QuerySpec

CUSTOMERS = QuerySpec(
    resources.customers,
    filters=[
        AllowedFilter.exact("id"),
        AllowedFilter.partial("email"),
        AllowedFilter.partial("first_name"),
        AllowedFilter.partial("last_name"),
        AllowedFilter.partial("post_code"),
        UPDATED_SINCE,
    ],
    sorts=["id", "email", "first_name", "last_name", "updated_at"],
    includes=["groups", "groups.event", "groups.bookings"],
)
customers = resources.customers_t
groups = resources.groups_t


def at_event(event_id: int) -> Any:
    return exists().where(groups.c.customer_id == customers.c.id, groups.c.event_id == event_id)


@bp.get("/event/<id:event_id>/customers")
@paginated(CUSTOMERS)
def list_customers(access: EventAccess) -> Select[Any]:
    """List the customers with a group at an event."""
    return resources.customers.select().where(at_event(access.event_id))


@bp.get("/event/<id:event_id>/customers/<id:customer_id>")
@single(CUSTOMERS, "Customer")
def show_customer(access: EventAccess, customer_id: int) -> Select[Any]:
    """Show one customer with a group at an event."""
    return resources.customers.select().where(
        customers.c.id == customer_id, at_event(access.event_id)
    )
