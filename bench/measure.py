"""Measurements over HTTP: wrk pairs, response bodies, unloaded latencies, the export."""

from __future__ import annotations

import hashlib
import re
import statistics
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cpu
import orjson
import report
import requests
import wrk
from data import connect
from plan import Request
from servers import Server, auth
from settings import PROBES, REDIS_PIDS, Settings, log
from watch import DatabaseWatch


def settle(watcher: DatabaseWatch, limit: float = 120.0) -> None:
    """Wait (at most `limit` s) until no statement runs on the bench database. A request
    wrk gave up on (a recount under load) goes on in its worker, API or floor alike; left
    running, it would weigh on whatever is measured next."""
    started = time.monotonic()
    while True:
        busy = watcher.busy()
        waited = time.monotonic() - started
        if not busy:
            if waited > 1.5:
                log(f"waited {waited:.0f} s for earlier statements to finish")
            return
        if waited >= limit:
            log(f"{busy} statements still running after {limit:.0f} s; measuring anyway")
            return
        time.sleep(0.5)


def ours(server: Server, watcher: DatabaseWatch) -> dict[str, list[int]]:
    """The processes a run of `server` works: gunicorn, its database's backends, Redis."""
    return {
        "app": cpu.tree(server.process.pid),
        watcher.name: watcher.backends(),
        "redis": REDIS_PIDS,
    }


@dataclass
class Slice:
    """One short wrk run of one stream, and what the machine did meanwhile."""

    result: wrk.Result
    seconds: dict[str, float]  # CPU seconds by process group
    served: float  # requests the CPU watch saw
    foreign: float
    split: list[int]


@dataclass
class Attempt:
    """The streams of one request (the API, the floor, and for warm stats `/user` on the API
    as its baseline), run in interleaved slices, with what else happened meanwhile."""

    slices: dict[str, list[Slice]] = field(default_factory=dict)
    balanced: bool = True  # every server's connections were spread `even`ly

    @property
    def results(self) -> dict[str, wrk.Result]:
        return {name: merged(slices) for name, slices in self.slices.items()}

    @property
    def foreign(self) -> dict[str, float]:  # CPU share of other processes, the worst slice
        return {name: max(s.foreign for s in slices) for name, slices in self.slices.items()}

    @property
    def spent(self) -> dict[str, dict[str, float]]:  # CPU ms per request
        spent: dict[str, dict[str, float]] = {}
        for name, slices in self.slices.items():
            served = max(1.0, sum(s.served for s in slices))
            groups = {group for s in slices for group in s.seconds}
            spent[name] = {
                group: sum(s.seconds.get(group, 0.0) for s in slices) * 1000 / served
                for group in groups
            }
        return spent

    @property
    def splits(self) -> dict[str, list[int]]:  # connections per worker, the worst slice
        return {
            name: max((s.split for s in slices), key=lambda split: max(split, default=0))
            for name, slices in self.slices.items()
        }

    @property
    def worst(self) -> float:
        return max(self.foreign.values())


def merged(slices: list[Slice]) -> wrk.Result:
    """The slices of one stream as one run: throughput over all of them (they are of equal
    length), latencies the median of the slices' that finished requests (wrk reports
    percentiles, not the samples behind them)."""
    results = [s.result for s in slices]
    timed = [r for r in results if r.requests > 0] or results
    return wrk.Result(
        rps=statistics.fmean(r.rps for r in results),
        p50_ms=statistics.median(r.p50_ms for r in timed),
        p99_ms=statistics.median(r.p99_ms for r in timed),
        requests=sum(r.requests for r in results),
        errors=sum(r.errors for r in results),
    )


def connection_split(server: Server) -> list[int]:
    """Established connections per worker, most first ([] when `ss` is not there)."""
    return cpu.connections_per_worker(server.port, server.workers())


def even(split: list[int], settings: Settings) -> bool:
    """No worker holds more of wrk's connections than it has threads (unknown: yes)."""
    return not split or max(split) <= settings.threads_per_worker


@dataclass(frozen=True)
class Stream:
    """What one series of slices drives: a request on a server, under a name; with its own
    token and database when the server is not on the run's (the API on MariaDB)."""

    name: str
    server: Server
    request: Request
    token: str | None = None
    database: DatabaseWatch | None = None


def run_slice(
    settings: Settings,
    stream: Stream,
    token: str,
    watcher: DatabaseWatch,
    seconds: float,
) -> Slice:
    """One measured wrk run of `seconds` on the stream's server, watched."""
    load = wrk.Load(settings.load.threads, settings.load.connections, seconds)
    server = stream.server
    split: list[int] = []
    sampler = threading.Timer(seconds / 2, lambda: split.extend(connection_split(server)))
    database = stream.database or watcher
    watch = cpu.Watch(lambda: ours(server, database))

    def started() -> None:
        watch.start()
        sampler.start()

    try:
        result = wrk.run(
            stream.request.url(server.port),
            stream.token or token,
            load,
            balanced=lambda: even(connection_split(server), settings),
            started=started,
            # A slow request's restart waits for the requests of the start it replaces, so
            # few are worth it; a fast one's are served within the half second already.
            tries=25 if seconds <= settings.slice_seconds else 3,
            before_retry=lambda: settle(watcher),
        )
    finally:
        sampler.cancel()
        if sampler.is_alive():
            sampler.join()
        watch.stop()
    # The watch starts half a second into the run: count the requests it saw by the rate.
    served = max(1.0, result.rps * watch.wall_seconds)
    return Slice(result, dict(watch.seconds), served, watch.foreign_share, split)


def run_interleaved(
    settings: Settings, streams: list[Stream], token: str, watcher: DatabaseWatch
) -> Attempt:
    """A warm-up of each stream, then BENCH_SLICES rounds of one short slice per stream, so
    that a slower minute of a shared machine weighs on every stream alike. A request too
    slow to finish many times in a slice (p99 over a tenth of it, or no answer within the
    warm-up) runs in one piece."""
    attempt = Attempt()
    warmup = wrk.Load(settings.load.threads, settings.load.connections, settings.warmup)
    slowest = 0.0
    for stream in streams:
        run = wrk.run(stream.request.url(stream.server.port), stream.token or token, warmup)
        # No answer at all within the warm-up: slower than it, whatever wrk's empty
        # percentiles (0) say.
        slowest = max(slowest, run.p99_ms if run.rps > 0 else settings.warmup * 1000)
        settle(watcher)
    sliced = slowest * 10 <= settings.slice_seconds * 1000
    slices, seconds = (
        (settings.slices, settings.slice_seconds) if sliced else (1, settings.load.seconds)
    )
    for _ in range(slices):
        for stream in streams:
            settle(watcher)
            taken = run_slice(settings, stream, token, watcher, seconds)
            attempt.slices.setdefault(stream.name, []).append(taken)
            attempt.balanced = attempt.balanced and even(taken.split, settings)
    return attempt


def pair_seconds(settings: Settings, streams: int = 2) -> float:
    """About how long one attempt takes."""
    return streams * (settings.warmup + settings.load.seconds + settings.slices) + 2


def measure_pair(
    settings: Settings,
    request: Request,
    token: str,
    api: Server,
    floor: Server,
    watcher: DatabaseWatch,
    deadline: float,
    reserve: float,
    baseline: Request | None = None,
    streams: list[Stream] | None = None,
) -> Attempt:
    """The API and the floor (and `baseline` on the API) in interleaved slices, after a
    quiet moment. Again (up to BENCH_ATTEMPTS, while `reserve` seconds remain before
    `deadline` for the rest) when other processes took more than BENCH_MAX_FOREIGN of the
    CPU, or when one worker was left without connections; the best attempt: balanced
    first, then the calmest."""
    if streams is None:
        streams = [Stream("api", api, request), Stream("floor", floor, request)]
        if baseline is not None:
            streams.insert(1, Stream("baseline", api, baseline))
    best: Attempt | None = None
    for number in range(1, settings.attempts + 1):
        slack = deadline - time.monotonic() - pair_seconds(settings, len(streams)) - reserve
        if number > 1 and slack <= 0:
            log(f"{request.key}: no time left in the budget for another attempt")
            break
        settle(watcher)
        waited = cpu.wait_quiet(settings.quiet_idle, limit=max(0.0, min(15.0, slack)))
        if waited > 1.5:
            log(f"waited {waited:.0f} s for the machine to quieten")
        attempt = run_interleaved(settings, streams, token, watcher)
        if best is None or (not attempt.balanced, attempt.worst) < (not best.balanced, best.worst):
            best = attempt
        if attempt.balanced and attempt.worst <= settings.max_foreign:
            break
        why = [] if attempt.balanced else [f"connections per worker {attempt.splits}"]
        if attempt.worst > settings.max_foreign:
            why.append(f"{attempt.worst:.0%} of the CPU went to other processes")
        log(f"{request.key}: {'; '.join(why)} (attempt {number})")
    assert best is not None
    return best


VOLATILE = {"generated_at", "next_cursor", "prev_cursor"}


def normalise(value: Any, floor_base: str, api_base: str) -> Any:
    """A body with what legitimately differs (host, time, cursor bytes) blanked."""
    if isinstance(value, dict):
        return {
            k: ("…" if k in VOLATILE and v is not None else normalise(v, floor_base, api_base))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [normalise(v, floor_base, api_base) for v in value]
    if isinstance(value, str):
        return re.sub(r"cursor=[^&]+", "cursor=…", value.replace(floor_base, api_base))
    return value


def first_difference(a: Any, b: Any, where: str = "$") -> str | None:
    if type(a) is not type(b):
        return f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{where}: keys {list(a)} vs {list(b)}"
        for key in a:
            found = first_difference(a[key], b[key], f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{where}: {len(a)} items vs {len(b)}"
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{where}[{index}]")
            if found:
                return found
        return None
    return None if a == b else f"{where}: {a!r} vs {b!r}"


def compare_bodies(
    request: Request, token: str, api: Server, floor: Server, floor_token: str | None = None
) -> tuple[str, int]:
    """`same` or the first difference; and the floor's statement count for the request.
    `floor_token`: the second server's own token (the API on MariaDB)."""
    got_api = requests.get(request.url(api.port), headers=auth(token), timeout=300)
    got_floor = requests.get(
        request.url(floor.port), headers=auth(floor_token or token), timeout=300
    )
    statements = int(got_floor.headers.get("X-Floor-Statements", "0"))
    if got_api.status_code != 200 or got_floor.status_code != 200:
        return f"status {got_api.status_code} vs {got_floor.status_code}", statements
    api_base, floor_base = f"127.0.0.1:{api.port}", f"127.0.0.1:{floor.port}"
    left = normalise(orjson.loads(got_api.content), floor_base, api_base)
    right = normalise(orjson.loads(got_floor.content), floor_base, api_base)
    difference = first_difference(left, right)
    return ("same" if difference is None else f"differs at {difference[:200]}"), statements


def paired_medians(
    first: Callable[[], object], second: Callable[[], object], runs: int = PROBES
) -> tuple[float, float]:
    """Median milliseconds of two actions taken in turn, one at a time (3 warm-ups each),
    so that both meet the same conditions."""
    samples: tuple[list[float], list[float]] = ([], [])
    for index in range(runs + 3):
        for action, kept in ((first, samples[0]), (second, samples[1])):
            started = time.perf_counter()
            action()
            if index >= 3:
                kept.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples[0]), statistics.median(samples[1])


def getter(session: requests.Session, url: str) -> Callable[[], object]:
    def get() -> object:
        response = session.get(url, timeout=300)
        response.raise_for_status()
        return response

    return get


def unloaded(request: Request, token: str, api: Server, floor: Server) -> tuple[float, float]:
    """The request's median latency with one client on one keep-alive connection:
    API and floor in turn."""
    with requests.Session() as session:
        session.headers.update(auth(token))
        return paired_medians(
            getter(session, request.url(api.port)), getter(session, request.url(floor.port))
        )


def stats_against_sql(
    settings: Settings, request: Request, token: str, api: Server, event: int
) -> tuple[float, float]:
    """The API's `stats?no-cache` (one client) and the floor's aggregate statement alone
    (through psycopg, never prepared), in turn: their medians."""
    from floor import STATS

    with connect(settings) as conn, requests.Session() as session:
        session.headers.update(auth(token))

        def aggregate() -> object:
            return conn.execute(STATS, {"event": event}, prepare=False).fetchall()

        return paired_medians(getter(session, request.url(api.port)), aggregate)


def status_kb(pid: int, field_name: str) -> int:
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return 0


class PeakMemory:
    """The highest RSS of some processes while a block runs: VmHWM reset, plus sampling."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.peak_kb = dict.fromkeys(pids, 0)
        self.before_kb = {pid: status_kb(pid, "VmRSS") for pid in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids:
                self.peak_kb[pid] = max(self.peak_kb[pid], status_kb(pid, "VmRSS"))
            self._stop.wait(0.02)

    def __enter__(self) -> PeakMemory:
        for pid in self.pids:
            with suppress(OSError):  # "5" resets the peak RSS (VmHWM) to the current RSS
                Path(f"/proc/{pid}/clear_refs").write_text("5")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for pid in self.pids:
            self.peak_kb[pid] = max(self.peak_kb[pid], status_kb(pid, "VmHWM"))


def download(url: str, token: str, workers: list[int]) -> report.Export:
    """One full streaming download read to nowhere, timed from the request to the last byte."""
    digest, lines, size = hashlib.sha256(), 0, 0
    with PeakMemory(workers) as memory:
        started = time.perf_counter()
        with requests.get(url, headers=auth(token), stream=True, timeout=600) as response:
            response.raise_for_status()
            for chunk in response.iter_content(1 << 20):
                digest.update(chunk)
                lines += chunk.count(b"\n")
                size += len(chunk)
        seconds = time.perf_counter() - started
    peak = max(memory.peak_kb.values(), default=0)
    before = max(memory.before_kb.values(), default=0)
    return report.Export(
        max(lines - 1, 0), size, seconds, digest.hexdigest(), peak / 1024, before / 1024
    )
