"""Arbitrary query strings on every endpoint: never a 5xx, and every 4xx in the contract's body."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import LIST_ENDPOINTS, Caller, Endpoint, assert_client_error

KNOWN_NAMES = sorted(
    {name for e in LIST_ENDPOINTS for name in (*e.filters, *e.sorts, *e.includes)}
    | {"nope", "updated_since", "updated_at", "ticketsCount"}
)
GRAMMAR_KEYS = [
    "filter",
    "sort",
    "include",
    "page",
    "per_page",
    "fields",
    "cursor",
    "format",
    "no-cache",
    "include_cancelled",
    "ticketId",
    "ticket",
    "participant_type",
    "eventId",
]
ODD_VALUES = [
    "",
    "-",
    ",",
    ",,",
    ".",
    "..",
    "%",
    "_",
    "%25",
    "%zz",
    "\x00",
    "\u202e",
    "\ufeff",
    "\U0001f600",
    "true",
    "0",
    "-1",
    "1e3",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999",
    "2026-02-30",
    "2026-06-15",
    "2026-01-10T14:30:00+01:00",
    "csv",
    "ndjson",
    "json",
]

text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=24)
# Characters left unencoded: brackets, list separators, and sometimes a raw `%`.
safe = st.sampled_from(["", "[]", "[],-.", "[],-.%", "[],-.%&="])


def query_pairs(own_names: list[str]) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Pairs whose keys and values favour the endpoint's own names, so many pass validation
    and reach the database, while the rest probe the parser."""
    names = st.one_of(st.sampled_from(own_names), st.sampled_from(KNOWN_NAMES), text)
    keys = st.one_of(
        st.sampled_from(GRAMMAR_KEYS),
        st.builds(lambda name: f"filter[{name}]", st.sampled_from(own_names)),
        st.builds(lambda name: f"filter[{name}]", names),
        st.builds(
            lambda name, suffix: f"filter[{name}]{suffix}",
            names,
            st.sampled_from(["[]", "[x]", "]", "["]),
        ),
        st.builds(lambda name: f"fields[{name}]", names),
        text,
    )
    values = st.one_of(
        text,
        st.sampled_from(ODD_VALUES),
        st.tuples(text, st.sampled_from(ODD_VALUES), text).map("".join),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.lists(
            st.builds(lambda sign, name: sign + name, st.sampled_from(["", "-"]), names),
            max_size=4,
        ).map(",".join),
    )
    return st.lists(st.tuples(keys, values), max_size=5)


def own_names(endpoint: Endpoint) -> list[str]:
    return sorted({*endpoint.filters, *endpoint.sorts, *endpoint.includes}) or ["id"]


STATS_NAMES = ["ticketId", "ticket", "participant_type", "no-cache"]
BY_TEMPLATE = {e.template: own_names(e) for e in LIST_ENDPOINTS} | {
    "/event/{event}": own_names(LIST_ENDPOINTS[0]),
    "/event/{event}/stats": STATS_NAMES,
    "/event/{event}/bookings/{booking}": own_names(LIST_ENDPOINTS[2]),
    "/event/{event}/groups/{group}": own_names(LIST_ENDPOINTS[4]),
    "/user": ["eventId"],
}
requests = st.sampled_from(sorted(BY_TEMPLATE)).flatmap(
    lambda template: st.tuples(st.just(template), query_pairs(BY_TEMPLATE[template]), safe)
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=requests)
def test_arbitrary_query_strings_never_fail_the_server(
    api: Caller, path_ids: dict[str, int], request: tuple[str, list[tuple[str, str]], str]
) -> None:
    template, query, unsafe = request
    encoded = "&".join(f"{quote(k, safe=unsafe)}={quote(v, safe=unsafe)}" for k, v in query)
    response = api.get(template.format(**path_ids), encoded)
    assert response.status_code < 500, (encoded, response.get_data(as_text=True)[:300])
    if response.status_code >= 400:
        assert_client_error(response)
