"""Paths mean what they say: ids are ASCII digits, and `%2F` is no separator."""

from __future__ import annotations

import http.client

import pytest
from flask import Flask

from eventio.http.raw_paths import raw_path
from tests.api.conftest import API, Caller, assert_error
from tests.support.live_server import live_server

# Digits of other scripts that Python's `int` and regex `\d` take as 1.
ONES = {
    "arabic-indic": "%D9%A1",
    "full-width": "%EF%BC%91",
    "devanagari": "%E0%A5%A7",
    "mathematical bold": "%F0%9D%9F%8F",
}


@pytest.mark.parametrize("one", ONES.values(), ids=ONES.keys())
@pytest.mark.parametrize(
    "path",
    [
        "/event/{one}",
        "/event/{one}/bookings",
        "/event/1{one}/stats",
        "/event/{event}/bookings/{one}",
        "/event/{event}/groups/{one}/bookings",
    ],
)
def test_ids_in_other_scripts_digits_are_a_404(
    api: Caller, booking: int, one: str, path: str
) -> None:
    assert api.event_id == 1 and booking == 1  # the ASCII id exists: only the digit differs
    assert api.get(path.format(one="1", event=api.event_id)).status_code in (200, 404)
    assert api.get("/event/1").status_code == 200
    url = path.format(one=one, event=api.event_id)
    body = assert_error(api.get(url), 404)
    assert "could not be found" in body["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/event/{event}%2Fbookings",
        "/event/{event}%2fbookings",
        "/event%2F{event}",
        "/event/{event}/bookings%2F{booking}",
        "/events%2F",
    ],
)
def test_an_encoded_slash_is_not_a_separator(api: Caller, booking: int, path: str) -> None:
    sent = path.format(event=api.event_id, booking=booking)
    decoded = sent.replace("%2F", "/").replace("%2f", "/")
    assert api.get(decoded).status_code == 200  # the path it would have been mistaken for
    body = assert_error(api.get(sent), 404)
    assert body["message"] == f"The route {(API + sent).lstrip('/')} could not be found."


def test_an_encoded_slash_is_a_404_through_a_real_http_server(app: Flask, api: Caller) -> None:
    with live_server(app) as base:
        host, port = base.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        for path in (f"/event/{api.event_id}%2Fbookings", f"/event/{api.event_id}/bookings"):
            connection.request("GET", API + path, headers=api.headers)
            response = connection.getresponse()
            response.read()
            assert response.status == (404 if "%2F" in path else 200)
        connection.close()


@pytest.mark.parametrize(
    ("environ", "path"),
    [
        ({"RAW_URI": "/api/v2/event/1%2Fb?x=%2F"}, "/api/v2/event/1%2Fb"),  # gunicorn
        ({"REQUEST_URI": "/api/v2/events?x=1"}, "/api/v2/events"),  # Werkzeug
        ({"RAW_URI": "http://h.example/api/v2/event/1%2Fb?q"}, "/api/v2/event/1%2Fb"),
        ({}, ""),
    ],
)
def test_the_raw_path_is_read_as_each_server_passes_it(environ: dict[str, str], path: str) -> None:
    assert raw_path(environ) == path  # type: ignore[arg-type]


def test_an_encoded_slash_in_the_query_string_is_a_value(api: Caller) -> None:
    response = api.get(f"/event/{api.event_id}/groups", "filter[name]=a%2Fb")
    assert response.status_code == 200
