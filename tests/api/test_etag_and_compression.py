"""Conditional GETs (strong ETag, 304) and gzip / brotli compression of responses over 1 KB."""

from __future__ import annotations

import gzip
import importlib.util
import json

import pytest
from werkzeug.test import TestResponse

from tests.api.conftest import Caller, assert_error, url
from tests.factories import BookingFactory

BROTLI = importlib.util.find_spec("brotli") is not None


def bookings_url(api: Caller, query: dict[str, str] | None = None) -> str:
    return url(f"/event/{api.event_id}/bookings", query)


def get(api: Caller, target: str, **headers: str) -> TestResponse:
    return api.client.get(target, headers={**api.headers, **headers})


@pytest.fixture
def big_list(api: Caller) -> str:
    """A bookings list URL whose JSON is well over 1 KB."""
    for _ in range(12):
        BookingFactory(event_id=api.event_id)
    target = bookings_url(api, {"per_page": "50"})
    assert len(get(api, target).get_data()) > 2048
    return target


def test_a_200_get_has_a_strong_etag(api: Caller, big_list: str) -> None:
    response = get(api, big_list)
    assert response.status_code == 200
    etag = response.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"'), etag
    assert not etag.startswith("W/")
    assert get(api, big_list).headers["ETag"] == etag  # the same body, the same tag


def test_matching_if_none_match_is_a_304_with_an_empty_body(api: Caller, big_list: str) -> None:
    etag = get(api, big_list).headers["ETag"]
    response = get(api, big_list, **{"If-None-Match": etag})
    assert response.status_code == 304
    assert response.get_data() == b""
    assert response.headers["ETag"] == etag


def test_if_none_match_star_or_a_list_containing_the_tag_is_a_304(
    api: Caller, big_list: str
) -> None:
    etag = get(api, big_list).headers["ETag"]
    assert get(api, big_list, **{"If-None-Match": f'"other", {etag}'}).status_code == 304
    assert get(api, big_list, **{"If-None-Match": '"other"'}).status_code == 200


def test_a_changed_resource_gets_another_etag_and_a_200(api: Caller, big_list: str) -> None:
    etag = get(api, big_list).headers["ETag"]
    BookingFactory(event_id=api.event_id)
    response = get(api, big_list, **{"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    assert len(response.get_json()["data"]) == 13


def test_single_resource_has_an_etag_and_answers_304(api: Caller) -> None:
    booking = BookingFactory(event_id=api.event_id)
    target = url(f"/event/{api.event_id}/bookings/{booking.id}")
    etag = get(api, target).headers["ETag"]
    assert get(api, target, **{"If-None-Match": etag}).status_code == 304


def test_the_etag_differs_between_users_queries(api: Caller, big_list: str) -> None:
    sorted_desc = bookings_url(api, {"per_page": "50", "sort": "-id"})
    assert get(api, big_list).headers["ETag"] != get(api, sorted_desc).headers["ETag"]


def test_gzip_compresses_a_large_response_with_a_marked_etag(api: Caller, big_list: str) -> None:
    identity = get(api, big_list)
    response = get(api, big_list, **{"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers.get("Vary", "")
    assert len(response.get_data()) < len(identity.get_data())
    assert json.loads(gzip.decompress(response.get_data())) == identity.get_json()
    etag = response.headers["ETag"]
    assert etag.endswith(':gzip"'), etag
    assert etag == identity.headers["ETag"][:-1] + ':gzip"'
    again = get(api, big_list, **{"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""


@pytest.mark.skipif(not BROTLI, reason="brotli is not installed")
def test_brotli_compresses_a_large_response_with_a_marked_etag(api: Caller, big_list: str) -> None:
    import brotli

    identity = get(api, big_list)
    response = get(api, big_list, **{"Accept-Encoding": "br, gzip"})
    assert response.headers["Content-Encoding"] == "br"
    assert json.loads(brotli.decompress(response.get_data())) == identity.get_json()
    etag = response.headers["ETag"]
    assert etag.endswith(':br"'), etag
    again = get(api, big_list, **{"Accept-Encoding": "br", "If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""


def test_identity_etag_does_not_match_a_compressed_response(api: Caller, big_list: str) -> None:
    """A cache holding the gzip body must not be told the identity one is the same."""
    identity_etag = get(api, big_list).headers["ETag"]
    gzip_etag = get(api, big_list, **{"Accept-Encoding": "gzip"}).headers["ETag"]
    assert identity_etag != gzip_etag


def test_small_responses_are_not_compressed(api: Caller) -> None:
    target = bookings_url(api)
    identity = get(api, target)
    assert len(identity.get_data()) < 1024
    response = get(api, target, **{"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.get_json() == identity.get_json()
    assert response.headers["ETag"] == identity.headers["ETag"]


def test_unauthenticated_error_has_no_etag(api: Caller) -> None:
    response = api.client.get(bookings_url(api))
    assert_error(response, 401)
    assert "ETag" not in response.headers


def test_not_found_error_has_no_etag(api: Caller) -> None:
    response = get(api, url(f"/event/{api.event_id}/bookings/999999"))
    assert_error(response, 404)
    assert "ETag" not in response.headers


def test_invalid_query_error_has_no_etag(api: Caller) -> None:
    response = get(api, bookings_url(api, {"filter[nope]": "1"}), **{"Accept-Encoding": "gzip"})
    assert_error(response, 422)
    assert "ETag" not in response.headers


def test_if_none_match_never_turns_an_error_into_a_304(api: Caller) -> None:
    response = get(api, url(f"/event/{api.event_id}/bookings/999999"), **{"If-None-Match": "*"})
    assert response.status_code == 404


@pytest.mark.parametrize("chosen", ["csv", "ndjson"])
def test_streamed_exports_carry_no_etag(api: Caller, big_list: str, chosen: str) -> None:
    response = get(api, bookings_url(api, {"format": chosen}), **{"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "ETag" not in response.headers
    assert response.get_data()
    etagless = get(api, bookings_url(api, {"format": chosen}), **{"If-None-Match": "*"})
    assert etagless.status_code == 200
    assert etagless.get_data()
