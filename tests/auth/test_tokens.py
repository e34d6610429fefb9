"""Sanctum tokens without HTTP: format, lookup, expiry, abilities and the constant-time compare."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, update

from eventio.auth.tokens import (
    Authenticated,
    find_token,
    generate_secret,
    hash_secret,
    parse_abilities,
)
from eventio.db.extensions import db
from eventio.models import PersonalAccessToken, User
from tests.auth.conftest import utcnow
from tests.factories import TokenFactory, UserFactory, issue_token

OLD_SECRET = "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1eF3hJ5kL7n"  # Sanctum 2-3: 40 characters
ENTROPY = "Xy7Kq2Lm9Np4Rs6Tu8Vw0Xy1Za3Bc5De7Fg9Hi2J"
SANCTUM_4_SECRET = f"{ENTROPY}{zlib.crc32(ENTROPY.encode()):08x}"


def find(plain: str, lifetime: timedelta | None = None) -> Authenticated | None:
    return find_token(db.session(), plain, utcnow(), lifetime)


def token_id(plain: str) -> int:
    return int(plain.split("|", 1)[0])


def test_hash_is_the_sha256_hex_of_the_secret() -> None:
    assert hash_secret(OLD_SECRET) == hashlib.sha256(OLD_SECRET.encode()).hexdigest()


@pytest.mark.parametrize("prefix", ["", "eventio_"])
def test_generated_secret_has_sanctum_4_shape(prefix: str) -> None:
    secret = generate_secret(prefix)
    match = re.fullmatch(re.escape(prefix) + r"([A-Za-z0-9]{40})([0-9a-f]{8})", secret)
    assert match, secret
    assert match.group(2) == f"{zlib.crc32(match.group(1).encode()):08x}"


def test_generated_secrets_differ() -> None:
    assert len({generate_secret() for _ in range(20)}) == 20


@pytest.mark.parametrize(
    "secret",
    [OLD_SECRET, SANCTUM_4_SECRET, f"eventio_{SANCTUM_4_SECRET}"],
    ids=["old-40-characters", "sanctum-4", "sanctum-4-with-prefix"],
)
def test_id_and_secret_verify(secret: str) -> None:
    user = UserFactory.create()
    plain = issue_token(user.id, ["bookings.read"], secret=secret)
    found = find(plain)
    assert found is not None
    assert (found.token_id, found.user_id, found.user_email) == (
        token_id(plain),
        user.id,
        user.email,
    )
    assert found.abilities == frozenset({"bookings.read"})


def test_stored_hash_covers_the_whole_part_after_the_first_bar_prefix_included() -> None:
    plain = issue_token(UserFactory.create().id, secret=f"eventio_{SANCTUM_4_SECRET}")
    row = db.session.get(PersonalAccessToken, token_id(plain))
    assert row is not None
    assert row.token == hash_secret(f"eventio_{SANCTUM_4_SECRET}")
    # Without the prefix the secret is another secret.
    assert find(f"{token_id(plain)}|{SANCTUM_4_SECRET}") is None


def test_a_secret_may_itself_contain_a_bar() -> None:
    plain = issue_token(UserFactory.create().id, secret=f"{OLD_SECRET}|tail")
    found = find(plain)
    assert found is not None and found.token_id == token_id(plain)


@pytest.mark.parametrize("secret", [OLD_SECRET, SANCTUM_4_SECRET])
def test_token_without_a_bar_is_found_by_the_hash_of_the_whole_string(secret: str) -> None:
    plain = issue_token(UserFactory.create().id, secret=secret)
    found = find(secret)
    assert found is not None and found.token_id == token_id(plain)


@pytest.mark.parametrize(
    "make_plain",
    [
        pytest.param(lambda id_, secret: f"{id_}|{secret[:-1]}X", id="wrong-secret"),
        pytest.param(lambda id_, secret: f"{id_ + 1000}|{secret}", id="unknown-id"),
        pytest.param(lambda id_, secret: f"abc|{secret}", id="non-numeric-id"),
        pytest.param(lambda id_, secret: f"{id_}x|{secret}", id="id-with-a-letter"),
        pytest.param(lambda id_, secret: f"-{id_}|{secret}", id="negative-id"),
        pytest.param(lambda id_, secret: f"|{secret}", id="empty-id"),
        pytest.param(lambda id_, secret: f"{id_}|", id="empty-secret"),
        pytest.param(lambda id_, secret: f"{id_}|{secret[:-1]}", id="truncated"),
        pytest.param(lambda id_, secret: f"{id_}|{secret}0", id="extended"),
        pytest.param(lambda id_, secret: f"{id_}|{secret.upper()}", id="other-case"),
        pytest.param(lambda id_, secret: f"{id_}|{hash_secret(secret)}", id="stored-hash"),
        pytest.param(lambda id_, secret: hash_secret(secret), id="stored-hash-no-bar"),
        pytest.param(lambda id_, secret: f"{'9' * 19}|{secret}", id="id-beyond-bigint"),
        pytest.param(lambda id_, secret: f" {id_}|{secret}", id="space-before-id"),
        pytest.param(lambda id_, secret: f"{id_}|{secret} ", id="space-after-secret"),
        pytest.param(lambda id_, secret: f"{id_}|sécret", id="non-ascii-secret"),
        pytest.param(lambda id_, secret: str(id_), id="id-only"),
        pytest.param(lambda id_, secret: "", id="empty"),
    ],
)
def test_malformed_or_wrong_tokens_find_nobody(make_plain: Callable[[int, str], str]) -> None:
    plain = issue_token(UserFactory.create().id, secret=SANCTUM_4_SECRET)
    assert find(make_plain(token_id(plain), SANCTUM_4_SECRET)) is None


def test_secret_of_one_token_with_the_id_of_another_finds_nobody() -> None:
    first = issue_token(UserFactory.create().id, secret=OLD_SECRET)
    second = issue_token(UserFactory.create().id, secret=SANCTUM_4_SECRET)
    assert find(f"{token_id(second)}|{OLD_SECRET}") is None
    assert find(f"{token_id(first)}|{SANCTUM_4_SECRET}") is None


@pytest.mark.parametrize(
    ("offset", "valid"),
    [(timedelta(minutes=-1), False), (timedelta(days=-400), False), (timedelta(hours=1), True)],
    ids=["expired-a-minute-ago", "expired-long-ago", "expires-in-an-hour"],
)
def test_expires_at(offset: timedelta, valid: bool) -> None:
    plain = issue_token(UserFactory.create().id, expires_at=utcnow() + offset)
    assert (find(plain) is not None) is valid


def test_expires_at_equal_to_now_is_expired() -> None:
    now = datetime(2026, 1, 15, 10, 30)
    plain = issue_token(UserFactory.create().id, expires_at=now)
    assert find_token(db.session(), plain, now) is None
    assert find_token(db.session(), plain, now - timedelta(seconds=1)) is not None


@pytest.mark.parametrize(
    ("age", "valid"),
    [(timedelta(minutes=61), False), (timedelta(minutes=59), True)],
    ids=["older-than-the-lifetime", "younger-than-the-lifetime"],
)
def test_global_lifetime_counts_from_created_at(age: timedelta, valid: bool) -> None:
    plain = issue_token(UserFactory.create().id, created_at=utcnow() - age)
    assert (find(plain, lifetime=timedelta(minutes=60)) is not None) is valid
    assert find(plain) is not None  # no lifetime configured


def test_both_limits_apply() -> None:
    hour = timedelta(hours=1)
    old_but_not_expired = issue_token(
        UserFactory.create().id, created_at=utcnow() - 2 * hour, expires_at=utcnow() + hour
    )
    young_but_expired = issue_token(
        UserFactory.create().id, created_at=utcnow(), expires_at=utcnow() - hour
    )
    assert find(old_but_not_expired, lifetime=hour) is None
    assert find(young_but_expired, lifetime=2 * hour) is None


def test_global_lifetime_does_not_apply_without_created_at() -> None:
    plain = issue_token(UserFactory.create().id)
    db.session.execute(
        update(PersonalAccessToken)
        .where(PersonalAccessToken.id == token_id(plain))
        .values(created_at=None)
    )
    db.session.commit()
    assert find(plain, lifetime=timedelta(minutes=1)) is not None


def test_revoked_token_finds_nobody() -> None:
    plain = issue_token(UserFactory.create().id)
    db.session.execute(delete(PersonalAccessToken).where(PersonalAccessToken.id == token_id(plain)))
    db.session.commit()
    assert find(plain) is None


def test_token_of_a_deleted_user_finds_nobody() -> None:
    user_id = UserFactory.create().id
    plain = issue_token(user_id)
    db.session.execute(delete(User).where(User.id == user_id))
    db.session.commit()
    assert find(plain) is None


@pytest.mark.parametrize("tokenable_type", ["App\\Models\\Admin", "App\\User", "user", ""])
def test_token_of_another_tokenable_type_finds_nobody(tokenable_type: str) -> None:
    plain = issue_token(UserFactory.create().id, tokenable_type=tokenable_type)
    assert find(plain) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('["*"]', {"*"}),
        ('["bookings.read", "event.read"]', {"bookings.read", "event.read"}),
        ("[]", set()),
        (None, set()),
        ("", set()),
        ("null", set()),
        ("not json", set()),
        ('"*"', set()),
        ('{"*": true}', set()),
        ("42", set()),
        ('["event.read", 1, null, ["*"]]', {"event.read"}),
    ],
)
def test_abilities_are_a_json_array_of_strings_or_nothing(
    raw: str | None, expected: set[str]
) -> None:
    assert parse_abilities(raw) == expected


@pytest.mark.parametrize(
    ("abilities", "asked", "allowed"),
    [
        (["*"], "bookings.read", True),
        (["bookings.read"], "bookings.read", True),
        (["bookings.read"], "event.read", False),
        (["bookings.write"], "bookings.read", False),
        (["bookings.*"], "bookings.read", False),
        ([], "bookings.read", False),
    ],
)
def test_a_token_can_do_what_its_abilities_name_or_everything_with_star(
    abilities: list[str], asked: str, allowed: bool
) -> None:
    plain = issue_token(UserFactory.create().id, abilities)
    found = find(plain)
    assert found is not None and found.can(asked) is allowed


@pytest.mark.parametrize("raw", [None, "not json", '{"*": true}'])
def test_a_token_with_unreadable_abilities_still_authenticates_and_can_do_nothing(
    raw: str | None,
) -> None:
    user_id = UserFactory.create().id
    row = TokenFactory.create(tokenable_id=user_id, token=hash_secret(OLD_SECRET), abilities=raw)
    found = find(f"{row.id}|{OLD_SECRET}")
    assert found is not None and found.abilities == frozenset()
    assert not found.can("event.read")


class CompareSpy:
    """Stands in for `hmac.compare_digest`, recording its arguments."""

    def __init__(self, real: Callable[[Any, Any], bool]) -> None:
        self.real = real
        self.calls: list[tuple[Any, Any]] = []

    def __call__(self, a: Any, b: Any) -> bool:
        self.calls.append((a, b))
        return self.real(a, b)


@pytest.fixture
def compare_spy(monkeypatch: pytest.MonkeyPatch) -> CompareSpy:
    """`hmac.compare_digest` as `eventio.auth.tokens` reaches it, spied on."""
    spy = CompareSpy(hmac.compare_digest)
    monkeypatch.setattr("eventio.auth.tokens.hmac.compare_digest", spy)
    return spy


@pytest.mark.parametrize("correct", [True, False], ids=["right-secret", "wrong-secret"])
def test_hashes_are_compared_with_hmac_compare_digest(
    compare_spy: CompareSpy, correct: bool
) -> None:
    plain = issue_token(UserFactory.create().id, secret=SANCTUM_4_SECRET)
    sent = SANCTUM_4_SECRET if correct else SANCTUM_4_SECRET[:-1] + "X"
    found = find(f"{token_id(plain)}|{sent}")
    assert (found is not None) is correct
    assert compare_spy.calls == [(hash_secret(SANCTUM_4_SECRET), hash_secret(sent))]


def test_the_bearer_guard_compares_with_hmac_compare_digest(
    compare_spy: CompareSpy, make_caller: Callable[..., Any]
) -> None:
    caller = make_caller(secret=SANCTUM_4_SECRET)
    assert caller.get("/user").status_code == 200
    wrong = f"{token_id(caller.token)}|{SANCTUM_4_SECRET[:-1]}X"
    assert (
        caller.client.get("/api/v2/user", headers={"Authorization": f"Bearer {wrong}"}).status_code
        == 401
    )
    assert [b for _, b in compare_spy.calls] == [
        hash_secret(SANCTUM_4_SECRET),
        hash_secret(SANCTUM_4_SECRET[:-1] + "X"),
    ]


def test_abilities_column_round_trips_as_json() -> None:
    plain = issue_token(UserFactory.create().id, ["event.read"])
    row = db.session.get(PersonalAccessToken, token_id(plain))
    assert row is not None and json.loads(row.abilities or "") == ["event.read"]
