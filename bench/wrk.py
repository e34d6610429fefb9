"""Drive one URL with wrk at fixed concurrency and read its throughput and latencies."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

INSTALL_HINT = (
    "wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk`."
)
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
LATENCY = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([0-9.]+)(us|ms|s|m)\s*$", re.MULTILINE)
RATE = re.compile(r"^Requests/sec:\s+([0-9.]+)", re.MULTILINE)
TOTAL = re.compile(r"^\s*([0-9]+) requests in", re.MULTILINE)
NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+([0-9]+)")
SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass(frozen=True)
class Load:
    """How hard to drive: wrk threads, open connections, seconds."""

    threads: int
    connections: int
    seconds: float


@dataclass(frozen=True)
class Result:
    """One wrk run: requests per second, median and 99th percentile latency (ms), errors."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int

    @property
    def clean(self) -> bool:
        return self.errors == 0 and self.requests > 0


def require() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(INSTALL_HINT)
    return path


def parse(output: str) -> Result:
    latencies = {p: float(v) * UNITS[u] for p, v, u in LATENCY.findall(output)}
    rate, total = RATE.search(output), TOTAL.search(output)
    if rate is None or total is None or set(latencies) != {"50", "99"}:
        raise RuntimeError(f"Unexpected wrk output:\n{output}")
    errors = sum(int(n) for n in NON_2XX.findall(output))
    socket = SOCKET_ERRORS.search(output)
    if socket:
        errors += sum(int(n) for n in socket.groups())
    return Result(
        rps=float(rate.group(1)),
        p50_ms=latencies["50"],
        p99_ms=latencies["99"],
        requests=int(total.group(1)),
        errors=errors,
    )


def command(url: str, token: str, load: Load) -> list[str]:
    return [
        require(),
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{load.seconds:g}s",
        "--timeout",
        "30s",
        "--latency",
        "-H",
        f"Authorization: Bearer {token}",
        "-H",
        "Accept: application/json",
        url,
    ]


def run(
    url: str,
    token: str,
    load: Load,
    balanced: Callable[[], bool] | None = None,
    started: Callable[[], object] | None = None,
    tries: int = 25,
    before_retry: Callable[[], object] | None = None,
) -> Result:
    """`wrk --latency` against `url` with the bearer token; raises if wrk fails.

    With `balanced`, asked half a second in: a start it rejects (wrk's connections landed
    badly on the server's workers) is stopped and made again, `tries` times at most, after
    `before_retry` (the stopped start's requests are still being served).
    `started` is called once the run is under way and kept.
    """
    for attempt in range(1, tries + 1):
        process = subprocess.Popen(
            command(url, token, load), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            if balanced is not None and attempt < tries:
                time.sleep(0.5)
                if process.poll() is None and not balanced():
                    process.terminate()
                    process.communicate(timeout=10)
                    if before_retry is not None:
                        before_retry()
                    continue
            if started is not None:
                started()
            stdout, stderr = process.communicate(timeout=load.seconds + 60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        if process.returncode != 0:
            raise RuntimeError(f"wrk failed ({process.returncode}): {stderr or stdout}")
        return parse(stdout)
    raise AssertionError("unreachable")
