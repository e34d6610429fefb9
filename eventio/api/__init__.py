"""The `/api/v2` endpoints: one module per endpoint family."""

from eventio.api import (  # noqa: F401 - importing registers the routes
    bookings,
    customers,
    event_users,
    events,
    groups,
    roles,
    stats,
    tickets,
    user,
)
from eventio.api.blueprint import IdConverter, bp

__all__ = ["IdConverter", "bp"]
