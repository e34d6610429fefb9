"""Measure `/event/{id}?include=bookings` on a large event, with and without the cap.

    DATABASE_URL=postgresql://root@127.0.0.1:5432/test_h_2 \
        .venv/bin/python -m reliability.include_cap --bookings 200000

The database is emptied and migrated first: give it one of its own.
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import datetime

from flask_migrate import upgrade
from sqlalchemy import insert

from eventio import create_app
from eventio.db.extensions import db
from eventio.models import Booking
from tests.conftest import ALL_AREAS
from tests.factories import EventFactory, UserFactory, grant, issue_token


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bookings", type=int, default=200_000)
    arguments = parser.parse_args()
    app = create_app({"TESTING": True, "REDIS_URL": None})
    with app.app_context():
        db.drop_all()
        upgrade()
        user = UserFactory()
        event = EventFactory()
        grant(user.id, event.id, dict.fromkeys(ALL_AREAS, "admin"))
        token = issue_token(user.id)
        rows = [
            {
                "event_id": event.id,
                "booking_type": "participant",
                "booking_reference": f"CAP-{n:07d}",
                "status": "confirmed",
                "created_at": datetime(2026, 1, 1, 12),
            }
            for n in range(arguments.bookings)
        ]
        for start in range(0, len(rows), 20_000):
            db.session.execute(insert(Booking), rows[start : start + 20_000])
        db.session.commit()
        event_id = event.id
    client = app.test_client()
    path = f"/api/v2/event/{event_id}?include=bookings"
    headers = {"Authorization": f"Bearer {token}"}
    print(f"| {arguments.bookings} bookings | status | body | time | peak RSS growth |")
    print("|---|---|---|---|---|")
    for label, cap in (("capped", app.config["MAX_INCLUDED_ROWS"]), ("uncapped", 0)):
        app.config["MAX_INCLUDED_ROWS"] = cap
        before = peak_rss_mb()
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        seconds = time.perf_counter() - started
        size = len(response.get_data())
        print(
            f"| {label} (MAX_INCLUDED_ROWS={cap}) | {response.status_code} | {size:,} B"
            f" | {seconds * 1000:.0f} ms | {peak_rss_mb() - before:.0f} MB |"
        )
    with app.app_context():
        db.drop_all()


if __name__ == "__main__":
    main()
