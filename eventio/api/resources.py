"""The resources the API serves and the relations between them, declared once.

Each resource names its table, the columns a row selects, the schema its rows are
serialised by, and the permission area that guards it; includes follow `relate`.
"""

from __future__ import annotations

from sqlalchemy import and_, func, select

from eventio.models import (
    Booking,
    BookingTicket,
    Customer,
    Event,
    EventRole,
    EventRolePermission,
    EventUser,
    Group,
    Ticket,
    User,
)
from eventio.querybuilder import Resource
from eventio.schemas.plan import output_fields, serializer_for
from eventio.schemas.resources import (
    BookingSchema,
    BookingTicketSchema,
    CustomerSchema,
    EventRoleSchema,
    EventSchema,
    EventUserSchema,
    GroupSchema,
    PermissionSchema,
    TicketSchema,
    UserSchema,
)

events_t = Event.__table__
tickets_t = Ticket.__table__
bookings_t = Booking.__table__
booking_tickets_t = BookingTicket.__table__
groups_t = Group.__table__
customers_t = Customer.__table__
roles_t = EventRole.__table__
permissions_t = EventRolePermission.__table__
event_users_t = EventUser.__table__
users_t = User.__table__

# The event of a booking ticket line: its booking's.
line_event = (
    select(bookings_t.c.event_id)
    .where(bookings_t.c.id == booking_tickets_t.c.booking_id)
    .scalar_subquery()
)

events = Resource("events", events_t, list(events_t.c), serializer_for(EventSchema), "event")
tickets = Resource("tickets", tickets_t, list(tickets_t.c), serializer_for(TicketSchema), "event")
bookings = Resource(
    "bookings", bookings_t, list(bookings_t.c), serializer_for(BookingSchema), "bookings"
)
booking_tickets = Resource(
    "booking tickets",
    booking_tickets_t,
    [
        *booking_tickets_t.c,
        tickets_t.c.title.label("ticket_title"),
        tickets_t.c.participant_type.label("participant_type"),
    ],
    serializer_for(BookingTicketSchema),
    "bookings",
    # A line's ticket title and type only from a ticket of the line's own event: a line
    # pointing at another event's ticket (bad data) must not show that event's names.
    from_=booking_tickets_t.outerjoin(
        tickets_t,
        and_(
            tickets_t.c.id == booking_tickets_t.c.ticket_id,
            tickets_t.c.event_id == line_event,
        ),
    ),
)
groups = Resource("groups", groups_t, list(groups_t.c), serializer_for(GroupSchema), "groups")
customers = Resource(
    "customers",
    customers_t,
    [
        *customers_t.c,
        func.trim(
            func.coalesce(customers_t.c.first_name, "")
            + " "
            + func.coalesce(customers_t.c.last_name, "")
        ).label("full_name"),
    ],
    serializer_for(CustomerSchema),
    "customers",
)
roles = Resource("roles", roles_t, list(roles_t.c), serializer_for(EventRoleSchema), "roles")
permissions = Resource(
    "permissions", permissions_t, list(permissions_t.c), serializer_for(PermissionSchema), "roles"
)
event_users = Resource(
    "event users", event_users_t, list(event_users_t.c), serializer_for(EventUserSchema), "users"
)
users = Resource("users", users_t, list(users_t.c), serializer_for(UserSchema), "users")

for resource, schema in (
    (events, EventSchema),
    (tickets, TicketSchema),
    (bookings, BookingSchema),
    (booking_tickets, BookingTicketSchema),
    (groups, GroupSchema),
    (customers, CustomerSchema),
    (roles, EventRoleSchema),
    (permissions, PermissionSchema),
    (event_users, EventUserSchema),
    (users, UserSchema),
):
    resource.schema = schema
    resource.field_names = output_fields(schema)

events.relate("tickets", tickets, "id", "event_id", many=True)
events.relate("bookings", bookings, "id", "event_id", many=True)
tickets.relate("event", events, "event_id", "id", many=False)
bookings.relate("tickets", booking_tickets, "id", "booking_id", many=True)
bookings.relate("group", groups, "group_id", "id", many=False)
booking_tickets.relate("booking", bookings, "booking_id", "id", many=False)
booking_tickets.relate("ticket", tickets, "ticket_id", "id", many=False)
groups.relate("customer", customers, "customer_id", "id", many=False)
groups.relate("bookings", bookings, "id", "group_id", many=True)
groups.relate("event", events, "event_id", "id", many=False)
customers.relate("groups", groups, "id", "customer_id", many=True)
roles.relate("event", events, "event_id", "id", many=False)
roles.relate("permissions", permissions, "id", "event_role_id", many=True)
roles.relate("eventUsers", event_users, "id", "event_role_id", many=True)
event_users.relate("user", users, "user_id", "id", many=False)
event_users.relate("event", events, "event_id", "id", many=False)
event_users.relate("role", roles, "event_role_id", "id", many=False)
