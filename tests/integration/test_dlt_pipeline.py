"""A real BI client: dlt's rest_api source pulls bookings into duckdb, then incrementally."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from eventio.auth.guard import utcnow
from eventio.extensions import db
from eventio.models import Booking
from eventio.oauth.clients import create_client
from tests.conftest import ALL_AREAS
from tests.factories import BookingFactory, EventFactory, UserFactory, grant
from tests.support.live_server import live_server

dlt = pytest.importorskip("dlt")
from dlt.sources.rest_api import rest_api_source  # noqa: E402

START = datetime(2026, 1, 1, 9, 0, 0)


def bookings_source(base_url: str, client_id: str, secret: str, event_id: int) -> Any:
    """Only configuration: the API's links.next, data key, filter and sort do the rest."""
    return rest_api_source(
        {
            "client": {
                "base_url": f"{base_url}/api/v2/",
                "auth": {
                    "type": "oauth2_client_credentials",
                    "access_token_url": f"{base_url}/oauth/token",
                    "client_id": client_id,
                    "client_secret": secret,
                },
                "paginator": {"type": "json_link", "next_url_path": "links.next"},
            },
            "resources": [
                {
                    "name": "bookings",
                    "primary_key": "id",
                    "write_disposition": "merge",
                    "endpoint": {
                        "path": f"event/{event_id}/bookings",
                        "data_selector": "data",
                        "params": {
                            "per_page": 7,
                            "sort": "updated_at",
                            "filter[updated_since]": {
                                "type": "incremental",
                                "cursor_path": "updated_at",
                                "initial_value": "2000-01-01T00:00:00Z",
                            },
                        },
                    },
                }
            ],
        }
    )


def loaded_rows(pipeline: Any) -> dict[int, tuple[str, str]]:
    with pipeline.sql_client() as client:
        rows = client.execute_sql("SELECT id, status, booking_reference FROM bookings")
    return {row[0]: (row[1], row[2]) for row in rows}


def last_run_row_count(pipeline: Any) -> int:
    return int(pipeline.last_trace.last_normalize_info.row_counts.get("bookings", 0))


def test_dlt_pulls_every_booking_then_only_the_changed_ones(app: Flask, tmp_path: Path) -> None:
    user = UserFactory()
    event = EventFactory()
    other_event = EventFactory()
    grant(user.id, event.id, dict.fromkeys(ALL_AREAS, "read"))
    statuses = ["confirmed", "provisional", "waiting_list", "cancelled"]
    bookings = [
        BookingFactory(
            event_id=event.id,
            status=statuses[n % 4],
            updated_at=START + timedelta(minutes=n),
        )
        for n in range(30)
    ]
    BookingFactory(event_id=other_event.id, updated_at=START)
    credentials = create_client(db.session, user.id, "warehouse", ["bookings.read"], utcnow())
    active = {b.id: (b.status, b.booking_reference) for b in bookings if b.status != "cancelled"}

    pipeline = dlt.pipeline(
        pipeline_name="eventio_bookings",
        destination=dlt.destinations.duckdb(str(tmp_path / "warehouse.duckdb")),
        dataset_name="eventio",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    with live_server(app) as base_url:
        source = bookings_source(base_url, credentials.client_id, credentials.secret, event.id)
        pipeline.run(source)
        assert loaded_rows(pipeline) == active
        assert last_run_row_count(pipeline) == len(active)

        changed = [b for b in bookings if b.status == "confirmed"][:3]
        later = START + timedelta(days=1)
        db.session.execute(
            update(Booking)
            .where(Booking.id.in_([b.id for b in changed]))
            .values(status="provisional", updated_at=later)
        )
        db.session.commit()
        added = BookingFactory(event_id=event.id, status="confirmed", updated_at=later)

        source = bookings_source(base_url, credentials.client_id, credentials.secret, event.id)
        pipeline.run(source)

    assert last_run_row_count(pipeline) == len(changed) + 1
    expected = {**active, **{b.id: ("provisional", b.booking_reference) for b in changed}}
    expected[added.id] = ("confirmed", added.booking_reference)
    assert loaded_rows(pipeline) == expected
