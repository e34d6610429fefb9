"""The API on a real hot standby: reads there, writes on the primary, recovery conflicts
retried once or answered 503, and replay lag in `/health/ready`."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import Engine, event

from eventio import create_app
from eventio.auth.guard import utcnow
from eventio.db.extensions import db
from eventio.db.replica import is_recovery_conflict
from eventio.oauth.clients import create_client
from tests.conftest import ALL_AREAS, bearer
from tests.factories import (
    BookingFactory,
    BookingTicketFactory,
    CustomerFactory,
    EventFactory,
    GroupFactory,
    TicketFactory,
    UserFactory,
    grant,
    issue_token,
)
from tests.replica.conftest import Replication
from tests.support.buffered_client import BufferedClient

MAX_LAG = 1.0


@dataclass
class World:
    primary: Flask
    replica: Flask
    token: str
    ids: dict[str, int]
    oauth: dict[str, str] = field(default_factory=dict)


def make_app(database_url: str, **config: Any) -> Flask:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "REDIS_URL": os.environ.get("TEST_REDIS_URL") or None,
            "RATE_LIMIT_ENABLED": False,
            **config,
        }
    )
    app.test_client_class = BufferedClient  # streamed exports read to their end
    return app


@pytest.fixture(scope="module")
def world(replication: Replication) -> Iterator[World]:
    """A migrated primary with one event of every kind of row, and an app on the standby
    that writes to the primary."""
    primary = make_app(replication.primary_url)
    with primary.app_context():
        upgrade()
        user = UserFactory()
        event_ = EventFactory(name="Before")
        role = grant(user.id, event_.id, dict.fromkeys(ALL_AREAS, "read"))
        ticket = TicketFactory(event_id=event_.id)
        group = GroupFactory(event_id=event_.id, customer_id=CustomerFactory().id)
        booking = BookingFactory(event_id=event_.id, group_id=group.id)
        line = BookingTicketFactory(booking_id=booking.id, ticket_id=ticket.id)
        token = issue_token(user.id)
        new = create_client(db.session, user.id, "warehouse", ["bookings.read"], utcnow())
        db.session.commit()
        ids = {
            "event_id": event_.id,
            "booking_id": booking.id,
            "line_id": line.id,
            "customer_id": group.customer_id,
            "event_user_id": role.id,
            "group_id": group.id,
            "role_id": role.event_role_id,
            "ticket_id": ticket.id,
        }
        oauth = {"client_id": new.client_id, "client_secret": new.secret}
    replication.wait_caught_up()
    replica = make_app(
        replication.standby_url,
        WRITE_DATABASE_URL=replication.primary_url,
        LAST_USED_WRITE_INTERVAL=0,
        REPLICA_MAX_LAG_SECONDS=MAX_LAG,
    )
    yield World(primary, replica, token, ids, oauth)
    for app in (replica, primary):
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def paused(replication: Replication) -> Iterator[None]:
    """Replay stopped on the standby for the test; resumed and caught up after."""
    with replication.connect(replication.standby_port) as standby:
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            yield
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
    replication.wait_caught_up()


class Statements:
    """The statements one engine ran, from SQLAlchemy's cursor events."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: list[str] = []

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self.record)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self.record)

    def record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.seen.append(" ".join(statement.split()).upper())


def api_paths(app: Flask, ids: dict[str, int]) -> list[str]:
    """Every GET route of the API, with the world's ids filled in."""
    paths = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v2/") and "GET" in (rule.methods or ()):
            if rule.arguments - ids.keys():
                continue  # the documentation's static files
            path = rule.rule
            for name in rule.arguments:
                path = path.replace(f"<id:{name}>", str(ids[name]))
            paths.append(path)
    return sorted(paths)


def set_event_name(replication: Replication, event_id: int, name: str) -> None:
    with replication.connect(replication.primary_port) as primary:
        primary.execute("UPDATE events SET name = %s WHERE id = %s", (name, event_id))


def test_every_endpoint_reads_from_the_standby_and_writes_last_used_at_on_the_primary(
    world: World, replication: Replication, paused: None
) -> None:
    event_id = world.ids["event_id"]
    set_event_name(replication, event_id, "After")  # not replayed while paused
    paths = api_paths(world.replica, world.ids)
    assert len(paths) >= 19
    paths += [f"/api/v2/event/{event_id}/bookings?format=ndjson", "/api/v2/events?format=csv"]
    client = world.replica.test_client()
    with world.replica.app_context():
        standby, primary = db.engines[None], db.engines["write"]
    with Statements(standby) as on_standby, Statements(primary) as on_primary:
        for path in paths:
            query = f"{'&' if '?' in path else '?'}eventId={event_id}"
            response = client.get(path + query, headers=bearer(world.token))
            assert response.status_code == 200, (path, response.get_data(as_text=True))
        shown = client.get(f"/api/v2/event/{event_id}", headers=bearer(world.token))
    assert shown.get_json()["data"]["name"] == "Before"  # the standby's snapshot
    assert any("FROM EVENTS" in s for s in on_standby.seen)
    # The primary only took the last_used_at writes.
    assert on_primary.seen
    assert all(s.startswith("UPDATE PERSONAL_ACCESS_TOKENS") for s in on_primary.seen)
    with replication.connect(replication.primary_port) as connection:
        used = connection.execute("SELECT last_used_at FROM personal_access_tokens").fetchall()
    assert any(row[0] is not None for row in used)


def test_replayed_changes_are_served_once_replay_resumes(
    world: World, replication: Replication
) -> None:
    event_id = world.ids["event_id"]
    set_event_name(replication, event_id, "Replayed")
    replication.wait_caught_up()
    response = world.replica.test_client().get(
        f"/api/v2/event/{event_id}", headers=bearer(world.token)
    )
    assert response.get_json()["data"]["name"] == "Replayed"


def test_oauth_tokens_are_issued_on_the_primary_and_read_on_the_standby(
    world: World, replication: Replication
) -> None:
    client = world.replica.test_client()
    response = client.post("/oauth/token", data={"grant_type": "client_credentials", **world.oauth})
    assert response.status_code == 200, response.get_data(as_text=True)
    issued = response.get_json()["access_token"]
    with replication.connect(replication.primary_port) as primary:
        count = primary.execute("SELECT count(*) FROM personal_access_tokens").fetchone()
    assert count is not None and count[0] >= 2
    replication.wait_caught_up()
    bookings = client.get(f"/api/v2/event/{world.ids['event_id']}/bookings", headers=bearer(issued))
    assert bookings.status_code == 200


class Conflicts:
    """The first `times` reads of the API's data (not the token lookup) on the standby
    are made slow while they hold a lock on `events`, and while one runs the primary
    takes that lock once: replay cancels it (SQLSTATE 40001) after
    max_standby_streaming_delay. The other reads run without the primary locking."""

    SLOW = "SELECT pg_sleep(5), (SELECT count(*) FROM events)"

    def __init__(self, engine: Engine, replication: Replication, times: int) -> None:
        self.engine = engine
        self.replication = replication
        self.left = times
        self.cancelled: list[BaseException] = []
        self._stop = threading.Event()
        self._slowed = 0  # slowed reads started so far
        self._locker = threading.Thread(target=self.lock_events_on_the_primary, daemon=True)

    def __enter__(self) -> Conflicts:
        event.listen(self.engine, "before_cursor_execute", self.slow_down, retval=True)
        event.listen(self.engine, "handle_error", self.note)
        self._locker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._locker.join(10)
        event.remove(self.engine, "before_cursor_execute", self.slow_down)
        event.remove(self.engine, "handle_error", self.note)

    def slow_down(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any
    ) -> tuple[str, Any]:
        if self.left and "personal_access_tokens" not in statement:
            self.left -= 1
            self._slowed += 1
            return self.SLOW, None
        return statement, parameters

    def note(self, context: Any) -> None:
        if is_recovery_conflict(context.sqlalchemy_exception):
            self.cancelled.append(context.original_exception)

    def lock_events_on_the_primary(self) -> None:
        with self.replication.connect(self.replication.primary_port) as primary:
            locked_for = 0
            while not self._stop.is_set():
                if self._slowed == locked_for:
                    time.sleep(0.05)
                    continue
                locked_for = self._slowed
                time.sleep(0.3)  # the slowed read has its lock on `events` by then
                # Once per slowed read: lock records queued behind it would be replayed
                # past their deadline and cancel the retry's read at once.
                with primary.transaction():
                    primary.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")


def test_a_read_cancelled_by_recovery_conflict_is_retried_once(
    world: World, replication: Replication
) -> None:
    client = world.replica.test_client()
    with world.replica.app_context():
        standby = db.engines[None]
    started = time.monotonic()
    with Conflicts(standby, replication, times=1) as conflicts:
        response = client.get("/api/v2/events", headers=bearer(world.token))
    assert len(conflicts.cancelled) == 1
    assert "conflict with recovery" in str(conflicts.cancelled[0])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [e["name"] for e in response.get_json()["data"]] == ["Replayed"]
    assert time.monotonic() - started < 5  # cancelled, not slept through


def test_a_second_recovery_conflict_answers_503_with_retry_after(
    world: World, replication: Replication
) -> None:
    client = world.replica.test_client()
    with world.replica.app_context():
        standby = db.engines[None]
    with Conflicts(standby, replication, times=2) as conflicts:
        response = client.get("/api/v2/events", headers=bearer(world.token))
    assert len(conflicts.cancelled) == 2
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json() == {
        "message": "The read replica cancelled this read to apply new changes; try again."
    }
    # The connection was only cancelled, not lost: the next request is served.
    again = client.get("/api/v2/events", headers=bearer(world.token))
    assert again.status_code == 200


def test_ready_reports_the_replica_lag_and_fails_over_the_threshold(
    world: World, replication: Replication, paused: None
) -> None:
    client = world.replica.test_client()
    ready = client.get("/health/ready")
    assert ready.status_code == 200, ready.get_json()
    checks = ready.get_json()["checks"]
    assert checks["replica"] == "ok"
    assert float(checks["replica_lag_seconds"]) <= MAX_LAG
    # A commit the paused standby receives but does not replay, older than the threshold.
    set_event_name(replication, world.ids["event_id"], "Lagging")
    time.sleep(MAX_LAG + 0.5)
    lagging = client.get("/health/ready")
    assert lagging.status_code == 503
    assert lagging.headers["Retry-After"] == "5"
    body = lagging.get_json()
    assert body["checks"]["replica"] == "lagging"
    assert float(body["checks"]["replica_lag_seconds"]) > MAX_LAG
    assert {k: v for k, v in body["checks"].items() if not k.startswith("replica")} == {
        k: v for k, v in checks.items() if not k.startswith("replica")
    }


def test_ready_on_the_primary_names_no_replica(world: World) -> None:
    ready = world.primary.test_client().get("/health/ready")
    assert ready.status_code == 200
    assert "replica" not in ready.get_json()["checks"]
