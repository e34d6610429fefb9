"""The bookings list answers a manager with the envelope."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.factories import BookingFactory


def test_bookings_list_answers_with_the_envelope(
    client: FlaskClient, manager: dict[str, Any]
) -> None:
    BookingFactory(event_id=manager["event"].id, status="confirmed")
    response = client.get(
        f"/api/v2/event/{manager['event'].id}/bookings", headers=manager["headers"]
    )
    assert response.status_code == 200
    body = response.get_json()
    assert [b["status"] for b in body["data"]] == ["confirmed"]
    assert body["meta"]["total"] == 1
