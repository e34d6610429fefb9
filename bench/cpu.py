"""What else the machine did during a run: CPU spent by processes outside the benchmark."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of every CPU since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


def process_ticks(pid: int) -> int:
    """User + system ticks of one process (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def tree(pid: int) -> list[int]:
    """A process and its descendants."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                queue += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def named(name: str) -> list[int]:
    """Pids whose command name is `name` (e.g. `redis-server`)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def children_ticks() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * TICKS


class Watch:
    """Around a block: the CPU seconds each group of `ours()` (name -> pids) used, what the
    children this script waited for used (wrk), and the share of the machine's CPU that
    went to none of them. `ours()` is sampled every 50 ms, so that short-lived processes
    (PostgreSQL's parallel workers) are counted too."""

    def __init__(self, ours: Callable[[], dict[str, Iterable[int]]]) -> None:
        self.ours = ours
        self.foreign_share = 0.0
        self.seconds: dict[str, float] = {}
        self.wall_seconds = 0.0
        self._started: float | None = None
        self._group: dict[int, str] = {}
        self._latest: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _pids(self) -> set[int]:
        for name, pids in self.ours().items():
            for pid in pids:
                self._group.setdefault(pid, name)
        return set(self._group)

    def _read(self) -> None:
        for pid in self._pids():
            ticks = process_ticks(pid)
            if ticks:
                self._latest[pid] = max(ticks, self._latest.get(pid, 0))

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self._read()

    def __enter__(self) -> Watch:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._started = time.monotonic()
        self._machine = machine_ticks()
        self._children = children_ticks()
        self._start = {pid: process_ticks(pid) for pid in self._pids()}
        self._thread.start()

    def stop(self) -> None:
        if self._started is None:
            return
        self.wall_seconds = time.monotonic() - self._started
        self._stop.set()
        self._thread.join()
        self._read()
        busy, total = machine_ticks()
        used: dict[str, float] = {}
        for pid, ticks in self._latest.items():
            name = self._group[pid]
            used[name] = used.get(name, 0) + max(0, ticks - self._start.get(pid, 0))
        used["wrk"] = children_ticks() - self._children
        self.seconds = {name: ticks / TICKS for name, ticks in used.items()}
        foreign = (busy - self._machine[0]) - sum(used.values())
        self.foreign_share = max(0.0, foreign) / max(1, total - self._machine[1])


def idle_share(seconds: float = 1.0) -> float:
    busy, total = machine_ticks()
    time.sleep(seconds)
    busy_after, total_after = machine_ticks()
    return 1 - (busy_after - busy) / max(1, total_after - total)


def wait_quiet(threshold: float, limit: float) -> float:
    """Wait (at most `limit` s) for a second with `threshold` of the CPU idle; the wait."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if idle_share() >= threshold:
            break
    return time.monotonic() - started


def connections_per_worker(port: int, workers: Iterable[int]) -> list[int]:
    """Established client connections on `port` per worker process, most first ([] when
    `ss` is not there): gunicorn's workers keep the keep-alive connections they accept."""
    try:
        listed = subprocess.run(
            ["ss", "-Htnp", "state", "established", f"( sport = :{port} )"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    counts = dict.fromkeys(workers, 0)
    for pid in re.findall(r"pid=([0-9]+)", listed):
        if int(pid) in counts:
            counts[int(pid)] += 1
    return sorted(counts.values(), reverse=True)


def cpu_and_memory() -> tuple[str, str]:
    """The CPU's model with its core count, and the memory, as a report describes them."""
    model, memory_kb = "unknown", 0
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    return f"{model}, {os.cpu_count()} cores", f"{memory_kb / 1024 / 1024:.1f} GiB"
