"""Output schemas: the one declaration of every field the API serves.

Relation fields (`Nested`) appear only when the client includes them.
"""

from __future__ import annotations

from marshmallow import Schema, fields

from eventio.schemas.fields import Day, Flag, Money, Timestamp


class UserSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()


class EventSchema(Schema):
    id = fields.Integer()
    slug = fields.String()
    name = fields.String()
    start_date = Day(allow_none=True)
    end_date = Day(allow_none=True)
    created_at = Timestamp(allow_none=True)
    updated_at = Timestamp(allow_none=True)
    tickets = fields.List(fields.Nested(lambda: TicketSchema()), metadata={"include": True})
    bookings = fields.List(fields.Nested(lambda: BookingSchema()), metadata={"include": True})


class TicketSchema(Schema):
    id = fields.Integer()
    event_id = fields.Integer()
    title = fields.String()
    participant_type = fields.String(allow_none=True)
    price = Money(allow_none=True)
    seq = fields.Integer(allow_none=True)
    created_at = Timestamp(allow_none=True)
    updated_at = Timestamp(allow_none=True)
    event = fields.Nested(EventSchema, metadata={"include": True})


class BookingSchema(Schema):
    id = fields.Integer()
    event_id = fields.Integer()
    group_id = fields.Integer(allow_none=True)
    booking_type = fields.String(allow_none=True)
    booking_reference = fields.String()
    status = fields.String()
    created_at = Timestamp(allow_none=True)
    updated_at = Timestamp(allow_none=True)
    tickets = fields.List(fields.Nested(lambda: BookingTicketSchema()), metadata={"include": True})
    group = fields.Nested(lambda: GroupSchema(), allow_none=True, metadata={"include": True})


class BookingTicketSchema(Schema):
    id = fields.Integer()
    booking_id = fields.Integer()
    ticket_id = fields.Integer()
    ticket_title = fields.String(allow_none=True)
    participant_type = fields.String(allow_none=True)
    qty = fields.Integer()
    price = Money(allow_none=True)
    created_at = Timestamp(allow_none=True)
    updated_at = Timestamp(allow_none=True)
    booking = fields.Nested(BookingSchema, metadata={"include": True})
    ticket = fields.Nested(TicketSchema, allow_none=True, metadata={"include": True})


class CustomerSchema(Schema):
    id = fields.Integer()
    full_name = fields.String()
    email_address = fields.String(attribute="email", allow_none=True)
    post_code = fields.String(allow_none=True)
    created_at = Timestamp(allow_none=True)
    updated_at = Timestamp(allow_none=True)
    groups = fields.List(fields.Nested(lambda: GroupSchema()), metadata={"include": True})


class GroupSchema(Schema):
    id = fields.Integer()
    event_id = fields.Integer()
    customer_id = fields.Integer(allow_none=True)
    name = fields.String()
    association = fields.String(allow_none=True)
    created_at = Timestamp(allow_none=True)
    updated_at = Timestamp(allow_none=True)
    customer = fields.Nested(CustomerSchema, allow_none=True, metadata={"include": True})
    bookings = fields.List(fields.Nested(BookingSchema), metadata={"include": True})
    event = fields.Nested(EventSchema, metadata={"include": True})


class PermissionSchema(Schema):
    id = fields.Integer()
    event_role_id = fields.Integer()
    area = fields.String()
    permission = fields.String()
    created_at = Timestamp(allow_none=True)
    updated_at = Timestamp(allow_none=True)


class EventRoleSchema(Schema):
    id = fields.Integer()
    event_id = fields.Integer()
    title = fields.String()
    created_at = Timestamp(allow_none=True)
    updated_at = Timestamp(allow_none=True)
    event = fields.Nested(EventSchema, metadata={"include": True})
    permissions = fields.List(fields.Nested(PermissionSchema), metadata={"include": True})
    eventUsers = fields.List(fields.Nested(lambda: EventUserSchema()), metadata={"include": True})


class EventUserSchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    event_id = fields.Integer()
    event_role_id = fields.Integer()
    active = Flag()
    created_at = Timestamp(allow_none=True)
    updated_at = Timestamp(allow_none=True)
    user = fields.Nested(UserSchema, metadata={"include": True})
    event = fields.Nested(EventSchema, metadata={"include": True})
    role = fields.Nested(EventRoleSchema, metadata={"include": True})


class RoleSummarySchema(Schema):
    id = fields.Integer()
    title = fields.String()


class TicketStatsSchema(Schema):
    id = fields.Integer()
    participant_type = fields.String(allow_none=True)
    title = fields.String()
    total_confirmed_tickets_sold = fields.Integer()
    total_provisional_tickets_sold = fields.Integer()


class StatsSchema(Schema):
    event_id = fields.Integer()
    event_name = fields.String()
    stats = fields.List(fields.Nested(TicketStatsSchema))
    total_confirmed = fields.Integer()
    total_provisional = fields.Integer()
    generated_at = fields.String()
