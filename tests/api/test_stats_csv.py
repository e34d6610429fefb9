"""`/event/{id}/stats` as CSV: one row per ticket type and a `Total` row, with the list
exports' conventions (CRLF, neutralised formulas, `bom=1`, a filename) and the JSON
report's access rules and cache, per format."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
import redis.connection
from flask import Flask
from werkzeug.test import TestResponse

from eventio.cache.store import RedisCache
from eventio.stats.table import HEADER
from tests.api.conftest import Caller, assert_error, url
from tests.conftest import bearer
from tests.factories import (
    BookingFactory,
    BookingTicketFactory,
    TicketFactory,
    UserFactory,
    grant,
    issue_token,
)


@pytest.fixture
def sold(api: Caller) -> dict[str, int]:
    """Three ticket types: 3 confirmed + 2 provisional adults, 1 confirmed child, one
    unsold; a waiting-list booking that counts in nothing."""
    event = api.event_id
    ids = {
        "adult": TicketFactory(event_id=event, title="Adult", participant_type="adult", seq=1).id,
        "child": TicketFactory(event_id=event, title="Child", participant_type="child", seq=2).id,
        "unsold": TicketFactory(event_id=event, title="Day pass", participant_type="day", seq=3).id,
    }
    for status, ticket, qty in (
        ("confirmed", "adult", 3),
        ("provisional", "adult", 2),
        ("confirmed", "child", 1),
        ("waiting_list", "child", 7),
    ):
        booking = BookingFactory(event_id=event, status=status).id
        BookingTicketFactory(booking_id=booking, ticket_id=ids[ticket], qty=qty)
    return ids


def stats_path(api: Caller) -> str:
    return f"/event/{api.event_id}/stats"


def csv_of(response: TestResponse) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True), newline="")))


def test_stats_csv_has_a_header_a_row_per_ticket_and_a_total_row(
    api: Caller, sold: dict[str, int]
) -> None:
    report = api.ok(stats_path(api), "no-cache")
    rows = csv_of(api.get(stats_path(api), {"format": "csv"}))
    generated = rows[1][-1]

    assert rows == [
        HEADER,
        [str(sold["adult"]), "adult", "Adult", "3", "2", "5", generated],
        [str(sold["child"]), "child", "Child", "1", "0", "1", generated],
        [str(sold["unsold"]), "day", "Day pass", "0", "0", "0", generated],
        ["", "", "Total", "4", "2", "6", generated],
    ]
    # The report's totals are cells of the Total row, as docs/stats.md says.
    assert rows[-1][3] == str(report["total_confirmed"])
    assert rows[-1][5] == str(report["total_provisional"])
    assert generated.endswith("+00:00")


def test_every_line_ends_in_crlf_and_a_bare_text_is_not_quoted(
    api: Caller, sold: dict[str, int]
) -> None:
    body = api.get(stats_path(api), {"format": "csv"}).get_data()
    lines = body.split(b"\r\n")
    assert lines[-1] == b"" and len(lines) == 6
    assert b"\n" not in body.replace(b"\r\n", b"")
    assert lines[0] == ",".join(HEADER).encode()


def test_accept_text_csv_gives_the_same_table_as_format_csv(
    api: Caller, sold: dict[str, int]
) -> None:
    by_parameter = api.get(stats_path(api), {"format": "csv"})
    by_header = api.client.get(url(stats_path(api)), headers={**api.headers, "Accept": "text/csv"})
    assert csv_of(by_header) == csv_of(by_parameter)


def test_the_filters_narrow_the_rows_and_the_total_row(api: Caller, sold: dict[str, int]) -> None:
    rows = csv_of(api.get(stats_path(api), {"format": "csv", "participant_type": "child"}))
    assert [row[:6] for row in rows[1:]] == [
        [str(sold["child"]), "child", "Child", "1", "0", "1"],
        ["", "", "Total", "1", "0", "1"],
    ]


def test_an_event_without_tickets_is_a_header_and_a_zero_total(api: Caller) -> None:
    rows = csv_of(api.get(stats_path(api), {"format": "csv"}))
    assert [row[:6] for row in rows] == [HEADER[:6], ["", "", "Total", "0", "0", "0"]]


def test_stats_csv_is_an_attachment_named_after_the_event(
    api: Caller, sold: dict[str, int]
) -> None:
    response = api.get(stats_path(api), {"format": "csv"})
    filename = f"event-{api.event_id}-stats.csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'


def test_bom_starts_the_file_only_when_asked(api: Caller, sold: dict[str, int]) -> None:
    plain = api.get(stats_path(api), {"format": "csv"}).get_data()
    with_bom = api.get(stats_path(api), {"format": "csv", "bom": "1"}).get_data()
    assert not plain.startswith(b"\xef\xbb\xbf")
    assert with_bom == b"\xef\xbb\xbf" + plain


def test_text_cells_that_start_like_a_formula_are_neutralised(
    app: Flask, api: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    TicketFactory(event_id=api.event_id, title="=HYPERLINK(1)", participant_type="@adult")
    rows = csv_of(api.get(stats_path(api), {"format": "csv"}))
    assert rows[1][1:3] == ["'@adult", "'=HYPERLINK(1)"]

    monkeypatch.setitem(app.config, "CSV_NEUTRALISE_FORMULAS", False)
    # A server with neutralising off never answers from a report cached with it on.
    rows = csv_of(api.get(stats_path(api), {"format": "csv"}))
    assert rows[1][1:3] == ["@adult", "=HYPERLINK(1)"]


def test_csv_and_json_are_cached_apart_and_no_cache_refreshes_the_csv(
    api: Caller, sold: dict[str, int]
) -> None:
    json_first = api.ok(stats_path(api))
    csv_first = csv_of(api.get(stats_path(api), {"format": "csv"}))  # not the JSON's entry
    booking = BookingFactory(event_id=api.event_id, status="confirmed").id
    BookingTicketFactory(booking_id=booking, ticket_id=sold["adult"], qty=10)

    assert csv_of(api.get(stats_path(api), {"format": "csv"})) == csv_first  # cached
    assert api.ok(stats_path(api)) == json_first
    refreshed = csv_of(api.get(stats_path(api), {"format": "csv", "no-cache": "1"}))
    assert refreshed[-1][3] == "14"
    assert csv_of(api.get(stats_path(api), {"format": "csv"})) == refreshed
    assert api.ok(stats_path(api)) == json_first  # the JSON entry keeps its own time


def test_the_etag_differs_by_format_and_answers_304_per_format(
    api: Caller, sold: dict[str, int]
) -> None:
    as_json = api.get(stats_path(api))
    as_csv = api.get(stats_path(api), {"format": "csv"})
    assert as_json.headers["ETag"] != as_csv.headers["ETag"]

    again = api.client.get(
        url(stats_path(api), {"format": "csv"}),
        headers={**api.headers, "If-None-Match": as_csv.headers["ETag"]},
    )
    assert again.status_code == 304
    json_with_csv_tag = api.client.get(
        url(stats_path(api)), headers={**api.headers, "If-None-Match": as_csv.headers["ETag"]}
    )
    assert json_with_csv_tag.status_code == 200
    assert json_with_csv_tag.mimetype == "application/json"


def test_stats_csv_needs_the_event_area_and_a_token(api: Caller, sold: dict[str, int]) -> None:
    user = UserFactory()
    grant(user.id, api.event_id, {"bookings": "read"})
    other = bearer(issue_token(user.id))
    refused = api.client.get(url(stats_path(api), {"format": "csv"}), headers=other)
    assert_error(refused, 403)
    assert_error(api.client.get(url(stats_path(api), {"format": "csv"})), 401)


def test_an_invalid_filter_on_stats_csv_is_still_a_422(api: Caller) -> None:
    body = assert_error(api.get(stats_path(api), {"format": "csv", "ticketId": "x"}), 422)
    assert list(body["errors"]) == ["ticketId"]


@pytest.fixture
def redis_keys_read(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """The stats keys named in every write to Redis."""
    if not isinstance(app.extensions["eventio.cache"], RedisCache):
        pytest.skip("the cache is read in the rate limiter's round trip only on Redis")
    keys: list[bytes] = []
    original = redis.connection.AbstractConnection.send_packed_command

    def spy(connection: Any, command: Any, check_health: bool = True) -> None:
        raw = command if isinstance(command, bytes) else b"".join(command)
        keys.extend(part for part in raw.split(b"\r\n") if part.startswith(b"eventio:stats:"))
        original(connection, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", spy)
    yield keys


def test_a_warm_csv_read_with_the_rate_count_is_answered_as_csv(
    api: Caller, sold: dict[str, int], redis_keys_read: list[bytes]
) -> None:
    cold = api.get(stats_path(api), {"format": "csv", "bom": "1"})
    redis_keys_read.clear()

    warm = api.get(stats_path(api), {"format": "csv", "bom": "1"})

    assert warm.get_data() == cold.get_data()
    assert warm.mimetype == "text/csv"
    assert warm.headers["Content-Disposition"] == cold.headers["Content-Disposition"]
    assert len(redis_keys_read) == 1 and redis_keys_read[0].endswith(b":csv")
    assert api.get(stats_path(api)).mimetype == "application/json"
