"""Run many fuzzed requests and count what happened, without stopping at the first failure.

Hypothesis generates the requests (the strategies of the property tests) in batches, one
target after another so each gets its share, then a batch of hostile cursors on the lists;
generation only (no shrinking, no example database), until a number of requests is sent
or a deadline passes. Every answer is checked (tests/fuzzing/checks.py) and tallied.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from dataclasses import dataclass, field

from flask import Flask
from hypothesis import HealthCheck, Phase, Verbosity, given, settings

from tests.fuzzing.checks import TracebackCatcher, catching_tracebacks, problem, send
from tests.fuzzing.strategies import FuzzRequest, cursor_requests, target_requests
from tests.fuzzing.targets import Target
from tests.fuzzing.world import World

BATCH = 200
KEPT_PER_KIND = 3
# `sqlalchemy.exc.DataError: (psycopg.DataError) ...`, not `[SQL: ...]` or `(Background ...)`.
EXCEPTION_LINE = re.compile(r"([A-Za-z_][\w.]*)(?::|$)")
FRAME = re.compile(
    r'File "[^"]*?/((?:eventio|werkzeug|flask|sqlalchemy)/[^"]+)", line (\d+), in (\S+)'
)


@dataclass(frozen=True)
class Failure:
    request: FuzzRequest
    status: int
    reason: str
    trace: str | None

    @property
    def kind(self) -> str:
        """What went wrong and where: the exception and the deepest frame of ours that raised
        it (else of the library), or the broken property."""
        if not self.trace:
            return self.reason.split(":", 1)[0]
        raised = [m.group(1) for m in map(EXCEPTION_LINE.match, self.trace.splitlines()) if m]
        exception = raised[-1] if raised else "an exception"
        frames = FRAME.findall(self.trace)
        ours = [f for f in frames if f[0].startswith("eventio/")] or frames
        if not ours:
            return exception
        path, line, function = ours[-1]
        return f"{exception} in {function} ({path}:{line})"


@dataclass
class Tally:
    """What a run tried and saw."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    by_target: Counter[str] = field(default_factory=Counter)
    # 200 lists that held rows: the fuzzer reached data, not only the parser.
    lists_with_rows: int = 0
    failure_count: int = 0
    failure_kinds: Counter[str] = field(default_factory=Counter)
    # The first few failures of each kind.
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    distinct: set[bytes] = field(default_factory=set)
    seconds: float = 0.0

    @property
    def distinct_inputs(self) -> int:
        return len(self.distinct)

    def record(self, request: FuzzRequest, status: int, body: bytes) -> None:
        self.requests += 1
        self.statuses[status] += 1
        self.by_target[request.target.name] += 1
        listing = request.target.listing == "paginated"
        self.lists_with_rows += status == 200 and listing and b'"data":[{' in body
        self.distinct.add(hashlib.blake2b(repr(request).encode(), digest_size=16).digest())

    def fail(self, failure: Failure) -> None:
        self.failure_count += 1
        self.failure_kinds[failure.kind] += 1
        kept = self.failures.setdefault(failure.kind, [])
        if len(kept) < KEPT_PER_KIND and failure.request not in [k.request for k in kept]:
            kept.append(failure)


def explore(
    app: Flask,
    found: tuple[Target, ...],
    world: World,
    *,
    max_requests: int | None = None,
    seconds: float | None = None,
    batch: int = BATCH,
) -> Tally:
    """Fuzz every target in turn, `batch` requests at a time, until `max_requests` were
    sent or `seconds` passed, whichever comes first."""
    tally = Tally()
    client = app.test_client()
    started = time.monotonic()
    deadline = started + seconds if seconds is not None else None

    def done() -> bool:
        if max_requests is not None and tally.requests >= max_requests:
            return True
        return deadline is not None and time.monotonic() >= deadline

    def one(request: FuzzRequest, catcher: TracebackCatcher) -> None:
        limiter = app.extensions.get("eventio.ratelimit")
        if limiter is not None:
            limiter.reset()  # one token sends them all
        outcome = send(client, request, world, catcher)
        tally.record(request, outcome.status, outcome.body)
        reason = problem(request, outcome)
        if reason is not None:
            tally.fail(Failure(request, outcome.status, reason, outcome.trace))

    batch_settings = settings(
        max_examples=batch,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    fronts = [target_requests(found, world, target) for target in found]
    fronts.append(cursor_requests(found, world))
    with catching_tracebacks() as catcher:
        while not done():
            for front in fronts:

                @batch_settings
                @given(request=front)
                def run_batch(request: FuzzRequest) -> None:
                    # Past the budget, the rest of the batch only generates, cheaply.
                    if not done():
                        one(request, catcher)

                run_batch()
                if done():
                    break
    tally.seconds = time.monotonic() - started
    return tally
