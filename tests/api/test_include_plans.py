"""Include plans: made once per shape and scope, kept in the app, serialising by name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from eventio.api import listing
from eventio.db.extensions import db
from eventio.querybuilder.includes import IncludePlan
from tests.api.conftest import Caller, booking_at
from tests.conftest import ALL_AREAS
from tests.factories import EventFactory, grant


@pytest.fixture
def made(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The resources whose list plans were made while the test runs (from none kept: an
    earlier test's event may have had this one's id)."""
    app.extensions.pop(listing.PLANS, None)
    plans: list[str] = []
    original = listing.plan_includes

    def counting(resource: Any, *args: Any, **kwargs: Any) -> IncludePlan:
        plans.append(resource.name)
        return original(resource, *args, **kwargs)

    monkeypatch.setattr(listing, "plan_includes", counting)
    yield plans


def test_a_list_shape_is_planned_once_and_kept_in_the_app(
    app: Flask, api: Caller, made: list[str]
) -> None:
    booking_at(api.event_id)
    db.session.commit()
    query = {"include": "tickets,group.customer", "fields[bookings]": "id,status"}
    for _ in range(3):
        data = api.data(f"/event/{api.event_id}/bookings", query)
        assert set(data[0]) == {"id", "status", "tickets", "group"}
        assert data[0]["group"]["customer"] is not None
    assert made == ["bookings"]
    assert len(app.extensions[listing.PLANS]) >= 1
    # Another shape (the same includes, other fields) is another plan.
    api.data(f"/event/{api.event_id}/bookings", {"include": "tickets,group.customer"})
    assert made == ["bookings", "bookings"]


def test_a_plan_made_for_one_event_never_serves_another(api: Caller, made: list[str]) -> None:
    other = EventFactory().id
    grant(api.user_id, other, dict.fromkeys(ALL_AREAS, "admin"))
    here, there = booking_at(api.event_id), booking_at(other)
    db.session.commit()
    query = {"include": "tickets"}
    assert [b["id"] for b in api.data(f"/event/{api.event_id}/bookings", query)] == [here]
    assert [b["id"] for b in api.data(f"/event/{other}/bookings", query)] == [there]
    assert made == ["bookings", "bookings"]
