"""Cursors are opaque: no row value in them, sealed with SECRET_KEY and bound to the endpoint."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from eventio import create_app
from eventio.db.extensions import db
from tests.api.conftest import API, Caller, assert_error
from tests.factories import BookingFactory, CustomerFactory, GroupFactory

PER_PAGE = 3


@pytest.fixture
def customers(api: Caller) -> list[dict[str, str]]:
    """Eight customers with a group at the event: e-mail addresses and names to look for."""
    made = []
    for index in range(8):
        customer = CustomerFactory(
            email=f"ann.o'hara+{index}@example.org", last_name=f"O'Hara-{index}"
        )
        GroupFactory(event_id=api.event_id, customer_id=customer.id)
        made.append({"email": customer.email, "last_name": customer.last_name})
    return made


def customers_path(api: Caller) -> str:
    return f"/event/{api.event_id}/customers"


def cursors(api: Caller, sort: str) -> list[str]:
    """Every next and prev cursor of a walk through the customers sorted by `sort`."""
    found: list[str] = []
    cursor = ""
    for _ in range(10):
        body = api.ok(customers_path(api), {"sort": sort, "cursor": cursor, "per_page": PER_PAGE})
        found += [c for c in (body["meta"]["next_cursor"], body["meta"]["prev_cursor"]) if c]
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            return found
    raise AssertionError("the walk never ended")


def decoded(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


@pytest.mark.parametrize("sort", ["email", "-email", "last_name", "-last_name,email"])
def test_a_cursor_holds_no_sort_value_even_base64_decoded(
    api: Caller, customers: list[dict[str, str]], sort: str
) -> None:
    found = cursors(api, sort)
    assert len(found) >= 4
    for cursor in found:
        raw = decoded(cursor)
        for text in (cursor, raw.decode("latin-1")):
            for customer in customers:
                for value in (customer["email"], customer["last_name"], "example.org", "Hara"):
                    assert value.lower() not in text.lower()
        assert b"email" not in raw
        # URL-safe and short: base64url without padding.
        assert set(cursor) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        )
        assert len(cursor) < 160


def test_the_same_position_never_gives_the_same_cursor_twice(
    api: Caller, customers: list[dict[str, str]]
) -> None:
    """A fresh nonce per cursor: equal cursors would tell a log reader two pulls met."""
    assert cursors(api, "email") != cursors(api, "email")


def flipped(cursor: str, at: int) -> str:
    raw = bytearray(decoded(cursor))
    raw[at % len(raw)] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


@pytest.mark.parametrize("at", [0, 11, 12, 20, -17, -1], ids=lambda at: f"byte {at}")
def test_a_cursor_with_one_bit_changed_is_a_422(
    api: Caller, customers: list[dict[str, str]], at: int
) -> None:
    cursor = cursors(api, "email")[0]
    assert api.get(customers_path(api), {"sort": "email", "cursor": cursor}).status_code == 200
    response = api.get(customers_path(api), {"sort": "email", "cursor": flipped(cursor, at)})
    body = assert_error(response, 422)
    assert list(body["errors"]) == ["cursor"]
    assert "not one this API issued" in body["errors"]["cursor"][0]


@pytest.fixture
def other_secret_app(app: Flask) -> Iterator[Flask]:
    """The same database served with another SECRET_KEY."""
    other = create_app({**app.config, "SECRET_KEY": "another deployment's secret"})
    yield other
    with other.app_context():
        db.engine.dispose()


def test_a_cursor_made_with_another_secret_key_is_a_422(
    api: Caller, customers: list[dict[str, str]], other_secret_app: Flask, manager: dict[str, Any]
) -> None:
    other: FlaskClient = other_secret_app.test_client()
    path = f"{API}{customers_path(api)}"
    query = {"sort": "email", "cursor": "", "per_page": PER_PAGE}
    theirs = other.get(path, query_string=query, headers=manager["headers"])
    cursor = theirs.get_json()["meta"]["next_cursor"]
    # It works where it was made, not here.
    again = other.get(path, query_string={**query, "cursor": cursor}, headers=manager["headers"])
    assert again.status_code == 200
    body = assert_error(api.get(customers_path(api), {**query, "cursor": cursor}), 422)
    assert list(body["errors"]) == ["cursor"]


def test_a_cursor_of_another_endpoint_with_the_same_sort_is_a_422(
    api: Caller, customers: list[dict[str, str]]
) -> None:
    for _ in range(5):
        BookingFactory(event_id=api.event_id, status="confirmed")
    bookings = api.ok(
        f"/event/{api.event_id}/bookings", {"sort": "id", "cursor": "", "per_page": 2}
    )
    cursor = bookings["meta"]["next_cursor"]
    response = api.get(customers_path(api), {"sort": "id", "cursor": cursor})
    body = assert_error(response, 422)
    assert list(body["errors"]) == ["cursor"]
    # The same cursor still continues the list it came from.
    following = api.ok(f"/event/{api.event_id}/bookings", {"sort": "id", "cursor": cursor})
    assert len(following["data"]) == 3
