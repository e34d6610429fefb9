"""factory-boy factories for every table, committing through the app's session."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import factory
import pytest
from factory.alchemy import SQLAlchemyModelFactory
from sqlalchemy import insert

from eventio.auth.tokens import generate_secret, hash_secret
from eventio.db.extensions import db
from eventio.models import (
    USER_MORPH_TYPE,
    Booking,
    BookingTicket,
    Customer,
    Event,
    EventRole,
    EventRolePermission,
    EventUser,
    Group,
    PersonalAccessToken,
    Ticket,
    User,
)
from tests.support.schema_mode import SCHEMA_MODE


class Factory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        if SCHEMA_MODE.laravel:
            # Laravel writes whole seconds into `timestamp(0)` columns, which PostgreSQL
            # would round (a token "expiring now" would live half a second longer).
            kwargs = {name: whole_seconds(value) for name, value in kwargs.items()}
        return super()._create(model_class, *args, **kwargs)


def whole_seconds(value: Any) -> Any:
    return value.replace(microsecond=0) if isinstance(value, datetime) else value


class UserFactory(Factory):
    class Meta:
        model = User

    name = factory.Sequence(lambda n: f"User {n}")
    email = factory.Sequence(lambda n: f"user{n}@example.com")


class EventFactory(Factory):
    class Meta:
        model = Event

    slug = factory.Sequence(lambda n: f"event-{n}")
    name = factory.Sequence(lambda n: f"Event {n}")
    start_date = datetime(2026, 6, 15).date()
    end_date = datetime(2026, 6, 17).date()


class TicketFactory(Factory):
    class Meta:
        model = Ticket

    event_id = factory.LazyFunction(lambda: EventFactory().id)
    title = factory.Sequence(lambda n: f"Ticket {n}")
    participant_type = "adult"
    price = Decimal("99.00")
    seq = factory.Sequence(lambda n: n)


class CustomerFactory(Factory):
    class Meta:
        model = Customer

    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = factory.Sequence(lambda n: f"Last{n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    post_code = "SW1A 1AA"


class GroupFactory(Factory):
    class Meta:
        model = Group

    event_id = factory.LazyFunction(lambda: EventFactory().id)
    customer_id = factory.LazyFunction(lambda: CustomerFactory().id)
    name = factory.Sequence(lambda n: f"Group {n}")
    association = "Corporate Partner"


class BookingFactory(Factory):
    class Meta:
        model = Booking

    event_id = factory.LazyFunction(lambda: EventFactory().id)
    group_id = None
    booking_type = "participant"
    booking_reference = factory.Sequence(lambda n: f"EVT-{n:06d}")
    status = "confirmed"
    created_at = factory.Sequence(lambda n: datetime(2026, 1, 1, 12, 0, n % 60))


class BookingTicketFactory(Factory):
    class Meta:
        model = BookingTicket

    booking_id = factory.LazyFunction(lambda: BookingFactory().id)
    ticket_id = factory.LazyFunction(lambda: TicketFactory().id)
    qty = 1
    price = Decimal("99.00")


class EventRoleFactory(Factory):
    class Meta:
        model = EventRole

    event_id = factory.LazyFunction(lambda: EventFactory().id)
    title = factory.Sequence(lambda n: f"Role {n}")


class PermissionFactory(Factory):
    class Meta:
        model = EventRolePermission

    event_role_id = factory.LazyFunction(lambda: EventRoleFactory().id)
    area = "event"
    permission = "read"


class EventUserFactory(Factory):
    class Meta:
        model = EventUser

    user_id = factory.LazyFunction(lambda: UserFactory().id)
    event_id = factory.LazyFunction(lambda: EventFactory().id)
    event_role_id = factory.LazyFunction(lambda: EventRoleFactory().id)
    active = True


class TokenFactory(Factory):
    """A Sanctum token row; `issue_token` is the way to get one with its plain text."""

    class Meta:
        model = PersonalAccessToken

    tokenable_type = USER_MORPH_TYPE
    tokenable_id = factory.LazyFunction(lambda: UserFactory().id)
    name = "test token"
    token = factory.LazyFunction(lambda: hash_secret(generate_secret()))
    abilities = json.dumps(["*"])
    created_at = factory.LazyFunction(lambda: datetime.now(UTC).replace(tzinfo=None))

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        if SCHEMA_MODE.laravel and SCHEMA_MODE.sanctum == 2:
            return sanctum_2_token(kwargs)
        return super()._create(model_class, *args, **kwargs)


def sanctum_2_token(columns: dict[str, Any]) -> PersonalAccessToken:
    """A row of Sanctum 2's token table, which has no `expires_at`: written without it
    (the model names every column), and handed back unattached, its id set."""
    if columns.pop("expires_at", None) is not None:
        pytest.skip("Sanctum 2's token table has no expires_at")
    columns = {name: whole_seconds(value) for name, value in columns.items()}
    result = db.session.execute(insert(PersonalAccessToken.__table__).values(**columns))
    db.session.commit()
    return PersonalAccessToken(id=result.inserted_primary_key[0], **columns)


def issue_token(
    user_id: int,
    abilities: list[str] | None = None,
    *,
    secret: str | None = None,
    **columns: Any,
) -> str:
    """Create a token for the user and return the plain `<id>|<secret>` a client sends."""
    secret = secret or generate_secret()
    row = TokenFactory(
        tokenable_id=user_id,
        token=hash_secret(secret),
        abilities=json.dumps(["*"] if abilities is None else abilities),
        **columns,
    )
    return f"{row.id}|{secret}"


def grant(
    user_id: int, event_id: int, permissions: dict[str, str], *, active: bool = True
) -> EventUser:
    """Give the user a role at the event holding `{area: level}`."""
    role = EventRoleFactory(event_id=event_id)
    for area, level in permissions.items():
        PermissionFactory(event_role_id=role.id, area=area, permission=level)
    return EventUserFactory(
        user_id=user_id, event_id=event_id, event_role_id=role.id, active=active
    )
