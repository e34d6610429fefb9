"""`last_used_at`: written on use at most once per interval, and never worth failing a request."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Connection, RootTransaction, Update, create_engine, select, update
from sqlalchemy.exc import OperationalError

from eventio import create_app
from eventio.db.extensions import db
from eventio.models import PersonalAccessToken
from tests.auth.conftest import (
    ADMIN_EVERYWHERE,
    API,
    Caller,
    MakeCaller,
    World,
    ok,
    utcnow,
)

# One route without an event, and two with one (their token lookup also fetches the access).
PATHS = ["/user", "/event/{event}", "/event/{event}/bookings/{booking}/tickets"]


def token_id(caller: Caller) -> int:
    return int(caller.token.split("|", 1)[0])


def last_used(caller: Caller) -> datetime | None:
    db.session.rollback()  # read what is committed now
    value: datetime | None = db.session.execute(
        select(PersonalAccessToken.last_used_at).where(PersonalAccessToken.id == token_id(caller))
    ).scalar_one()
    return value


def set_last_used(caller: Caller, value: datetime | None) -> None:
    db.session.execute(
        update(PersonalAccessToken)
        .where(PersonalAccessToken.id == token_id(caller))
        .values(last_used_at=value)
    )
    db.session.commit()


@pytest.fixture
def caller(make_caller: MakeCaller, world: World) -> Caller:
    return make_caller(["*"], {world.a.event: ADMIN_EVERYWHERE})


def paths(world: World) -> list[str]:
    return [path.format(event=world.a.event, booking=world.a.booking) for path in PATHS]


def close_to_now(value: datetime | None) -> bool:
    # Whole seconds: MySQL-like backends and some drivers drop the microseconds.
    return value is not None and abs(value - utcnow()) < timedelta(seconds=5)


@pytest.mark.parametrize("template", PATHS)
def test_first_use_writes_last_used_at(caller: Caller, world: World, template: str) -> None:
    assert last_used(caller) is None
    ok(caller.get(template.format(event=world.a.event, booking=world.a.booking)))
    assert close_to_now(last_used(caller))


@pytest.mark.parametrize(
    ("interval", "age", "rewritten"),
    [
        (60, timedelta(seconds=30), False),
        (60, timedelta(seconds=61), True),
        (60, timedelta(days=3), True),
        (3600, timedelta(minutes=30), False),
        (3600, timedelta(minutes=61), True),
    ],
)
def test_last_used_at_is_rewritten_only_after_the_interval(
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    caller: Caller,
    world: World,
    interval: int,
    age: timedelta,
    rewritten: bool,
) -> None:
    monkeypatch.setitem(app.config, "LAST_USED_WRITE_INTERVAL", interval)
    for path in paths(world):
        before = (utcnow() - age).replace(microsecond=0)
        set_last_used(caller, before)
        ok(caller.get(path))
        after = last_used(caller)
        if rewritten:
            assert close_to_now(after), (path, after)
        else:
            assert after == before, (path, after)


def test_the_default_interval_is_a_minute(app: Flask) -> None:
    assert app.config["LAST_USED_WRITE_INTERVAL"] == 60


def test_requests_within_the_interval_write_once(
    caller: Caller, world: World, count_statements: Any
) -> None:
    ok(caller.get("/user"))
    written = last_used(caller)
    count_statements.statements.clear()
    for path in paths(world) * 2:
        ok(caller.get(path))
    assert last_used(caller) == written
    updates = [s for s in count_statements.statements if s.lstrip().upper().startswith("UPDATE")]
    assert updates == []


class RefusedWrites:
    """Stands in for `Connection.execute` / `Transaction.commit`: UPDATEs (or the commit of
    a transaction that ran one) fail as on a read-only replica."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
        self.refused = 0
        execute = Connection.execute
        commit = RootTransaction.commit

        def refusing_execute(connection: Connection, statement: Any, *args: Any, **kw: Any) -> Any:
            if isinstance(statement, Update):
                if where == "execute":
                    self.refused += 1
                    raise read_only_error()
                connection.info["updated"] = True
            return execute(connection, statement, *args, **kw)

        def refusing_commit(transaction: RootTransaction) -> None:
            if transaction.connection.info.pop("updated", False):
                self.refused += 1
                raise read_only_error()
            commit(transaction)

        monkeypatch.setattr(Connection, "execute", refusing_execute)
        monkeypatch.setattr(RootTransaction, "commit", refusing_commit)


def read_only_error() -> OperationalError:
    return OperationalError(
        "UPDATE personal_access_tokens",
        {},
        Exception("cannot execute UPDATE in a read-only transaction"),
    )


@pytest.mark.parametrize("where", ["execute", "commit"])
def test_a_failed_write_never_fails_the_request(
    monkeypatch: pytest.MonkeyPatch, caller: Caller, world: World, where: str
) -> None:
    refused = RefusedWrites(monkeypatch, where)
    for path in paths(world) * 2:
        body = ok(caller.get(path))
        assert body["data"], path
    assert refused.refused >= len(paths(world))
    monkeypatch.undo()
    assert last_used(caller) is None
    ok(caller.get("/user"))
    assert close_to_now(last_used(caller))


def read_only_database(app: Flask, tmp_path: Path) -> dict[str, Any]:
    """The test database itself, through a read-only connection: a replica."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        return {"DATABASE_URL": f"sqlite:///file:{path}?mode=ro&uri=true"}
    if url.startswith("mysql"):
        return {
            "DATABASE_URL": url,
            "SQLALCHEMY_ENGINE_OPTIONS": {
                "connect_args": {"init_command": "SET SESSION TRANSACTION READ ONLY"}
            },
        }
    return {
        "DATABASE_URL": url,
        "SQLALCHEMY_ENGINE_OPTIONS": {
            "connect_args": {"options": "-c default_transaction_read_only=on"}
        },
    }


def read_only_write_database(app: Flask, tmp_path: Path) -> dict[str, Any]:
    """The test database for reads; `last_used_at` goes to a read-only SQLite file."""
    writer = tmp_path / "read-only.db"
    engine = create_engine(f"sqlite:///{writer}")
    PersonalAccessToken.__table__.create(engine)
    engine.dispose()
    return {
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "WRITE_DATABASE_URL": f"sqlite:///file:{writer}?mode=ro&uri=true",
    }


@pytest.fixture(params=[read_only_database, read_only_write_database])
def replica_app(app: Flask, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Flask]:
    """An app that cannot write `last_used_at`, on the same data as `app`."""
    replica = create_app({"TESTING": True, "REDIS_URL": None, **request.param(app, tmp_path)})
    yield replica
    with replica.app_context():
        for engine in db.engines.values():
            engine.dispose()


def test_a_read_only_database_never_fails_the_request(
    replica_app: Flask, caller: Caller, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="eventio.auth.guard")
    client = replica_app.test_client()
    for path in paths(world):
        response = client.get(API + path, headers=caller.headers)
        assert response.status_code == 200, response.get_data(as_text=True)
    assert last_used(caller) is None
    # A connection the inspection knows is read-only (PostgreSQL's transaction_read_only)
    # is not written at all; one it cannot tell (SQLite's mode=ro) is tried, refused and
    # logged at debug level. Either way one warning says so.
    refusals = [r for r in caplog.records if r.name == "eventio.auth.guard"]
    assert len(refusals) in (0, len(paths(world))), caplog.text
    told = [r for r in caplog.records if r.name == "eventio.database.state"]
    assert len(told) == 1, caplog.text
