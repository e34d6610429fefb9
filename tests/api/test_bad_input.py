"""Bad input answers a 4xx in the contract's body, never a 500: headers, queries, paths, methods."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.api.conftest import (
    API,
    LIST_ENDPOINTS,
    Caller,
    Endpoint,
    assert_client_error,
    assert_error,
    endpoint_path,
)

ENDPOINT_IDS = [endpoint.name for endpoint in LIST_ENDPOINTS]


def valid_token(api: Caller) -> str:
    return api.headers["Authorization"].removeprefix("Bearer ")


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "Basic dXNlcjpwYXNzd29yZA==",
        "Token {token}",
        "Bearer{token}",
        "Bearer {token} extra",
        "Bearer {token}{token}",
        "{token}",
        "Bearer |",
        "Bearer 1|",
        "Bearer |secret",
        "Bearer abc|secret",
        "Bearer -1|secret",
        "Bearer 99999999999999999999|secret",
        "Bearer 9223372036854775808|secret",
        "Bearer 1|" + "x" * 5000,
        "Bearer s\u00e9cret",
        "Bearer 1|s\u00e9cret",
        "Bearer \u00ff\u00fe",
    ],
)
def test_malformed_authorization_header_is_a_401(api: Caller, header: str) -> None:
    value = header.format(token=valid_token(api))
    response = api.client.get(f"{API}/events", headers={"Authorization": value})
    body = assert_error(response, 401)
    assert body["message"] == "Unauthenticated."


def test_missing_authorization_header_is_a_401(client: FlaskClient) -> None:
    body = assert_error(client.get(f"{API}/events"), 401)
    assert body["message"] == "Unauthenticated."


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("filter=abc", "filter"),
        ("filter[status][]=x", "filter"),
        ("filter[]=x", "filter"),
        ("filter[a][b]=x", "filter"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=1.5", "page"),
        ("page=1e3", "page"),
        ("page=", "page"),
        ("page=99999999999999999999", "page"),
        ("per_page=-1", "per_page"),
        ("per_page=0", "per_page"),
        ("per_page=ten", "per_page"),
        ("per_page=99999999999999999999", "per_page"),
        ("include=..", "include"),
        ("include=.", "include"),
        ("include=tickets.", "include"),
        ("include=.tickets", "include"),
        ("include=tickets,,group", "include"),
        ("sort=,,", "sort"),
        ("sort=-", "sort"),
        ("sort=id,", "sort"),
        ("sort=--id", "sort"),
        ("filter[id]=abc", "filter"),
        ("filter[id]=1,abc", "filter"),
        ("filter[id]=1.5", "filter"),
        ("filter[id]=99999999999999999999", "filter"),
        ("filter[group_id]=x", "filter"),
    ],
)
def test_malformed_query_is_a_422_keyed_by_the_parameter(
    api: Caller, path_ids: dict[str, int], query: str, key: str
) -> None:
    body = assert_error(api.get(f"/event/{api.event_id}/bookings", query), 422)
    assert key in body["errors"], body


@pytest.mark.parametrize("value", ["2026-02-30", "2026-6-1", "abc", "15/06/2026", "2026-06-15x"])
@pytest.mark.parametrize("name", ["start_date", "end_date"])
def test_bad_date_filter_is_a_422(api: Caller, name: str, value: str) -> None:
    body = assert_error(api.get("/events", {f"filter[{name}]": value}), 422)
    assert "filter" in body["errors"]


def allowed_list(message: str, kind: str) -> list[str]:
    match = re.search(rf"Allowed {kind}\(s\) are `([^`]*)`\.$", message)
    assert match, message
    return match.group(1).split(", ")


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS, ids=ENDPOINT_IDS)
def test_unknown_filter_is_a_422_naming_it_and_the_allowed_ones(
    api: Caller, path_ids: dict[str, int], endpoint: Endpoint
) -> None:
    path = endpoint_path(endpoint, path_ids)
    body = assert_error(api.get(path, "filter[nope]=1&filter[id]=1"), 422)
    message = body["message"]
    assert message.startswith("Requested filter(s) `nope` are not allowed. "), message
    assert set(endpoint.filters) <= set(allowed_list(message, "filter"))
    assert body["errors"] == {"filter": [message]}


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS, ids=ENDPOINT_IDS)
def test_unknown_sort_is_a_422_naming_it(
    api: Caller, path_ids: dict[str, int], endpoint: Endpoint
) -> None:
    path = endpoint_path(endpoint, path_ids)
    body = assert_error(api.get(path, "sort=-nope"), 422)
    message = body["message"]
    assert message.startswith("Requested sort(s) `nope` is not allowed."), message
    if endpoint.sorts:
        assert set(endpoint.sorts) <= set(allowed_list(message, "sort"))
    assert body["errors"] == {"sort": [message]}


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS, ids=ENDPOINT_IDS)
def test_unknown_include_is_a_422_naming_it_and_the_allowed_ones(
    api: Caller, path_ids: dict[str, int], endpoint: Endpoint
) -> None:
    path = endpoint_path(endpoint, path_ids)
    body = assert_error(api.get(path, "include=nope"), 422)
    message = body["message"]
    assert message.startswith("Requested include(s) `nope` are not allowed. "), message
    assert set(endpoint.includes) <= set(allowed_list(message, "include"))
    assert body["errors"] == {"include": [message]}


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS, ids=ENDPOINT_IDS)
def test_filter_by_a_non_integer_id_is_a_422_on_every_list(
    api: Caller, path_ids: dict[str, int], endpoint: Endpoint
) -> None:
    body = assert_error(api.get(endpoint_path(endpoint, path_ids), "filter[id]=abc"), 422)
    assert "filter" in body["errors"]


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS, ids=ENDPOINT_IDS)
def test_every_documented_filter_sort_and_include_is_accepted(
    api: Caller, path_ids: dict[str, int], endpoint: Endpoint
) -> None:
    path = endpoint_path(endpoint, path_ids)
    samples = {
        "active": "true",
        "start_date": "2026-06-15",
        "end_date": "2026-06-17",
        "status": "confirmed",
    }
    for name in endpoint.filters:
        value = samples.get(name, "1" if name == "id" or name.endswith("_id") else "x")
        api.ok(path, {f"filter[{name}]": value})
    for name in endpoint.sorts:
        api.ok(path, {"sort": name})
        api.ok(path, {"sort": f"-{name}"})
    if endpoint.includes:
        api.ok(path, {"include": ",".join(endpoint.includes)})


def test_filter_by_the_largest_bigint_is_an_empty_list(api: Caller) -> None:
    assert api.data(f"/event/{api.event_id}/bookings", "filter[id]=9223372036854775807") == []


def test_unknown_query_parameters_are_ignored(api: Caller, path_ids: dict[str, int]) -> None:
    # Near misses of the grammar's names (`filters[x]`, `Sort`) are 422s: test_parameter_typos.
    query = "nope=1&utm_source=newsletter&callback=x&_=1700000000&q=smith&filter_x=y"
    ids = api.ids(f"/event/{api.event_id}/bookings", query)
    assert ids == [path_ids["booking"]]


@pytest.mark.parametrize(
    "query",
    ["filter[name]=%00", "filter[name]=a%00b", "filter[slug]=%00", "sort=%00", "include=%00"],
)
def test_nul_characters_in_the_query_are_never_a_server_error(api: Caller, query: str) -> None:
    response = api.get("/events", query)
    if response.status_code != 200:
        assert_client_error(response)


@pytest.mark.parametrize("query", ["ticket=%00", "participant_type=a%00"])
def test_nul_characters_in_stats_filters_are_never_a_server_error(api: Caller, query: str) -> None:
    response = api.get(f"/event/{api.event_id}/stats", query)
    if response.status_code != 200:
        assert_client_error(response)


def test_a_very_long_filter_value_is_never_a_server_error(api: Caller) -> None:
    response = api.get("/events", {"filter[name]": "a" * 20_000})
    if response.status_code != 200:
        assert_client_error(response)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2/nope",
        "/api/v2/event/1/nope",
        "/api/v2/events/1/bookings",
        "/nope",
        "/api/v1/events",
    ],
)
def test_unknown_path_is_a_404(api: Caller, path: str) -> None:
    assert_error(api.client.get(path, headers=api.headers), 404)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/events", "/event/{event}", "/event/{event}/bookings", "/user"])
def test_writing_methods_are_a_405(api: Caller, method: str, path: str) -> None:
    url = API + path.format(event=api.event_id)
    response = getattr(api.client, method)(url, headers=api.headers, json={"name": "x"})
    assert_error(response, 405)
    assert "GET" in response.headers.get("Allow", "")


@pytest.mark.parametrize(
    "path",
    [
        "/event/9223372036854775808",
        "/event/99999999999999999999",
        "/event/0",
        "/event/-1",
        "/event/abc",
        "/event/1.0",
        "/event/{event}/bookings/9223372036854775808",
        "/event/{event}/bookings/99999999999999999999",
        "/event/{event}/bookings/9223372036854775807",
        "/event/{event}/bookings/{booking}/tickets/99999999999999999999",
        "/event/{event}/groups/9223372036854775808/bookings",
        "/event/{event}/tickets/9223372036854775808",
        "/event/{event}/customers/9223372036854775808",
        "/event/{event}/roles/9223372036854775808",
        "/event/{event}/users/9223372036854775808",
        "/event/9223372036854775808/stats",
    ],
)
def test_ids_outside_bigint_or_not_ids_are_a_404(
    api: Caller, path_ids: dict[str, int], path: str
) -> None:
    assert_error(api.get(path.format(**path_ids)), 404)


def bookings_with_raw_query(api: Caller, raw_query: str) -> TestResponse:
    """The bookings list with the query string exactly as a server would pass it on."""
    return api.client.get(
        f"/api/v2/event/{api.event_id}/bookings",
        headers=api.headers,
        environ_overrides={"QUERY_STRING": raw_query},
    )


@pytest.mark.parametrize(
    "raw_query",
    ["status=\xff\xfe", "filter[\xe9]=1", "include=tickets&sort=\xc3", "\xc0\xaf=1"],
)
def test_a_query_string_that_is_not_utf8_is_a_422(api: Caller, raw_query: str) -> None:
    # A server hands the raw request line's bytes over as latin-1: these are not UTF-8.
    body = assert_error(bookings_with_raw_query(api, raw_query), 422)
    assert body["errors"] == {"query": ["The query string is not valid UTF-8; percent-encode it."]}


def test_raw_utf8_in_the_query_string_is_read_as_utf8(api: Caller) -> None:
    raw = "filter[reference]=" + "é".encode().decode("latin-1")
    response = bookings_with_raw_query(api, raw)
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_a_token_pasted_into_the_path_is_not_echoed(api: Caller, method: str) -> None:
    # The 404 body names the route as the access line logs it: a secret after `|` redacted.
    secret = "s3cretValueThatMustNotComeBack"
    response = api.client.open(f"/api/v2/user/12|{secret}", method=method, headers=api.headers)
    body = assert_error(response, 404)
    assert secret not in response.get_data(as_text=True)
    assert body["message"] == "The route api/v2/user/12|[REDACTED] could not be found."
