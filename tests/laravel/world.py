"""The reference's world (data-model.md "Reference data for checks") written by plain SQL
INSERT statements, and tokens made the way Laravel Sanctum makes them."""

from __future__ import annotations

import hashlib
import json
import secrets
import string
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

USER_MODEL = "App\\Models\\User"

# Rows of the reference's examples, and one user more who may read the areas John's
# "Event Manager" role does not cover (groups, customers, roles, users).
ROWS: dict[str, list[dict[str, Any]]] = {
    "users": [
        {"id": 1, "name": "John Doe", "email": "john@example.com"},
        {"id": 2, "name": "Ada Auditor", "email": "ada@example.com"},
    ],
    "events": [
        {
            "id": 1,
            "slug": "conference-2026",
            "name": "Annual Conference 2026",
            "start_date": "2026-06-15",
            "end_date": "2026-06-17",
        }
    ],
    "tickets": [
        {
            "id": 1,
            "event_id": 1,
            "title": "Adult Ticket",
            "participant_type": "adult",
            "price": "99.00",
            "seq": 1,
        }
    ],
    "customers": [
        {
            "id": 1,
            "first_name": "Jane",
            "last_name": "Smith",
            "email": "jane@acme.com",
            "post_code": "SW1A 1AA",
        }
    ],
    "groups": [
        {
            "id": 1,
            "event_id": 1,
            "customer_id": 1,
            "name": "ACME Corp",
            "association": "Corporate Partner",
        }
    ],
    "bookings": [
        {
            "id": 1,
            "event_id": 1,
            "group_id": 1,
            "booking_type": "participant",
            "booking_reference": "EVT-ABC123",
            "status": "confirmed",
            "created_at": "2026-01-10 14:30:00",
            "updated_at": "2026-01-10 14:30:00",
        }
    ],
    "booking_tickets": [{"id": 1, "booking_id": 1, "ticket_id": 1, "qty": 2, "price": "198.00"}],
    "event_roles": [
        {"id": 1, "event_id": 1, "title": "Event Manager"},
        {"id": 2, "event_id": 1, "title": "Auditor"},
    ],
    "event_role_permissions": [
        {"id": 1, "event_role_id": 1, "area": "event", "permission": "admin"},
        {"id": 2, "event_role_id": 1, "area": "bookings", "permission": "write"},
        *(
            {"id": 3 + n, "event_role_id": 2, "area": area, "permission": "read"}
            for n, area in enumerate(("event", "bookings", "groups", "customers", "roles", "users"))
        ),
    ],
    "event_users": [
        {"id": 1, "user_id": 1, "event_id": 1, "event_role_id": 1, "active": True},
        {"id": 2, "user_id": 2, "event_id": 1, "event_role_id": 2, "active": True},
    ],
}
JOHN, ADA = 1, 2


def insert(connection: Connection, table: str, row: dict[str, Any]) -> None:
    """One plain INSERT, as a sync job or a DBA would write it."""
    quote = "`" if connection.dialect.name == "mysql" else '"'
    columns = ", ".join(f"{quote}{name}{quote}" for name in row)
    values = ", ".join(f":{name}" for name in row)
    connection.execute(
        text(f"INSERT INTO {quote}{table}{quote} ({columns}) VALUES ({values})"), row
    )


def write_world(connection: Connection) -> None:
    """The reference's rows; `created_at` of rows that give none is the load time."""
    if connection.dialect.name == "mysql":
        connection.execute(text("SET time_zone = '+00:00'"))  # as Laravel's UTC app does
    for table, rows in ROWS.items():
        for row in rows:
            insert(connection, table, {"created_at": "2026-01-01 09:00:00", **row})


@dataclass
class SanctumToken:
    """A token row as Sanctum's `createToken` writes it, and the plain text it shows once."""

    id: int
    user_id: int
    abilities: list[str] | None = None
    tokenable_type: str = USER_MODEL
    created_at: str = "2026-01-01 09:00:00"
    expires_at: str | None = None

    def __post_init__(self) -> None:
        alphabet = string.ascii_letters + string.digits
        self.secret = "".join(secrets.choice(alphabet) for _ in range(40))

    @property
    def plain(self) -> str:
        return f"{self.id}|{self.secret}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.plain}", "Accept": "application/json"}

    def write(self, connection: Connection, *, sanctum: int) -> None:
        row: dict[str, Any] = {
            "id": self.id,
            "tokenable_type": self.tokenable_type,
            "tokenable_id": self.user_id,
            "name": "api",
            "token": hashlib.sha256(self.secret.encode()).hexdigest(),
            "abilities": None if self.abilities is None else json.dumps(self.abilities),
            "last_used_at": None,
            "created_at": self.created_at,
            "updated_at": self.created_at,
        }
        if sanctum >= 3:  # Sanctum 2's table has no such column
            row["expires_at"] = self.expires_at
        if connection.dialect.name == "mysql":
            connection.execute(text("SET time_zone = '+00:00'"))
        insert(connection, "personal_access_tokens", row)
