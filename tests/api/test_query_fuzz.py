"""The whole query grammar, fuzzed on every endpoint the app declares.

Property: never a 5xx; every 4xx in the contract's body; every 200 the body asked for
(the list envelope of the event in the path, one row, CSV or NDJSON). The requests come
from tests/fuzzing/strategies.py, derived from each view's QuerySpec, flags and webargs
arguments, against the world of tests/fuzzing/world.py. `make fuzz` runs the same
strategies for minutes (reliability/fuzz.py); these are the quick versions.
"""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import API, LIST_ENDPOINTS, assert_client_error
from tests.fuzzing.campaign import explore
from tests.fuzzing.checks import catching_tracebacks, problem, send
from tests.fuzzing.strategies import FuzzRequest, cursor_requests, fuzz_requests, sign_cursor
from tests.fuzzing.targets import Target, targets
from tests.fuzzing.world import World, seed_world

LISTS = frozenset({"paginated"})
OTHERS = frozenset({"single", None})
SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def found(app: Flask) -> tuple[Target, ...]:
    return targets(app)


@pytest.fixture
def world(app: Flask, found: tuple[Target, ...]) -> World:
    return seed_world(found, app.config["SECRET_KEY"])


def route_of(client: FlaskClient, path: str) -> str:
    """The route a path matches: what a cursor is sealed for."""
    rule, _ = client.application.url_map.bind("localhost").match(path, return_rule=True)
    return str(rule.rule)


def check(app: Flask, client: FlaskClient, world: World, request: FuzzRequest) -> None:
    limiter = app.extensions.get("eventio.ratelimit")
    if limiter is not None:
        limiter.reset()  # hundreds of examples share one token's budget
    with catching_tracebacks() as catcher:
        outcome = send(client, request, world, catcher)
    assert outcome.status < 500, f"{request!r} answered {outcome.status}\n{outcome.trace}"
    if 400 <= outcome.status < 500:
        assert outcome.response is not None
        assert_client_error(outcome.response)
    assert problem(request, outcome) is None, (request, problem(request, outcome))


@settings(SETTINGS, max_examples=400)
@given(data=st.data())
def test_list_endpoints_keep_the_contract_whatever_the_query(
    app: Flask, client: FlaskClient, found: tuple[Target, ...], world: World, data: st.DataObject
) -> None:
    check(app, client, world, data.draw(fuzz_requests(found, world, LISTS), label="request"))


@settings(SETTINGS, max_examples=200)
@given(data=st.data())
def test_single_rows_stats_and_user_keep_the_contract_whatever_the_query(
    app: Flask, client: FlaskClient, found: tuple[Target, ...], world: World, data: st.DataObject
) -> None:
    check(app, client, world, data.draw(fuzz_requests(found, world, OTHERS), label="request"))


@settings(SETTINGS, max_examples=200)
@given(data=st.data())
def test_lists_keep_the_contract_whatever_the_cursor(
    app: Flask, client: FlaskClient, found: tuple[Target, ...], world: World, data: st.DataObject
) -> None:
    """Cursors get their own run: a signed position is a JSON document of its own, too
    large a space to cover as one part among many of a query."""
    check(app, client, world, data.draw(cursor_requests(found, world), label="request"))


def test_every_documented_list_endpoint_is_a_target(found: tuple[Target, ...]) -> None:
    """The targets come from the app; they must include every list the contract names."""
    placeholder = re.compile(r"\{[^}]+\}")
    fuzzed = {placeholder.sub("{}", t.name.removeprefix(API)) for t in found if t.spec}
    documented = {placeholder.sub("{}", e.template) for e in LIST_ENDPOINTS}
    assert documented <= fuzzed, documented - fuzzed
    assert any(t.flags for t in found), "no view's flags were found"
    assert any(t.query_arguments for t in found), "no webargs arguments were found"


def test_the_fuzzer_reaches_rows_and_every_kind_of_answer(
    app: Flask, found: tuple[Target, ...], world: World
) -> None:
    """A short campaign: most requests pass validation and many lists hold rows, so the
    property above is tested on the database's answers, not only on the parser's."""
    tally = explore(app, found, world, max_requests=400, batch=21)
    assert set(tally.by_target) == {t.name for t in found}
    assert {200, 403, 404, 422} <= set(tally.statuses), tally.statuses
    assert tally.statuses[200] >= tally.requests * 0.3, tally.statuses
    assert tally.lists_with_rows >= tally.requests * 0.07, tally.lists_with_rows
    assert tally.distinct_inputs >= tally.requests * 0.8


def test_a_cursor_signed_as_the_app_signs_reaches_the_database(
    app: Flask, client: FlaskClient, world: World
) -> None:
    """Forged cursors are only worth fuzzing if the app takes them: one signed with the
    app's key reads from its position; one signed with another key is refused."""
    headers = {"Authorization": f"Bearer {world.token_by_name['manager']}"}
    event_id = world.home_ids()["event_id"]
    path = f"{API}/event/{event_id}/bookings"
    everything = client.get(path, headers=headers, query_string={"include_cancelled": "1"})
    ids = [row["id"] for row in everything.get_json()["data"]]
    payload = json.dumps({"s": "id", "v": [ids[2]], "b": False}).encode()
    for key, status in ((world.cursor_key, 200), (b"another key", 422)):
        response = client.get(
            path,
            headers=headers,
            query_string={
                "include_cancelled": "1",
                "cursor": sign_cursor(key, route_of(client, path), payload),
            },
        )
        assert response.status_code == status, response.get_data(as_text=True)
        if status == 200:
            assert [row["id"] for row in response.get_json()["data"]] == ids[3:]


# --- What the fuzzer found: each was (or still is) a 500; its docstring says the fix ---------


@pytest.mark.parametrize(
    "query",
    [
        "filter[status]=\xff\xfe",  # raw bytes that are no UTF-8
        "filter[name]=\xc3",  # a truncated two-byte character
        "sort=\xed\xa0\x80",  # an encoded surrogate
        "\xc0\xaf=1",  # an overlong `/`, in a key
    ],
)
def test_raw_bytes_that_are_not_utf8_are_a_client_error(
    client: FlaskClient, world: World, query: str
) -> None:
    """Found by the fuzzer: werkzeug decodes the raw query string as strict UTF-8 when
    `request.args` is first read, and the UnicodeDecodeError was a 500. gunicorn refuses
    such a request line itself (400), but `flask run` and other servers pass the bytes
    on. Fixed in eventio/http/nul_characters.py (a 422)."""
    headers = {"Authorization": f"Bearer {world.token_by_name['manager']}"}
    event_id = world.home_ids()["event_id"]
    response = client.get(
        f"{API}/event/{event_id}/bookings",
        headers=headers,
        environ_overrides={"QUERY_STRING": query},
    )
    assert_client_error(response)


@pytest.mark.parametrize(
    ("path", "sort", "body"),
    [
        pytest.param("/bookings", "id", None, id="JSON null"),
        pytest.param("/bookings", "id", [], id="JSON list"),
        pytest.param("/bookings", "id", "x", id="JSON string"),
        pytest.param("/bookings", "id", 1, id="JSON number"),
        pytest.param("/bookings", "id", {"s": "id", "v": [2**63], "b": False}, id="past BIGINT"),
        pytest.param(
            "/bookings", "id", {"s": "id", "v": [2**64 - 1], "b": False}, id="largest u64"
        ),
        pytest.param("/bookings", "id", {"s": "id", "v": [True], "b": False}, id="true for an id"),
        pytest.param(
            "/bookings/{booking}/tickets",
            "qty",
            {"s": "qty,id", "v": [2**40, 1], "b": False},
            id="past INTEGER",
        ),
        pytest.param(
            "/bookings/{booking}/tickets",
            "price",
            {"s": "price,id", "v": ["sNaN", 1], "b": False},
            id="signalling NaN",
        ),
        pytest.param(
            "/bookings/{booking}/tickets",
            "price",
            {"s": "price,id", "v": ["1e999999", 1], "b": False},
            id="1e999999",
        ),
        pytest.param(
            "/bookings",
            "status",
            {"s": "status,id", "v": ["a\x00b", 1], "b": False},
            id="NUL in text",
        ),
    ],
)
def test_a_signed_cursor_holding_values_no_column_takes_is_a_422(
    client: FlaskClient, world: World, path: str, sort: str, body: object
) -> None:
    """Found by the fuzzer: a cursor signed with the app's key whose payload was not an
    object, or whose values did not fit the ordering's columns, was a 500 (`decode`
    called `data.get` on any JSON; `_typed` let through integers past the column's
    range, `true` for an integer, a signalling NaN or 1e999999 for a numeric, NUL in
    text). Only a holder of SECRET_KEY can sign one (it defaults to a hash of the
    database URL when unset). Fixed in eventio/querybuilder/cursor.py: a payload that is
    not an object is refused, and each value is parsed as a filter value of its column."""
    ids = world.home_ids()
    url = f"{API}/event/{ids['event_id']}{path.format(booking=ids['booking_id'])}"
    cursor = sign_cursor(world.cursor_key, route_of(client, url), json.dumps(body).encode())
    response = client.get(
        url,
        headers={"Authorization": f"Bearer {world.token_by_name['manager']}"},
        query_string={"cursor": cursor, "sort": sort},
    )
    assert_client_error(response)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"cursor"}
