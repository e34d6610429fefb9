"""A filter over a closed set of values (a booking's `status`) refuses a value outside it,
listing the allowed ones, instead of answering an empty list."""

from __future__ import annotations

import pytest

from eventio.models import STATUSES
from tests.api.conftest import Caller, assert_error
from tests.factories import BookingFactory, GroupFactory

ALLOWED = "`provisional, confirmed, waiting_list, cancelled`"


@pytest.fixture
def group(api: Caller) -> int:
    return int(GroupFactory(event_id=api.event_id).id)


@pytest.fixture
def by_status(api: Caller, group: int) -> dict[str, int]:
    """One booking of each status, all in one group of the caller's event."""
    return {
        status: BookingFactory(event_id=api.event_id, group_id=group, status=status).id
        for status in STATUSES
    }


def lists(api: Caller, group: int) -> list[str]:
    """The two lists of bookings: the event's, and the group's."""
    return [f"/event/{api.event_id}/bookings", f"/event/{api.event_id}/groups/{group}/bookings"]


@pytest.mark.parametrize(
    ("value", "meant"),
    [("confirm", "confirmed"), ("Confirmed", "confirmed"), ("WAITING_LIST", "waiting_list")],
)
def test_a_status_outside_the_set_is_a_422_listing_the_allowed_ones(
    api: Caller, group: int, by_status: dict[str, int], value: str, meant: str
) -> None:
    for path in lists(api, group):
        body = assert_error(api.get(path, {"filter[status]": value}), 422)
        message = (
            f"The filter `status` must be one of {ALLOWED}; `{value}` is not. "
            f"Did you mean `{meant}`?"
        )
        assert body == {"message": message, "errors": {"filter": [message]}}, path


def test_a_status_like_none_of_the_set_gets_no_suggestion(
    api: Caller, by_status: dict[str, int]
) -> None:
    body = assert_error(api.get(f"/event/{api.event_id}/bookings", {"filter[status]": "paid"}), 422)
    assert body["message"] == f"The filter `status` must be one of {ALLOWED}; `paid` is not."


def test_one_bad_item_of_a_comma_list_is_a_422_naming_it(
    api: Caller, by_status: dict[str, int]
) -> None:
    body = assert_error(
        api.get(f"/event/{api.event_id}/bookings", {"filter[status]": "confirmed,pending"}), 422
    )
    assert "`pending` is not." in body["message"]
    assert ALLOWED in body["message"]


def test_a_status_of_the_set_still_filters(api: Caller, by_status: dict[str, int]) -> None:
    path = f"/event/{api.event_id}/bookings"
    assert api.ids(path, {"filter[status]": "confirmed"}) == [by_status["confirmed"]]
    assert api.ids(path, {"filter[status]": "provisional, waiting_list"}) == sorted(
        [by_status["provisional"], by_status["waiting_list"]]
    )
    assert api.ids(path, {"filter[status]": ""}) == sorted(
        by_status[s] for s in ("provisional", "confirmed", "waiting_list")
    )


def test_cancelled_is_of_the_set_and_listed_with_include_cancelled(
    api: Caller, group: int, by_status: dict[str, int]
) -> None:
    for path in lists(api, group):
        # The lists hold active bookings only: cancelled ones need the flag, as documented.
        assert api.ids(path, {"filter[status]": "cancelled"}) == []
        query = [("include_cancelled", "1"), ("filter[status]", "cancelled")]
        assert api.ids(path, query) == [by_status["cancelled"]]


def test_an_export_refuses_a_status_outside_the_set_too(
    api: Caller, by_status: dict[str, int]
) -> None:
    path = f"/event/{api.event_id}/bookings"
    assert_error(api.get(path, {"format": "csv", "filter[status]": "confirm"}), 422)


def test_open_sets_still_take_any_value(api: Caller, by_status: dict[str, int]) -> None:
    # `booking_type` and a ticket's `participant_type` are whatever the organiser set up.
    assert api.ids(f"/event/{api.event_id}/bookings", {"filter[booking_type]": "speaker"}) == []
    assert api.ids(f"/event/{api.event_id}/tickets", {"filter[participant_type]": "x"}) == []
