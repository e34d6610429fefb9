"""A real BI client: dlt's rest_api source pulls bookings into duckdb, then incrementally."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from eventio.auth.guard import utcnow
from eventio.db.extensions import db
from eventio.models import Booking
from eventio.oauth.clients import create_client
from tests.conftest import ALL_AREAS
from tests.docs.snippets import ROOT, collect
from tests.factories import BookingFactory, EventFactory, UserFactory, grant
from tests.support.demo_server import demo_server
from tests.support.live_server import live_server

dlt = pytest.importorskip("dlt")
duckdb = pytest.importorskip("duckdb")
from dlt.sources.rest_api import rest_api_source  # noqa: E402

START = datetime(2026, 1, 1, 9, 0, 0)


def bookings_source(
    base_url: str, client_id: str, secret: str, event_id: int, paginator: bool = True
) -> Any:
    """Only configuration: the API's links.next, data key, filter and sort do the rest.
    Without `paginator`, dlt is left to detect one from the first answer."""
    client: dict[str, Any] = {
        "base_url": f"{base_url}/api/v2/",
        "auth": {
            "type": "oauth2_client_credentials",
            "access_token_url": f"{base_url}/oauth/token",
            "client_id": client_id,
            "client_secret": secret,
        },
    }
    if paginator:
        client["paginator"] = {"type": "json_link", "next_url_path": "links.next"}
    return rest_api_source(
        {
            "client": client,
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


def test_dlt_detects_the_paginator_when_none_is_set(app: Flask, tmp_path: Path) -> None:
    """docs/bi-guide.md: the `paginator` line may be left out; dlt finds `links.next`."""
    user = UserFactory()
    event = EventFactory()
    grant(user.id, event.id, dict.fromkeys(ALL_AREAS, "read"))
    bookings = [
        BookingFactory(
            event_id=event.id, status="confirmed", updated_at=START + timedelta(minutes=n)
        )
        for n in range(30)
    ]
    credentials = create_client(db.session, user.id, "warehouse", ["bookings.read"], utcnow())
    pipeline = dlt.pipeline(
        pipeline_name="eventio_bookings_detected",
        destination=dlt.destinations.duckdb(str(tmp_path / "warehouse.duckdb")),
        dataset_name="eventio",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    with live_server(app) as base_url:
        source = bookings_source(
            base_url, credentials.client_id, credentials.secret, event.id, paginator=False
        )
        pipeline.run(source)

    # 30 rows at 7 a page: five pages, every one of them read.
    assert loaded_rows(pipeline) == {b.id: (b.status, b.booking_reference) for b in bookings}
    assert last_run_row_count(pipeline) == 30


def documented_script() -> str:
    """The dlt script of docs/bi-guide.md, as a reader copies it."""
    found = [
        snippet.code
        for snippet in collect([ROOT / "docs" / "bi-guide.md"])[0]
        if snippet.language == "python" and "rest_api_source" in snippet.code
    ]
    assert len(found) == 1, "docs/bi-guide.md should hold exactly one dlt script"
    return found[0]


def with_cursor_paging(script: str) -> str:
    """The doc's variant: `"cursor": ""` added to `params`."""
    assert '"per_page": 1000,' in script
    return script.replace('"per_page": 1000,', '"per_page": 1000, "cursor": "",', 1)


def run_script(path: Path, environment: dict[str, str]) -> None:
    completed = subprocess.run(
        [sys.executable, str(path)],
        cwd=path.parent,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]


def warehouse_bookings(path: Path) -> list[tuple[int, str, str]]:
    """(id, status, load id) of every row of the warehouse's bookings table."""
    with duckdb.connect(str(path), read_only=True) as warehouse:
        rows = warehouse.execute("SELECT id, status, _dlt_load_id FROM eventio.bookings")
        return [(int(row[0]), str(row[1]), str(row[2])) for row in rows.fetchall()]


def active_bookings_of_event_1() -> dict[int, str]:
    rows = db.session.execute(
        select(Booking.id, Booking.status).where(
            Booking.event_id == 1, Booking.status != "cancelled"
        )
    )
    return {row.id: row.status for row in rows}


@pytest.mark.parametrize("variant", ["page", "cursor"])
def test_the_documented_dlt_script_loads_each_booking_once(variant: str, tmp_path: Path) -> None:
    """docs/bi-guide.md's dlt script as a reader runs it against the demo world: the first
    run loads every active booking of event 1 (more than one page); a second run with
    nothing changed loads none; after three bookings change, the next run loads only those,
    and `merge` on `id` replaces them instead of appending duplicates."""
    script = documented_script()
    if variant == "cursor":
        script = with_cursor_paging(script)
    with demo_server(tmp_path / "server", bookings=2500) as server:
        workspace = server.workspace(tmp_path)
        path = workspace / "load_bookings.py"
        path.write_text(server.localised(script))
        environment = server.environment(workspace)
        warehouse = workspace / "warehouse.duckdb"
        with server.app.app_context():
            active = active_bookings_of_event_1()
        assert len(active) > 1000  # several pages of the documented per_page

        run_script(path, environment)
        first = warehouse_bookings(warehouse)
        assert sorted(row[0] for row in first) == sorted(active)

        run_script(path, environment)
        assert warehouse_bookings(warehouse) == first  # loaded nothing: not one row rewritten

        with server.app.app_context():
            changed = sorted(id for id, status in active.items() if status == "confirmed")[:3]
            db.session.execute(
                update(Booking)
                .where(Booking.id.in_(changed))
                .values(status="provisional", updated_at=utcnow() + timedelta(days=1))
            )
            db.session.commit()
            active = active_bookings_of_event_1()
            db.session.remove()
        run_script(path, environment)

    rows = warehouse_bookings(warehouse)
    ids = [row[0] for row in rows]
    assert len(ids) == len(set(ids)), "a run appended duplicates"
    assert {row[0]: row[1] for row in rows} == active
    last_load = max(row[2] for row in rows)
    assert sorted(row[0] for row in rows if row[2] == last_load) == changed
