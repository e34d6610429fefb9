"""Output schemas: the one declaration of every field the API serves.

Relation fields (`Nested`) appear only when the client includes them.
"""

from __future__ import annotations

from marshmallow import Schema, fields

from eventio.schemas.fields import Day, Flag, Money, Timestamp

# Field examples (`metadata["example"]`) are for the OpenAPI document only, taken from the
# contract's example responses; serialisation never reads them.
AT = "2026-01-10T14:30:00.000000Z"


class UserSchema(Schema):
    id = fields.Integer(metadata={"example": 1})
    name = fields.String(metadata={"example": "John Doe"})
    email = fields.String(metadata={"example": "john@example.com"})


class EventSchema(Schema):
    id = fields.Integer(metadata={"example": 1})
    slug = fields.String(metadata={"example": "conference-2026"})
    name = fields.String(metadata={"example": "Annual Conference 2026"})
    start_date = Day(allow_none=True, metadata={"example": "2026-06-15"})
    end_date = Day(allow_none=True, metadata={"example": "2026-06-17"})
    created_at = Timestamp(allow_none=True, metadata={"example": AT})
    updated_at = Timestamp(allow_none=True, metadata={"example": AT})
    tickets = fields.List(fields.Nested(lambda: TicketSchema()), metadata={"include": True})
    bookings = fields.List(fields.Nested(lambda: BookingSchema()), metadata={"include": True})


class TicketSchema(Schema):
    id = fields.Integer(metadata={"example": 1})
    event_id = fields.Integer(metadata={"example": 1})
    title = fields.String(metadata={"example": "Adult Ticket"})
    participant_type = fields.String(allow_none=True, metadata={"example": "adult"})
    price = Money(allow_none=True, metadata={"example": "99.00"})
    seq = fields.Integer(allow_none=True, metadata={"example": 1})
    created_at = Timestamp(allow_none=True, metadata={"example": AT})
    updated_at = Timestamp(allow_none=True, metadata={"example": AT})
    event = fields.Nested(EventSchema, metadata={"include": True})


class BookingSchema(Schema):
    id = fields.Integer(metadata={"example": 1})
    event_id = fields.Integer(metadata={"example": 1})
    group_id = fields.Integer(allow_none=True, metadata={"example": 1})
    booking_type = fields.String(allow_none=True, metadata={"example": "participant"})
    booking_reference = fields.String(metadata={"example": "EVT-ABC123"})
    status = fields.String(metadata={"example": "confirmed"})
    created_at = Timestamp(allow_none=True, metadata={"example": AT})
    updated_at = Timestamp(allow_none=True, metadata={"example": AT})
    tickets = fields.List(fields.Nested(lambda: BookingTicketSchema()), metadata={"include": True})
    group = fields.Nested(lambda: GroupSchema(), allow_none=True, metadata={"include": True})


class BookingTicketSchema(Schema):
    id = fields.Integer(metadata={"example": 1})
    booking_id = fields.Integer(metadata={"example": 1})
    ticket_id = fields.Integer(metadata={"example": 1})
    ticket_title = fields.String(allow_none=True, metadata={"example": "Adult Ticket"})
    participant_type = fields.String(allow_none=True, metadata={"example": "adult"})
    qty = fields.Integer(metadata={"example": 2})
    price = Money(allow_none=True, metadata={"example": "198.00"})
    created_at = Timestamp(allow_none=True, metadata={"example": AT})
    updated_at = Timestamp(allow_none=True, metadata={"example": AT})
    booking = fields.Nested(BookingSchema, metadata={"include": True})
    ticket = fields.Nested(TicketSchema, allow_none=True, metadata={"include": True})


class CustomerSchema(Schema):
    id = fields.Integer(metadata={"example": 1})
    full_name = fields.String(metadata={"example": "Jane Smith"})
    email_address = fields.String(
        attribute="email", allow_none=True, metadata={"example": "jane@acme.com"}
    )
    post_code = fields.String(allow_none=True, metadata={"example": "SW1A 1AA"})
    created_at = Timestamp(allow_none=True, metadata={"example": AT})
    updated_at = Timestamp(allow_none=True, metadata={"example": AT})
    groups = fields.List(fields.Nested(lambda: GroupSchema()), metadata={"include": True})


class GroupSchema(Schema):
    id = fields.Integer(metadata={"example": 1})
    event_id = fields.Integer(metadata={"example": 1})
    customer_id = fields.Integer(allow_none=True, metadata={"example": 1})
    name = fields.String(metadata={"example": "ACME Corp"})
    association = fields.String(allow_none=True, metadata={"example": "Corporate Partner"})
    created_at = Timestamp(allow_none=True, metadata={"example": AT})
    updated_at = Timestamp(allow_none=True, metadata={"example": AT})
    customer = fields.Nested(CustomerSchema, allow_none=True, metadata={"include": True})
    bookings = fields.List(fields.Nested(BookingSchema), metadata={"include": True})
    event = fields.Nested(EventSchema, metadata={"include": True})


class PermissionSchema(Schema):
    id = fields.Integer(metadata={"example": 1})
    event_role_id = fields.Integer(metadata={"example": 1})
    area = fields.String(metadata={"example": "bookings"})
    permission = fields.String(metadata={"example": "read"})
    created_at = Timestamp(allow_none=True, metadata={"example": AT})
    updated_at = Timestamp(allow_none=True, metadata={"example": AT})


class EventRoleSchema(Schema):
    id = fields.Integer(metadata={"example": 1})
    event_id = fields.Integer(metadata={"example": 1})
    title = fields.String(metadata={"example": "Event Manager"})
    created_at = Timestamp(allow_none=True, metadata={"example": AT})
    updated_at = Timestamp(allow_none=True, metadata={"example": AT})
    event = fields.Nested(EventSchema, metadata={"include": True})
    permissions = fields.List(fields.Nested(PermissionSchema), metadata={"include": True})
    eventUsers = fields.List(fields.Nested(lambda: EventUserSchema()), metadata={"include": True})


class EventUserSchema(Schema):
    id = fields.Integer(metadata={"example": 1})
    user_id = fields.Integer(metadata={"example": 1})
    event_id = fields.Integer(metadata={"example": 1})
    event_role_id = fields.Integer(metadata={"example": 1})
    active = Flag(metadata={"example": True})
    created_at = Timestamp(allow_none=True, metadata={"example": AT})
    updated_at = Timestamp(allow_none=True, metadata={"example": AT})
    user = fields.Nested(UserSchema, metadata={"include": True})
    event = fields.Nested(EventSchema, metadata={"include": True})
    role = fields.Nested(EventRoleSchema, metadata={"include": True})


# The schemas below document bodies that views build themselves (`/user`, `/stats`); they
# serialise nothing, so every field they list is one the body always has.


class RoleSummarySchema(Schema):
    """The user's role at the event asked for."""

    id = fields.Integer(required=True, metadata={"example": 1})
    title = fields.String(required=True, metadata={"example": "Event Manager"})


class CurrentUserSchema(Schema):
    """`GET /user`: the user, and with `eventId` their role there (null without one)."""

    data = fields.Nested(UserSchema, required=True)
    event_role = fields.Nested(
        RoleSummarySchema,
        allow_none=True,
        metadata={"description": "Present only with `eventId`; null where the user has no role."},
    )


class TicketStatsSchema(Schema):
    """One ticket type: tickets sold in confirmed, and in provisional, bookings."""

    id = fields.Integer(required=True, metadata={"example": 1})
    participant_type = fields.String(required=True, allow_none=True, metadata={"example": "adult"})
    title = fields.String(required=True, metadata={"example": "Adult Ticket"})
    total_confirmed_tickets_sold = fields.Integer(required=True, metadata={"example": 150})
    total_provisional_tickets_sold = fields.Integer(required=True, metadata={"example": 25})


class StatsSchema(Schema):
    """`GET /event/{eventId}/stats`: a row per ticket type, and the event's totals."""

    event_id = fields.Integer(required=True, metadata={"example": 1})
    event_name = fields.String(required=True, metadata={"example": "Annual Conference 2026"})
    stats = fields.List(fields.Nested(TicketStatsSchema), required=True)
    total_confirmed = fields.Integer(
        required=True,
        metadata={"example": 150, "description": "Tickets in confirmed bookings."},
    )
    total_provisional = fields.Integer(
        required=True,
        metadata={
            "example": 175,
            "description": "Tickets sold or held: confirmed plus provisional (150 + 25).",
        },
    )
    generated_at = fields.DateTime(
        required=True,
        metadata={
            "example": "2026-01-15T10:30:00+00:00",
            "description": "When the figures were computed (they may come from the cache).",
        },
    )
