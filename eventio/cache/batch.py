"""The one Redis round trip of a request, shared by the rate count and cache reads.

Every API request talks to Redis once, to count itself against its budget. A step that
would read Redis later in the request (the response cache, for a warm report) adds its
keys to the request's `RoundTrip` before the count; the limiter's script then counts and
reads them in the same call (`eventio.http.ratelimit`), and hands the values to the
round trip, which keeps them on the request state until their reader takes them.
Nothing joins without Redis: the in-process cache and the memory limiter need no trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from flask import has_request_context

from eventio.http.state import state


class Missing:
    """What `take` says of a key that was not read in the round trip."""


MISSING: Final = Missing()


@dataclass(slots=True)
class RoundTrip:
    """The keys to read with this request's count, in order; the values land, by key,
    in `state().prefetched`."""

    reads: list[str] = field(default_factory=list)

    def read(self, key: str) -> None:
        """Read `key` in the round trip (when it goes to Redis at all)."""
        self.reads.append(key)

    def deliver(self, values: Sequence[bytes | None]) -> None:
        """The values the round trip read, one per key, in the order the keys were added."""
        state().prefetched.update(zip(self.reads, values, strict=True))
        self.reads = []


def round_trip() -> RoundTrip:
    """This request's round trip (made by the first step that joins it)."""
    current = state()
    if current.round_trip is None:
        current.round_trip = RoundTrip()
    return current.round_trip


def joined() -> list[str]:
    """The keys that joined this request's round trip (none: nobody joined)."""
    current = state().round_trip
    return list(current.reads) if current is not None else []


def take(key: str) -> bytes | Missing | None:
    """The value the round trip read for `key` (None: not in Redis), once; MISSING when
    it was not read (no request, nobody asked, or the trip did not go to Redis)."""
    if not has_request_context():
        return MISSING
    value: bytes | Missing | None = state().prefetched.pop(key, MISSING)
    return value
