"""A CSV's columns read as their types in pandas, as docs/csv.md tells: ids as integers,
timestamps as UTC datetimes, dates as dates, money as numbers equal to the JSON's
amounts, booleans as booleans, null as a missing value."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from eventio.db.extensions import db
from tests.api.conftest import Caller
from tests.factories import (
    BookingFactory,
    BookingTicketFactory,
    EventUserFactory,
    GroupFactory,
    TicketFactory,
)
from tests.support.schema_mode import SCHEMA_MODE


def read_csv(api: Caller, path: str, query: dict[str, str] | None = None, **options: Any) -> Any:
    response = api.get(path, {"format": "csv", **(query or {})})
    assert response.status_code == 200, response.get_data(as_text=True)
    return pd.read_csv(io.BytesIO(response.get_data()), **options)


def json_rows(api: Caller, path: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = api.data(path, {"per_page": 1000})
    return rows


def is_utc_datetime(series: Any) -> bool:
    return isinstance(series.dtype, pd.DatetimeTZDtype) and str(series.dtype.tz) == "UTC"


def utc(text: str | None) -> Any:
    return pd.NaT if text is None else pd.Timestamp(text)


@pytest.fixture
def bookings(api: Caller) -> None:
    group = GroupFactory(event_id=api.event_id).id
    db.session.add_all(
        [
            BookingFactory.build(
                event_id=api.event_id,
                group_id=None if index % 2 else group,
                booking_reference=f"0{index:04d}",  # a leading zero a number would lose
                created_at=None if index == 3 else datetime(2026, 1, 1, 9, 30, index),
                updated_at=datetime(2026, 3, 29, 1, 59, index),
            )
            for index in range(6)
        ]
    )
    db.session.commit()


def test_bookings_read_with_integer_ids_utc_timestamps_and_text_references(
    api: Caller, bookings: None
) -> None:
    path = f"/event/{api.event_id}/bookings"
    frame = read_csv(
        api,
        path,
        parse_dates=["created_at", "updated_at"],
        dtype={"group_id": "Int64", "booking_reference": "string"},
    )
    expected = json_rows(api, path)

    assert frame["id"].dtype == "int64" and frame["event_id"].dtype == "int64"
    assert frame["group_id"].dtype == "Int64"
    assert is_utc_datetime(frame["created_at"]) and is_utc_datetime(frame["updated_at"])
    assert frame["id"].tolist() == [row["id"] for row in expected]
    assert [None if pd.isna(v) else v for v in frame["group_id"]] == [
        row["group_id"] for row in expected
    ]
    assert frame["booking_reference"].tolist() == [row["booking_reference"] for row in expected]
    for column in ("created_at", "updated_at"):
        assert frame[column].isna().tolist() == [row[column] is None for row in expected]
        read = [t for t in frame[column] if not pd.isna(t)]
        assert read == [utc(row[column]) for row in expected if row[column] is not None]


def test_ticket_prices_read_as_numbers_equal_to_the_json_amounts(api: Caller) -> None:
    prices = [Decimal("12.50"), Decimal("-5.00"), Decimal("0.10"), Decimal("1234.99")]
    if not SCHEMA_MODE.laravel:  # Laravel's tickets table has no null price or seq
        prices.append(None)
    for price in prices:
        TicketFactory(event_id=api.event_id, price=price, seq=None if price is None else 1)
    path = f"/event/{api.event_id}/tickets"
    as_float = read_csv(api, path, dtype={"seq": "Int64"})
    exact = read_csv(api, path, converters={"price": lambda cell: Decimal(cell) if cell else None})
    expected = json_rows(api, path)

    assert as_float["price"].dtype == "float64"
    assert as_float["seq"].dtype == "Int64"
    for floated, decimal, row in zip(as_float["price"], exact["price"], expected, strict=True):
        if row["price"] is None:
            assert pd.isna(floated) and decimal is None
        else:
            assert floated == float(Decimal(row["price"]))
            assert decimal == Decimal(row["price"]) and str(decimal) == row["price"]


def test_dates_and_booleans_read_as_dates_and_booleans(api: Caller) -> None:
    EventUserFactory(event_id=api.event_id, active=False)
    events = read_csv(api, "/events", parse_dates=["start_date", "end_date"])
    assert str(events["start_date"].dtype).startswith("datetime64")
    assert events["start_date"].dt.date.tolist() == [
        datetime.fromisoformat(row["start_date"]).date() for row in json_rows(api, "/events")
    ]

    path = f"/event/{api.event_id}/users"
    users = read_csv(api, path)
    assert users["active"].dtype == "bool"
    assert users["active"].tolist() == [row["active"] for row in json_rows(api, path)]


def test_stats_csv_reads_as_integers_with_a_total_row_equal_to_the_json_report(
    api: Caller,
) -> None:
    adult = TicketFactory(event_id=api.event_id, title="Adult", seq=1).id
    child = TicketFactory(event_id=api.event_id, title="Child", participant_type="child", seq=2).id
    for status, ticket, qty in (("confirmed", adult, 150), ("provisional", adult, 25)):
        booking = BookingFactory(event_id=api.event_id, status=status).id
        BookingTicketFactory(booking_id=booking, ticket_id=ticket, qty=qty)
    path = f"/event/{api.event_id}/stats"
    report = api.ok(path)

    frame = read_csv(api, path, dtype={"id": "Int64"}, parse_dates=["generated_at"])
    tickets, total = frame.iloc[:-1], frame.iloc[-1]

    assert tickets["id"].tolist() == [adult, child]
    assert pd.isna(total["id"]) and total["title"] == "Total"
    for column in ("total_confirmed_tickets_sold", "confirmed_plus_provisional"):
        assert frame[column].dtype == "int64"
    assert tickets["total_confirmed_tickets_sold"].tolist() == [
        line["total_confirmed_tickets_sold"] for line in report["stats"]
    ]
    assert total["total_confirmed_tickets_sold"] == report["total_confirmed"] == 150
    assert total["confirmed_plus_provisional"] == report["total_provisional"] == 175
    assert total["total_provisional_tickets_sold"] == 25
    assert is_utc_datetime(frame["generated_at"]) and not frame["generated_at"].isna().any()
