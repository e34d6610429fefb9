"""A small threaded load client that judges every answer as load_mix.lua does (no wrk)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import requests

from reliability.load_figures import Timeline
from reliability.load_mix import OK, Probe, headers_for, probe_index, sequence, verdict


@dataclass(frozen=True)
class Answer:
    """One request: which probe, when it started and ended (epoch s), and the verdict."""

    probe: int
    started: float
    ended: float
    verdict: str

    @property
    def seconds(self) -> float:
        return self.ended - self.started


class LoadClient:
    """`threads` threads, each with its own keep-alive connection, walking the mix from
    its own place in it until stopped."""

    def __init__(
        self,
        base_url: str,
        probes: list[Probe],
        tokens: Mapping[str, str],
        bodies: list[bytes],
        threads: int = 4,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url
        self.probes, self.tokens, self.bodies = probes, tokens, bodies
        self.timeout = timeout
        self.answers: list[Answer] = []
        self._order = sequence(probes)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._walk, args=(n * len(self._order) // threads,))
            for n in range(threads)
        ]

    def __enter__(self) -> LoadClient:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)

    def _walk(self, position: int) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                index = self._order[position % len(self._order)]
                position += 1
                self.answers.append(self._ask(session, index))

    def _ask(self, session: requests.Session, index: int) -> Answer:
        probe = self.probes[index]
        started = time.time()
        try:
            response = session.get(
                self.base_url + probe.path,
                headers=headers_for(self.tokens[probe.caller], index),
                timeout=self.timeout,
            )
        except requests.Timeout:
            return Answer(index, started, time.time(), "timeout")
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
            # Refused, reset, or cut off in the middle of the body (a worker killed while
            # it was sending): the connection was lost either way.
            return Answer(index, started, time.time(), "connection-error")
        judged = verdict(
            probe, self.bodies[index], response.status_code, response.headers, response.content
        )
        if probe_index(response.headers.get("X-Request-ID")) != index:
            judged = "another-request-id"
        return Answer(index, started, time.time(), judged)

    def wait_until(self, moment: float) -> None:
        time.sleep(max(0.0, moment - time.time()))

    def verdicts(self) -> Counter[str]:
        return Counter(answer.verdict for answer in self.answers)

    def timeline(self) -> Timeline:
        timeline = Timeline()
        for answer in self.answers:
            timeline.add(answer.ended, answer.verdict == OK)
        return timeline

    def slowest(self) -> float:
        return max((answer.seconds for answer in self.answers), default=0.0)
