"""Formats are honest: a format a route cannot serve is a 406 naming those it can, never
JSON in its place; what a browser or an HTTP library sends by default still gets JSON."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Caller, assert_error, url

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
# Accept headers under which every route answers JSON.
JSON_ACCEPTS = [
    None,
    "*/*",
    "application/json",
    BROWSER,
    "application/*",
    "text/csv;q=0.5, application/json",
    " , ",
]


def single_paths(api: Caller, booking: int) -> list[str]:
    event = api.event_id
    return [f"/event/{event}", f"/event/{event}/bookings/{booking}", "/user"]


def get(api: Caller, path: str, query: Any = None, accept: str | None = None) -> Any:
    headers = dict(api.headers)
    if accept is not None:
        headers["Accept"] = accept
    return api.client.get(url(path, query), headers=headers)


@pytest.mark.parametrize("chosen", ["csv", "ndjson"])
def test_a_single_resource_or_user_asked_for_a_stream_format_is_a_406(
    api: Caller, booking: int, chosen: str
) -> None:
    for path in single_paths(api, booking):
        body = assert_error(get(api, path, {"format": chosen}), 406)
        assert list(body["errors"]) == ["format"], path
        assert body["errors"]["format"] == [body["message"]]
        assert f"`{chosen}`" in body["message"]
        assert "`json` (application/json)" in body["message"]
        assert "csv`" not in body["message"].split("serves", 1)[1], body["message"]


@pytest.mark.parametrize("accept", ["text/csv", "application/x-ndjson", "application/xml", "json"])
def test_a_single_resource_whose_accept_admits_no_json_is_a_406(
    api: Caller, booking: int, accept: str
) -> None:
    for path in single_paths(api, booking):
        body = assert_error(get(api, path, accept=accept), 406)
        assert list(body["errors"]) == ["format"]
        assert accept in body["message"]
        assert "`json` (application/json)" in body["message"]


@pytest.mark.parametrize("accept", JSON_ACCEPTS)
def test_default_accept_headers_keep_json_everywhere(
    api: Caller, booking: int, accept: str | None
) -> None:
    event = api.event_id
    paths = [*single_paths(api, booking), f"/event/{event}/bookings", f"/event/{event}/stats"]
    for path in paths:
        response = get(api, path, accept=accept)
        assert response.status_code == 200, (path, response.get_data(as_text=True))
        assert response.mimetype == "application/json", path


def test_json_when_accepted_though_csv_is_preferred_on_a_single_resource(
    api: Caller, booking: int
) -> None:
    for path in single_paths(api, booking):
        response = get(api, path, accept="text/csv, application/json;q=0.5")
        assert response.status_code == 200
        assert response.mimetype == "application/json"


def test_format_json_is_served_by_a_single_resource(api: Caller, booking: int) -> None:
    for path in single_paths(api, booking):
        plain = get(api, path)
        asked = get(api, path, {"format": "json"}, accept="text/csv")
        assert asked.status_code == 200
        assert asked.get_json() == plain.get_json()


@pytest.mark.parametrize("chosen", ["xml", "CSV", ""])
def test_a_format_the_api_does_not_have_is_a_406_naming_the_routes_formats(
    api: Caller, booking: int, chosen: str
) -> None:
    event = api.event_id
    expected = {
        f"/event/{event}": ["json"],
        "/user": ["json"],
        f"/event/{event}/stats": ["json", "csv"],
        f"/event/{event}/bookings": ["json", "csv", "ndjson"],
    }
    for path, served in expected.items():
        body = assert_error(get(api, path, {"format": chosen}), 406)
        assert list(body["errors"]) == ["format"]
        assert f"cannot answer in `{chosen}`" in body["message"], body["message"]
        named = body["message"].split("it serves ", 1)[1]
        assert [part.split("`")[1] for part in named.split(", ")] == served, body["message"]


@pytest.mark.parametrize(
    ("path", "served"),
    [
        ("/event/{event}/bookings", ["json", "csv", "ndjson"]),
        ("/event/{event}/stats", ["json", "csv"]),
        ("/events", ["json", "csv", "ndjson"]),
    ],
)
def test_an_accept_header_that_admits_none_of_a_routes_formats_is_a_406(
    api: Caller, path: str, served: list[str]
) -> None:
    body = assert_error(get(api, path.format(event=api.event_id), accept="application/xml"), 406)
    for name in served:
        assert f"`{name}`" in body["message"]
    assert "`ndjson`" in body["message"] or "ndjson" not in served


def test_ndjson_on_stats_is_a_406_naming_json_and_csv(api: Caller) -> None:
    path = f"/event/{api.event_id}/stats"
    for response in (
        get(api, path, {"format": "ndjson"}),
        get(api, path, accept="application/x-ndjson"),
    ):
        body = assert_error(response, 406)
        assert "`json` (application/json), `csv` (text/csv)." in body["message"]


def test_format_wins_over_accept(api: Caller, booking: int) -> None:
    stats = get(api, f"/event/{api.event_id}/stats", {"format": "csv"}, accept="application/json")
    assert stats.mimetype == "text/csv"
    listed = get(api, f"/event/{api.event_id}/bookings", {"format": "json"}, accept="text/csv")
    assert listed.mimetype == "application/json"


def test_every_answer_varies_on_accept(api: Caller, booking: int) -> None:
    event = api.event_id
    answers = [
        get(api, f"/event/{event}"),
        get(api, f"/event/{event}/bookings"),
        get(api, f"/event/{event}/bookings", {"format": "csv"}),
        get(api, f"/event/{event}/stats"),
        get(api, f"/event/{event}/stats", accept="text/csv"),
        get(api, "/user"),
        get(api, f"/event/{event}", accept="text/csv"),
    ]
    for response in answers:
        assert "Accept" in response.vary, (response.status_code, response.headers)


def test_the_token_is_checked_before_the_format(api: Caller, booking: int) -> None:
    response = api.client.get(url(f"/event/{api.event_id}", {"format": "csv"}))
    assert_error(response, 401)
    response = api.client.get(url("/user"), headers={"Accept": "text/csv"})
    assert_error(response, 401)
