"""SQLAlchemy models of the EventIO tables, as a Laravel EventIO app makes them."""

from eventio.models.access import (
    USER_MORPH_TYPE,
    EventRole,
    EventRolePermission,
    EventUser,
    PersonalAccessToken,
    User,
)
from eventio.models.bookings import (
    ACTIVE_STATUSES,
    STATUSES,
    Booking,
    BookingTicket,
    Customer,
    Group,
)
from eventio.models.events import Event, Ticket
from eventio.models.oauth import OAuthClient

__all__ = [
    "ACTIVE_STATUSES",
    "STATUSES",
    "USER_MORPH_TYPE",
    "Booking",
    "BookingTicket",
    "Customer",
    "Event",
    "EventRole",
    "EventRolePermission",
    "EventUser",
    "Group",
    "OAuthClient",
    "PersonalAccessToken",
    "Ticket",
    "User",
]
