"""Unrestricted resource consumption (OWASP API4:2023): every cap on what one request asks.

The query language's caps (`QueryLimits`), `per_page` against `MAX_PER_PAGE`, and the
request target against `MAX_REQUEST_LINE`, each a 4xx in the contract's body. The
statement timeout on PostgreSQL is tested in tests/production/test_database_outages.py.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from eventio import create_app
from eventio.api.declaration import declaration_of
from eventio.http.input_guards import DEFAULT_MAX_REQUEST_LINE
from eventio.querybuilder import (
    InvalidFilterQuery,
    InvalidIncludeQuery,
    InvalidParameterQuery,
    InvalidQuery,
    InvalidSortQuery,
    QueryParams,
)
from eventio.querybuilder.params import LIMITS, QueryLimits
from tests.api.conftest import API, Caller, assert_error
from tests.factories import TicketFactory
from tests.support.live_server import live_server

ID_PARAMETER = re.compile(r"<id:(\w+)>")


@pytest.fixture
def api(client: FlaskClient, manager: dict[str, Any]) -> Caller:
    return Caller(client, manager["headers"], manager["event"].id, manager["user"].id)


def listing_rules(app: Flask, kind: str) -> list[Rule]:
    """Every route served by the query language (`paginated` or `single`), from the url map."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if declaration_of(app.view_functions[rule.endpoint]).listing == kind
    ]


def concrete(rule: Rule, event_id: int) -> str:
    """The rule's path with the caller's event and an id for every other row.

    The query is checked before any row but the event is looked up, so the rows need
    not exist: a 422 comes before the resource's 404.
    """
    path = rule.rule.replace("<id:event_id>", str(event_id))
    return ID_PARAMETER.sub("1", path)


def names(prefix: str, count: int) -> str:
    return ",".join(f"{prefix}{n}" for n in range(count))


# ---------------------------------------------------------------------------------------
# The parser: each cap exactly, without HTTP.


def test_the_caps_are_the_documented_numbers() -> None:
    assert (
        QueryLimits(
            max_filters=20,
            max_sorts=5,
            max_includes=10,
            max_include_depth=3,
            max_value_length=1000,
            max_list_items=100,
        )
        == LIMITS
    )


def test_twenty_filters_parse_and_the_twenty_first_is_refused() -> None:
    pairs = [(f"filter[f{n}]", "x") for n in range(20)]
    assert len(QueryParams.parse(pairs).filters) == 20

    with pytest.raises(InvalidFilterQuery) as raised:
        QueryParams.parse([*pairs, ("filter[one_more]", "x")])
    assert raised.value.key == "filter"
    assert raised.value.message == "The filter field must not have more than 20 items."


def test_a_repeated_filter_counts_once() -> None:
    pairs = [(f"filter[f{n}]", "x") for n in range(20)] + [("filter[f0]", "y")] * 50

    assert QueryParams.parse(pairs).filters["f0"] == "y"


def test_five_sorts_parse_and_six_are_refused() -> None:
    assert len(QueryParams.parse([("sort", names("-s", 5))]).sorts) == 5

    with pytest.raises(InvalidSortQuery) as raised:
        QueryParams.parse([("sort", names("s", 6))])
    assert raised.value.key == "sort"
    assert raised.value.message == "The sort field must not have more than 5 items."


def test_ten_includes_parse_and_eleven_are_refused() -> None:
    assert len(QueryParams.parse([("include", names("i", 10))]).includes) == 10

    with pytest.raises(InvalidIncludeQuery) as raised:
        QueryParams.parse([("include", names("i", 11))])
    assert raised.value.key == "include"
    assert raised.value.message == "The include field must not have more than 10 items."


@pytest.mark.parametrize("include", ["a", "a.b", "a.b.c", "a,a.b,b.c.d"])
def test_includes_up_to_three_relations_deep_parse(include: str) -> None:
    assert QueryParams.parse([("include", include)]).includes == tuple(include.split(","))


@pytest.mark.parametrize("include", ["a.b.c.d", "ok,a.b.c.d.e", "a.b.c.d.e.f.g.h.i.j"])
def test_an_include_four_or_more_relations_deep_is_refused(include: str) -> None:
    with pytest.raises(InvalidIncludeQuery) as raised:
        QueryParams.parse([("include", include)])

    assert raised.value.key == "include"
    assert "nested too deep" in raised.value.message
    assert "at most 3 relations deep" in raised.value.message
    assert "ok" not in raised.value.message.split("`")[1].split(", ")


@pytest.mark.parametrize("key", ["filter[id]", "fields[bookings]", "fields"])
def test_a_comma_list_of_a_hundred_items_parses_and_one_more_is_refused(key: str) -> None:
    QueryParams.parse([(key, names("v", 100))])

    with pytest.raises(InvalidQuery) as raised:
        QueryParams.parse([(key, names("v", 101))])
    assert raised.value.key == key.split("[", 1)[0]
    assert raised.value.message == f"The {key} field must not have more than 100 items."


def test_a_list_of_empty_items_counts_every_comma() -> None:
    with pytest.raises(InvalidQuery):
        QueryParams.parse([("filter[id]", "," * 100)])


@pytest.mark.parametrize("key", ["filter[name]", "sort", "include", "fields[x]", "cursor"])
def test_a_value_of_a_thousand_characters_parses_and_one_more_is_refused(key: str) -> None:
    name = key.split("[", 1)[0]
    with pytest.raises(InvalidParameterQuery) as raised:
        QueryParams.parse([(key, "a" * 1001)])
    assert raised.value.key == name
    assert raised.value.message == f"The query parameter `{name}` is longer than 1000 characters."

    QueryParams.parse([(key, "a" * 1000)])


def test_other_limits_can_be_passed_to_the_parser() -> None:
    tight = QueryLimits(max_filters=1, max_sorts=1, max_includes=1, max_include_depth=1)

    with pytest.raises(InvalidFilterQuery):
        QueryParams.parse([("filter[a]", "1"), ("filter[b]", "1")], tight)
    with pytest.raises(InvalidSortQuery):
        QueryParams.parse([("sort", "a,b")], tight)
    with pytest.raises(InvalidIncludeQuery, match="at most 1 relations deep"):
        QueryParams.parse([("include", "a.b")], tight)


# ---------------------------------------------------------------------------------------
# Over HTTP: every route of the query language, found in the url map.


def assert_refused(response: Any, key: str, message: str) -> None:
    body = assert_error(response, 422)
    assert body["errors"] == {key: [body["message"]]}, body
    assert message in body["message"], body


CAPS_ON_EVERY_LISTING = {
    "include too deep": ({"include": "a.b.c.d"}, "include", "nested too deep"),
    "too many includes": (
        {"include": names("i", 11)},
        "include",
        "must not have more than 10 items",
    ),
    "too many fields": (
        {"fields[x]": names("f", 101)},
        "fields",
        "must not have more than 100 items",
    ),
    "long include": ({"include": "a" * 1001}, "include", "longer than 1000 characters"),
}
CAPS_ON_EVERY_LIST = {
    **CAPS_ON_EVERY_LISTING,
    "too many filters": (
        {f"filter[f{n}]": "1" for n in range(21)},
        "filter",
        "The filter field must not have more than 20 items.",
    ),
    "too many sorts": ({"sort": names("s", 6)}, "sort", "must not have more than 5 items"),
    "long filter list": (
        {"filter[id]": names("", 101)},
        "filter",
        "must not have more than 100 items",
    ),
    "long filter value": (
        {"filter[id]": "1" * 1001},
        "filter",
        "longer than 1000 characters",
    ),
}


@pytest.mark.parametrize("case", CAPS_ON_EVERY_LIST)
def test_every_list_refuses_a_query_past_a_cap(app: Flask, api: Caller, case: str) -> None:
    query, key, message = CAPS_ON_EVERY_LIST[case]
    rules = listing_rules(app, "paginated")
    assert len(rules) >= 9  # every list endpoint, none lost from the url map
    for rule in rules:
        path = concrete(rule, api.event_id).removeprefix(API)
        assert_refused(api.get(path, query), key, message)


@pytest.mark.parametrize("case", CAPS_ON_EVERY_LISTING)
def test_every_single_resource_refuses_includes_past_a_cap(
    app: Flask, api: Caller, case: str
) -> None:
    query, key, message = CAPS_ON_EVERY_LISTING[case]
    rules = listing_rules(app, "single")
    assert len(rules) >= 8
    for rule in rules:
        path = concrete(rule, api.event_id).removeprefix(API)
        assert_refused(api.get(path, query), key, message)


def test_a_cap_is_checked_before_the_names_are(api: Caller) -> None:
    # `tickets.ticket` is allowed on bookings: one level deeper is refused for depth alone.
    bookings = f"/event/{api.event_id}/bookings"
    assert_refused(api.get(bookings, {"include": "tickets.ticket.event.x"}), "include", "deep")
    three_deep = api.get(bookings, {"include": "tickets.ticket.event"})
    assert_refused(three_deep, "include", "are not allowed. Allowed include(s) are")


# ---------------------------------------------------------------------------------------
# per_page: anything up to 2^31 - 1 is accepted and served as at most MAX_PER_PAGE.


@pytest.fixture
def max_per_page_of_three(app: Flask, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setitem(app.config, "MAX_PER_PAGE", 3)
    return 3


@pytest.mark.parametrize("per_page", ["4", "1000", str(2**31 - 1)])
def test_per_page_past_max_per_page_is_served_as_max_per_page(
    api: Caller, max_per_page_of_three: int, per_page: str
) -> None:
    for _ in range(5):
        TicketFactory(event_id=api.event_id)
    tickets = f"/event/{api.event_id}/tickets"

    body = api.ok(tickets, {"per_page": per_page})
    assert len(body["data"]) == 3
    assert body["meta"]["per_page"] == 3
    assert body["meta"]["last_page"] == 2

    by_cursor = api.ok(tickets, {"per_page": per_page, "cursor": ""})
    assert len(by_cursor["data"]) == 3


def test_the_default_max_per_page_is_1000(app: Flask) -> None:
    assert app.config["MAX_PER_PAGE"] == 1000


@pytest.mark.parametrize("per_page", [str(2**31), "9" * 20, "0", "-1"])
def test_per_page_outside_its_range_is_a_422(api: Caller, per_page: str) -> None:
    response = api.get(f"/event/{api.event_id}/tickets", {"per_page": per_page})
    assert_refused(response, "per_page", "The per_page field must be a whole number")


# ---------------------------------------------------------------------------------------
# The request target: MAX_REQUEST_LINE bytes of path and query string, else 414.


def target_of_length(length: int, path: str = "/api/v2/events") -> str:
    prefix = f"{path}?filter[name]="
    return prefix + "a" * (length - len(prefix))


def assert_uri_too_long(response: Any, limit: int) -> None:
    body = assert_error(response, 414)
    assert body["message"] == (
        f"The request URI is longer than {limit} characters; "
        "send fewer or shorter query parameters."
    )


def test_the_default_request_line_cap_is_8000(app: Flask) -> None:
    assert DEFAULT_MAX_REQUEST_LINE == 8000
    assert app.config["MAX_REQUEST_LINE"] == 8000


def test_a_target_of_exactly_the_cap_is_served(api: Caller) -> None:
    target = target_of_length(8000)
    assert len(target) == 8000

    response = api.client.get(target, headers=api.headers)
    # Past the gate: the value itself is the query language's to refuse.
    assert_refused(response, "filter", "longer than 1000 characters")


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/v2/events"),
        ("HEAD", "/api/v2/events"),
        ("GET", "/api/v2/nope"),
        ("POST", "/api/v2/events"),
        ("OPTIONS", "/api/v2/events"),
        ("POST", "/oauth/token"),
        ("GET", "/health/live"),
    ],
)
def test_a_target_one_byte_over_is_a_414_before_route_method_and_token(
    client: FlaskClient, method: str, path: str
) -> None:
    response = client.open(target_of_length(8001, path), method=method)

    assert response.status_code == 414
    if method != "HEAD":
        assert_uri_too_long(response, 8000)


def test_a_long_path_alone_is_a_414(client: FlaskClient) -> None:
    assert_uri_too_long(client.get("/api/v2/" + "x" * 8000), 8000)


def test_a_percent_encoded_target_is_measured_as_sent(api: Caller) -> None:
    # 2700 `é` are 5400 bytes of UTF-8 and 16200 characters once percent-encoded.
    response = api.get("/events", {"filter[name]": "é" * 2700})
    assert_uri_too_long(response, 8000)


def app_with(app: Flask, **config: Any) -> Flask:
    inherited = {k: v for k, v in app.config.items() if k not in ("MAX_REQUEST_LINE",)}
    return create_app({**inherited, **config})


def test_max_request_line_can_be_configured(app: Flask) -> None:
    client = app_with(app, MAX_REQUEST_LINE=100).test_client()

    assert client.get(target_of_length(100, "/health/live")).status_code == 200
    assert_uri_too_long(client.get(target_of_length(101, "/health/live")), 100)


def test_max_request_line_is_read_from_the_environment(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_REQUEST_LINE", "200")
    client = app_with(app).test_client()

    assert_uri_too_long(client.get(target_of_length(201, "/health/live")), 200)


@pytest.fixture(scope="module")
def served(app: Flask) -> Iterator[str]:
    with live_server(app) as base:
        yield base


def raw_get(base: str, target: str) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_a_real_server_measures_the_raw_target(served: str) -> None:
    status, _, _ = raw_get(served, target_of_length(8000, "/health/live"))
    assert status == 200

    status, headers, body = raw_get(served, target_of_length(8001, "/health/live"))
    assert status == 414
    assert headers["Content-Type"] == "application/json"
    assert b"longer than 8000 characters" in body
