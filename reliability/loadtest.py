"""`make loadtest`: the API under wrk, clean and then through three faults; the figures go
into docs/reliability.md (section `load`).

gunicorn (gunicorn.conf.py) serves the demo world from PostgreSQL, with a Redis server of
the run's own; both are reached through TCP proxies, so they can be taken away for real.
wrk drives a fixed mix of requests from five tokens (reliability/load_mix.py) for a fixed
time at a fixed concurrency; its Lua script (load_mix.lua) judges every answer against
the answer the same request got at rest. Then, each in its own phase under the same load:
a worker killed with SIGKILL, Redis restarted, PostgreSQL cut for 5 s.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import requests
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from reliability import bench_module
from reliability.load_figures import Timeline
from reliability.load_mix import (
    CALLERS,
    OK,
    UNAVAILABLE,
    MixError,
    Probe,
    admin_url,
    build_mix,
    database_name,
    expected_bodies,
    headers_for,
    issue_tokens,
    lua_plan,
    plain_url,
    read_facts,
    sequence,
    with_port,
)
from reliability.load_service import ROOT, Gunicorn, RedisServer, app_env, start_gunicorn
from tests.support.tcp_proxy import TcpProxy

LUA_SCRIPT = Path(__file__).resolve().parent / "load_mix.lua"
DOC = ROOT / "docs" / "reliability.md"
SECTION = "load"
FLASK = Path(sys.executable).parent / "flask"
RECOVERY_LIMIT_S = 5.0
QUIET_IDLE = 0.85  # a second with this share of the CPU idle is quiet enough to start
DISTURBED = 0.10
BALANCE_TRIES = 20  # other processes' CPU share above which a phase is marked disturbed


cpu = bench_module("cpu")
bench_wrk = bench_module("wrk")


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


@dataclass(frozen=True)
class Settings:
    """The knobs of a run, from LOAD_* environment variables."""

    database_url: str
    bookings: int
    seed: int
    seconds: float
    connections: int
    threads: int
    timeout: float
    workers: int
    fault_seconds: float
    fault_at: float
    pg_cut: float
    redis_down: float
    faults: tuple[str, ...]
    quiet_wait: float
    attempts: int

    @classmethod
    def from_environment(cls) -> Settings:
        return cls(
            database_url=os.environ.get("LOAD_DATABASE_URL")
            or "postgresql://root@127.0.0.1:5432/eventio_load",
            bookings=env_int("LOAD_BOOKINGS", 100_000),
            seed=env_int("LOAD_SEED", 2026),
            seconds=env_float("LOAD_SECONDS", 60),
            connections=env_int("LOAD_CONNECTIONS", 16),
            threads=env_int("LOAD_THREADS", 2),
            timeout=env_float("LOAD_TIMEOUT", 10),
            workers=env_int("LOAD_WORKERS", 2),
            fault_seconds=env_float("LOAD_FAULT_SECONDS", 25),
            fault_at=env_float("LOAD_FAULT_AT", 5),
            pg_cut=env_float("LOAD_PG_CUT_SECONDS", 5),
            redis_down=env_float("LOAD_REDIS_DOWN_SECONDS", 2),
            faults=tuple(
                f
                for f in (os.environ.get("LOAD_FAULTS") or "worker,redis,postgres").split(",")
                if f
            ),
            quiet_wait=env_float("LOAD_QUIET_WAIT", 120),
            attempts=env_int("LOAD_ATTEMPTS", 3),
        )


def log(message: str) -> None:
    print(f"[loadtest {datetime.now():%H:%M:%S}] {message}", flush=True)


# -- the database -------------------------------------------------------------------------


def flask(database_url: str, *args: str) -> str:
    done = subprocess.run(
        [str(FLASK), "--app", "eventio", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stderr}{done.stdout}")
    return done.stdout


def ensure_database(settings: Settings) -> int:
    """Create, migrate and fill the demo world once (reused after); its bookings."""
    name = database_name(settings.database_url)
    with psycopg.connect(admin_url(settings.database_url), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            log(f"creating database {name}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    flask(settings.database_url, "db", "upgrade")
    with psycopg.connect(plain_url(settings.database_url), autocommit=True) as conn:
        found = conn.execute("SELECT count(*) FROM bookings").fetchone()
        bookings = found[0] if found else 0
        if bookings == 0:
            log(f"loading the demo world: {settings.bookings:,} bookings")
            started = time.monotonic()
            flask(
                settings.database_url,
                "demo",
                "--bookings",
                str(settings.bookings),
                "--seed",
                str(settings.seed),
            )
            log(f"loaded in {time.monotonic() - started:.1f} s")
            bookings = settings.bookings
        else:
            log(f"reusing the {bookings:,} bookings of {name}")
        conn.execute("VACUUM (ANALYZE)")
    return bookings


# -- wrk ----------------------------------------------------------------------------------


@dataclass
class WrkRun:
    """What load_mix.lua counted in one wrk run."""

    requests: int = 0
    seconds: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    verdicts: Counter[str] = field(default_factory=Counter)
    socket_errors: dict[str, int] = field(default_factory=dict)
    timeline: Timeline = field(default_factory=Timeline)
    samples: dict[str, str] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def parse_wrk(output: str) -> WrkRun:
    run = WrkRun()
    for line in output.splitlines():
        if not line.startswith("LOAD "):
            continue
        _, kind, name, *rest = line.split(" ", 3)
        value = rest[0] if rest else ""
        if kind == "verdict":
            run.verdicts[name] = int(value)
        elif kind == "tick":
            good, bad = value.split()
            at = int(name)
            run.timeline.good[at] += int(good)
            run.timeline.bad[at] += int(bad)
        elif kind == "sample":
            run.samples[name] = value
        elif kind == "latency":
            run.latency_ms[name] = float(value) / 1000
        elif kind == "summary" and name == "requests":
            run.requests = int(value)
        elif kind == "summary" and name == "duration_us":
            run.seconds = int(value) / 1e6
        elif kind == "error":
            run.socket_errors[name] = int(value)
    if not run.latency_ms:
        raise RuntimeError(f"No figures in wrk's output:\n{output}")
    return run


def wrk_command(settings: Settings, url: str, seconds: float) -> list[str]:
    return [
        bench_wrk.require(),
        f"-t{settings.threads}",
        f"-c{settings.connections}",
        f"-d{seconds:g}s",
        "--timeout",
        f"{settings.timeout:g}s",
        "-s",
        str(LUA_SCRIPT),
        url,
    ]


class Wrk:
    """One wrk run in the background over the plan; `finish` waits and reads its counts."""

    def __init__(self, settings: Settings, url: str, plan: Path, seconds: float, out: Path):
        self.seconds, self.timeout, self.out = seconds, settings.timeout, out
        self.process = subprocess.Popen(
            wrk_command(settings, url, seconds),
            env={**os.environ, "LOAD_PLAN": str(plan)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def finish(self) -> WrkRun:
        stdout, stderr = self.process.communicate(timeout=self.seconds + self.timeout + 60)
        self.out.write_text(stdout + stderr)
        if self.process.returncode != 0:
            raise RuntimeError(f"wrk failed ({self.process.returncode}): {stderr or stdout}")
        return parse_wrk(stdout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()


@contextmanager
def wrk_running(
    settings: Settings, url: str, plan: Path, seconds: float, out: Path
) -> Iterator[Wrk]:
    """wrk started, and never left running."""
    wrk = Wrk(settings, url, plan, seconds, out)
    try:
        yield wrk
    finally:
        if wrk.process.returncode is None:
            wrk.kill()


def balanced_start(rig: Rig, seconds: float, out: Path) -> tuple[Wrk, float, list[int]]:
    """wrk started over again until no worker holds much more than its share of the
    connections (gthread workers race to accept, and a burst of simultaneous connections
    tends to land on one worker, which traffic arriving over time does not); the run,
    when it started and the split."""
    settings = rig.settings
    fair = settings.connections / settings.workers
    for attempt in range(1, BALANCE_TRIES + 1):
        wrk = Wrk(settings, rig.server.url, rig.plan, seconds, out)
        started = time.time()
        time.sleep(0.7)
        split = rig.server.connection_split()
        if not split or max(split) <= fair * 1.25 or attempt == BALANCE_TRIES:
            if attempt > 1:
                log(f"wrk started {attempt} times to spread its connections: {split}")
            return wrk, started, split
        wrk.kill()
    raise AssertionError("unreachable")


# -- phases and faults --------------------------------------------------------------------


@dataclass
class Fault:
    """What was done, when (epoch seconds), and the service's recovery after."""

    name: str
    action: str
    started: float = 0.0
    ended: float = 0.0
    recovery_s: float | None = None
    relapses: int = 0
    rate_before: float = 0.0
    rate_after: float = 0.0
    bad_from_s: float | None = None
    bad_to_s: float | None = None
    note: str = ""
    split_after: list[int] = field(default_factory=list)  # 3 s after the fault's end


@dataclass
class Phase:
    name: str
    run: WrkRun
    started: float
    ended: float
    foreign_share: float
    cpu_seconds: dict[str, float]
    split: list[int]  # wrk's connections per worker, 1 s in
    fault: Fault | None = None
    allowed: frozenset[str] = frozenset({OK})
    allowed_socket_errors: int = 0

    @property
    def wrong(self) -> Counter[str]:
        """Answers outside the phase's documented ones, by kind."""
        return Counter({k: n for k, n in self.run.verdicts.items() if k not in self.allowed})

    @property
    def socket_errors(self) -> int:
        errors = self.run.socket_errors
        return sum(errors.get(kind, 0) for kind in ("connect", "read", "write"))

    @property
    def timeouts(self) -> int:
        return self.run.socket_errors.get("timeout", 0)

    def failures(self, timeout_s: float) -> list[str]:
        found = []
        if self.wrong:
            found.append(f"undocumented answers {dict(self.wrong)}")
        if self.socket_errors > self.allowed_socket_errors:
            found.append(
                f"{self.socket_errors} socket errors (at most {self.allowed_socket_errors})"
            )
        if self.timeouts or self.run.latency_ms["max"] >= timeout_s * 1000:
            found.append(f"{self.timeouts} requests past the {timeout_s:g} s timeout")
        if self.fault is not None:
            recovery = self.fault.recovery_s
            if recovery is None or recovery > RECOVERY_LIMIT_S:
                found.append(f"recovery {seconds_text(recovery)} (at most {RECOVERY_LIMIT_S:g} s)")
            if self.fault.relapses:
                found.append(f"{self.fault.relapses} wrong answers after recovery")
        if self.run.verdicts[OK] == 0:
            found.append("no right answer at all")
        return found


@dataclass
class Rig:
    """Everything a phase acts on."""

    settings: Settings
    server: Gunicorn
    redis: RedisServer
    pg_proxy: TcpProxy
    plan: Path
    folder: Path
    watcher: psycopg.Connection[tuple[Any, ...]]

    def ours(self) -> dict[str, list[int]]:
        """The processes the run works: gunicorn, its PostgreSQL backends, Redis, us."""
        backends = self.watcher.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
        redis_pid = self.redis.process.pid if self.redis.process else None
        return {
            "app": cpu.tree(self.server.process.pid),
            "postgres": [b[0] for b in backends],
            "redis": [redis_pid] if redis_pid else [],
            "harness (proxies)": [os.getpid()],
        }


def kill_worker(rig: Rig, fault: Fault) -> None:
    count = len(rig.server.workers())
    fault.started = time.time()
    victim = rig.server.kill_worker()
    fault.ended = fault.started
    try:
        rig.server.wait_workers(count, gone={victim})
        fault.note = f"worker {victim} replaced after {time.time() - fault.started:.1f} s"
    except RuntimeError:
        fault.note = f"worker {victim} not replaced within 30 s"


def restart_redis(rig: Rig, fault: Fault) -> None:
    fault.started = time.time()
    rig.redis.stop()
    time.sleep(rig.settings.redis_down)
    rig.redis.start()
    fault.ended = time.time()
    fault.note = f"down {fault.ended - fault.started:.1f} s, back empty"


def cut_postgres(rig: Rig, fault: Fault) -> None:
    fault.started = time.time()
    rig.pg_proxy.cut()
    time.sleep(rig.settings.pg_cut)
    rig.pg_proxy.restore()
    fault.ended = time.time()
    fault.note = f"cut {fault.ended - fault.started:.1f} s"


FAULTS: dict[str, tuple[str, Callable[[Rig, Fault], None], frozenset[str]]] = {
    "worker": ("one gunicorn worker killed with SIGKILL", kill_worker, frozenset({OK})),
    "redis": (
        "Redis stopped, down {redis_down:g} s, started again empty",
        restart_redis,
        frozenset({OK}),
    ),
    "postgres": (
        "PostgreSQL cut at the proxy for {pg_cut:g} s: connections dropped, new ones refused",
        cut_postgres,
        frozenset({OK, UNAVAILABLE}),
    ),
}


def run_phase(rig: Rig, name: str, seconds: float, fault_name: str | None = None) -> Phase:
    settings = rig.settings
    fault = None
    allowed, allowed_socket = frozenset({OK}), 0
    if fault_name is not None:
        action, inject, allowed = FAULTS[fault_name]
        fault = Fault(fault_name, action.format(**vars(settings)))
        if fault_name == "worker":
            # The requests in flight on the killed worker lose their connection.
            allowed_socket = settings.connections
    out = rig.folder / f"wrk-{name}.txt"
    wrk, started, split = balanced_start(rig, seconds, out)
    try:
        with cpu.Watch(rig.ours) as watch:
            if fault is not None:
                time.sleep(max(0.0, started + settings.fault_at - time.time()))
                inject(rig, fault)
                time.sleep(max(0.0, min(fault.ended + 3, started + seconds - 1) - time.time()))
                fault.split_after = rig.server.connection_split()
            run = wrk.finish()
            ended = time.time()
    finally:
        if wrk.process.returncode is None:
            wrk.kill()
    phase = Phase(
        name,
        run,
        started,
        ended,
        watch.foreign_share,
        watch.seconds,
        split,
        fault,
        allowed,
        allowed_socket,
    )
    if fault is not None:
        judge_fault(phase, fault)
    return phase


def judge_fault(phase: Phase, fault: Fault) -> None:
    timeline = phase.run.timeline
    fault.recovery_s = timeline.recovery(fault.ended, phase.ended)
    fault.rate_before = timeline.rate(max(phase.started + 1, fault.started - 4), fault.started)
    if fault.recovery_s is not None:
        back = fault.ended + fault.recovery_s
        fault.relapses = timeline.bad_between(back, phase.ended + 1)
        fault.rate_after = timeline.rate(back, min(back + 4, phase.ended - 0.5))
    bad_ticks = sorted(t for t, n in timeline.bad.items() if n)
    if bad_ticks:
        fault.bad_from_s = max(0.0, bad_ticks[0] / 10 - fault.started)  # the fault's own tick
        fault.bad_to_s = (bad_ticks[-1] + 1) / 10 - fault.started


def clean_phase(rig: Rig) -> Phase:
    """The clean load, run again (LOAD_ATTEMPTS in all) while other processes took more
    than DISTURBED of the CPU; the least disturbed run is kept, a failing one at once."""
    settings = rig.settings
    kept: Phase | None = None
    for attempt in range(1, settings.attempts + 1):
        waited = cpu.wait_quiet(QUIET_IDLE, settings.quiet_wait)
        log(
            f"clean load: {settings.seconds:g} s, attempt {attempt} "
            f"(waited {waited:.0f} s for a quiet CPU)"
        )
        phase = run_phase(rig, "clean", settings.seconds)
        report_phase(phase, settings)
        if kept is None or phase.foreign_share < kept.foreign_share:
            kept = phase
        if phase.failures(settings.timeout):
            return phase
        if kept.foreign_share <= DISTURBED:
            break
    assert kept is not None
    if attempt > 1:
        kept.name = f"clean (least disturbed of {attempt} runs)"
    return kept


# -- the report ---------------------------------------------------------------------------


def machine(settings: Settings) -> dict[str, str]:
    processor, memory = cpu.cpu_and_memory()
    with psycopg.connect(plain_url(settings.database_url)) as conn:
        found = conn.execute("SHOW server_version").fetchone()
    redis_version = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, check=False
    ).stdout
    wrk_version = subprocess.run(
        [bench_wrk.require(), "-v"], capture_output=True, text=True, check=False
    ).stdout
    gunicorn = subprocess.run(
        [str(Path(sys.executable).parent / "gunicorn"), "--version"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    found_redis = re.search(r"v=(\S+)", redis_version)
    return {
        "CPU": processor,
        "Memory": memory,
        "OS": f"{platform.system()} {platform.release()}",
        "PostgreSQL": found[0] if found else "unknown",
        "Redis": found_redis.group(1) if found_redis else "unknown",
        "Python": platform.python_version(),
        "gunicorn": gunicorn.strip(),
        "wrk": wrk_version.split(" [")[0].strip(),
    }


def ms(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def kinds(counter: Counter[str], phase: Phase) -> str:
    parts = [f"{k}: {n:,}" for k, n in sorted(counter.items())]
    errors = phase.run.socket_errors
    for kind in ("connect", "read", "write", "timeout"):
        if errors.get(kind):
            parts.append(f"socket {kind}: {errors[kind]:,}")
    return ", ".join(parts) or "none"


def split_text(phase: Phase) -> str:
    text = "+".join(str(n) for n in phase.split) or "?"
    if phase.fault is not None and phase.fault.split_after:
        text += " → " + "+".join(str(n) for n in phase.fault.split_after)
    return text


def phase_rows(phases: list[Phase]) -> list[list[str]]:
    rows = []
    for phase in phases:
        run = phase.run
        documented_503 = run.verdicts.get(UNAVAILABLE, 0)
        rows.append(
            [
                phase.name,
                f"{run.seconds:.0f}",
                f"{run.requests:,}",
                f"{run.rps:.0f}",
                ms(run.latency_ms["p50"]),
                ms(run.latency_ms["p90"]),
                ms(run.latency_ms["p99"]),
                ms(run.latency_ms["max"]),
                f"{run.verdicts.get(OK, 0):,}",
                f"{documented_503:,}",
                kinds(phase.wrong, phase),
                split_text(phase),
                f"{phase.foreign_share:.0%}",
            ]
        )
    return rows


PHASE_HEADER = [
    "phase",
    "s",
    "requests",
    "req/s",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "right answers",
    "503 + Retry-After",
    "errors by kind",
    "connections per worker",
    "other CPU",
]
FAULT_HEADER = [
    "fault",
    "what was done",
    "answers other than right ones",
    "recovery",
    "req/s before → after",
    "held",
]


def seconds_text(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


def fault_rows(phases: list[Phase], timeout_s: float) -> list[list[str]]:
    rows = []
    for phase in phases:
        fault = phase.fault
        if fault is None:
            continue
        if fault.bad_from_s is None:
            seen = "none"
        else:
            seen = f"from {fault.bad_from_s:+.1f} s to {fault.bad_to_s:+.1f} s of the fault"
        failures = phase.failures(timeout_s)
        rows.append(
            [
                fault.name,
                f"{fault.action} ({fault.note})",
                seen,
                seconds_text(fault.recovery_s),
                f"{fault.rate_before:.0f} → {fault.rate_after:.0f}",
                "yes" if not failures else "NO: " + "; ".join(failures),
            ]
        )
    return rows


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def console_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def mix_table(probes: list[Probe]) -> str:
    total = sum(p.weight for p in probes)
    rows = [[p.caller, f"`{p.path}`", f"{p.weight / total:.0%}", str(p.status)] for p in probes]
    return markdown_table(["caller", "request", "share", "status"], rows)


@dataclass
class Report:
    settings: Settings
    when: datetime
    machine: dict[str, str]
    bookings: int
    probes: list[Probe]
    phases: list[Phase]
    elapsed_s: float

    @property
    def held(self) -> bool:
        return all(not p.failures(self.settings.timeout) for p in self.phases)


def command_line(settings: Settings) -> str:
    knobs = [
        f"LOAD_{name}={os.environ[f'LOAD_{name}']}"
        for name in (
            "SECONDS",
            "CONNECTIONS",
            "THREADS",
            "TIMEOUT",
            "WORKERS",
            "BOOKINGS",
            "FAULT_SECONDS",
            "PG_CUT_SECONDS",
            "REDIS_DOWN_SECONDS",
            "FAULTS",
            "ATTEMPTS",
        )
        if os.environ.get(f"LOAD_{name}")
    ]
    return " ".join([*knobs, "make loadtest"])


def wrong_samples(phase: Phase) -> dict[str, tuple[list[str], str]]:
    """Per kind of wrong answer: the requests of the mix that got it, and one body."""
    found: dict[str, tuple[list[str], str]] = {}
    for name, text in sorted(phase.run.samples.items()):
        kind, _, key = name.partition("@")
        found.setdefault(kind, ([], text))[0].append(f"`{key}`")
    return found


def cpu_line(phase: Phase) -> str:
    spent = ", ".join(
        f"{name} {seconds:.0f} s"
        for name, seconds in sorted(phase.cpu_seconds.items(), key=lambda item: -item[1])
    )
    return f"CPU used during the {phase.name} phase ({phase.run.seconds:.0f} s, 2 cores): {spent}."


def section(report: Report) -> str:
    s = report.settings
    clean = [p for p in report.phases if p.fault is None]
    disturbed = [p.name for p in report.phases if p.foreign_share > DISTURBED]
    machine_lines = "\n".join(f"- {k}: {v}" for k, v in report.machine.items())
    verdict = (
        "**Held**: no wrong answer, no undocumented status, no request past the timeout, "
        f"and full service within {RECOVERY_LIMIT_S:g} s of every fault."
        if report.held
        else "**Not held**: see the tables; the failing phases say what went wrong."
    )
    noise = (
        f"above {DISTURBED:.0%} during {', '.join(disturbed)}: the speed figures of those "
        "phases are lower than on a quiet machine (the verdicts hold regardless)"
        if disturbed
        else f"under {DISTURBED:.0%} in every phase"
    )
    clean_line = ""
    if clean:
        run = clean[0].run
        clean_line = (
            f"Clean load: {run.requests:,} requests in {run.seconds:.0f} s "
            f"({run.rps:.0f} req/s), p50 {ms(run.latency_ms['p50'])} ms, "
            f"p90 {ms(run.latency_ms['p90'])} ms, p99 {ms(run.latency_ms['p99'])} ms, "
            f"max {ms(run.latency_ms['max'])} ms. {cpu_line(clean[0])}\n\n"
        )
    samples = [
        f"- {phase.name}: `{kind}` on {len(keys)} request(s) of the mix ({', '.join(keys[:3])}"
        f"{', …' if len(keys) > 3 else ''}), e.g. `{text[:160]}`"
        for phase in report.phases
        for kind, (keys, text) in wrong_samples(phase).items()
    ]
    sample_block = "The wrong answers:\n\n" + "\n".join(samples) + "\n\n" if samples else ""
    return f"""## Load and faults under load

`make loadtest` ([reliability/loadtest.py](../reliability/loadtest.py)) serves the API
with gunicorn (`gunicorn.conf.py`, {s.workers} workers of 4 threads) on PostgreSQL and
Redis over the demo world ({report.bookings:,} bookings, 60 % of them in event 1), and
drives it with wrk ({s.threads} threads, {s.connections} connections,
`--timeout {s.timeout:g}s`, the statement timeout). PostgreSQL and a Redis server of the
run's own are reached through TCP proxies of the harness, so that they can be taken
away for real (the proxies' cost is in the figures).

**The mix** ([load_mix.py](../reliability/load_mix.py), listed below): five tokens of
four demo users, each asking about its own events: bookings lists with includes,
filters and sorts (`per_page=100`), stats reports (one filtered by ticket), single
bookings, customers, groups, `/events` and `/user`; and three requests the caller may
not make (403), one of them the stats report that the manager's tokens keep in the cache
meanwhile. Every request carries an `X-Request-ID`, which the API echoes, so wrk's Lua
hook ([load_mix.lua](../reliability/load_mix.lua)) ties each answer to its request and
counts it **right** only when it has that request's status (200, or the expected 403)
and, byte for byte, the body
the same request got at rest (a stats report's `generated_at` aside): another caller's
data, another event's rows or another filter's numbers would be caught, not just an
error status. A 503 counts as documented ([errors.md](errors.md#503-service-unavailable))
only with a numeric `Retry-After` and one of the two documented bodies.

**The phases**: {s.seconds:g} s of clean load, then one phase of {s.fault_seconds:g} s per
fault, the fault injected {s.fault_at:g} s in. During a fault, only right answers count as
correct, plus 503s with `Retry-After` while PostgreSQL is gone; the requests in flight on
a killed worker lose their connection (a socket error, at most one per connection).
**Recovery** is the time from the fault's end (the kill itself, Redis started again,
PostgreSQL restored) to the start of the first whole second that holds only right
answers, in 100 ms steps; "req/s before → after" compares the 4 s before the fault with
the 4 s after recovery. "Connections per worker" is how wrk's connections were spread
over the gunicorn workers as the phase began (→ 3 s after the fault's end). gthread
workers race to accept, and {s.connections} connections opened at once tend to land on
one worker, which traffic arriving over time does not do: wrk is started again (up to
{BALANCE_TRIES} times) until no worker holds more than 1.25 times its share. gunicorn
never moves an open keep-alive connection, so after a worker dies, every reconnected
connection stays on the survivor, which serves them alone until they reconnect.

{verdict}

{clean_line}{markdown_table(PHASE_HEADER, phase_rows(report.phases))}

{markdown_table(FAULT_HEADER, fault_rows(report.phases, s.timeout))}

{sample_block}"Other CPU" is the share of the machine's CPU taken by processes outside the
run (gunicorn, its PostgreSQL backends, Redis, wrk and the harness with its proxies),
such as other people's tests: {noise}.

Last run {report.when:%Y-%m-%d %H:%M} UTC, {report.elapsed_s / 60:.1f} min in all, on:

{machine_lines}

Reproduce with `{command_line(s)}`. It needs wrk (`apt-get install -y wrk`), PostgreSQL
on 127.0.0.1:5432 and `redis-server`. Knobs: `LOAD_SECONDS` ({s.seconds:g}),
`LOAD_CONNECTIONS` ({s.connections}), `LOAD_THREADS`, `LOAD_TIMEOUT`, `LOAD_WORKERS`,
`LOAD_FAULT_SECONDS`, `LOAD_FAULT_AT`, `LOAD_PG_CUT_SECONDS`, `LOAD_REDIS_DOWN_SECONDS`,
`LOAD_FAULTS` (`worker,redis,postgres`), `LOAD_ATTEMPTS` ({s.attempts}: clean runs while
other processes take over {DISTURBED:.0%} of the CPU; the least disturbed is kept) and
`LOAD_DATABASE_URL`
(`{plain_url(s.database_url)}`, built once with `LOAD_BOOKINGS` bookings).

The fast version runs in `make test`:
[tests/production/test_faults_under_load.py](../tests/production/test_faults_under_load.py)
serves the same mix with gunicorn through the same proxies to a threaded client and,
in a few seconds each, kills a worker, restarts Redis (proxy cut, its database flushed)
and cuts PostgreSQL for 3 s, with the same rules: only right answers (and documented
503s while PostgreSQL is gone), recovery within {RECOVERY_LIMIT_S:g} s, no request near
the timeout.

<details><summary>The mix: {len(report.probes)} requests</summary>

{mix_table(report.probes)}

</details>
"""


def write_section(text: str) -> None:
    document = DOC.read_text()
    start, end = f"<!-- section:{SECTION} -->", f"<!-- end:{SECTION} -->"
    if start not in document or end not in document:
        raise SystemExit(f"{DOC} has no {start} ... {end} markers")
    before, rest = document.split(start, 1)
    _, after = rest.split(end, 1)
    DOC.write_text(f"{before}{start}\n{text.rstrip()}\n{end}{after}")


# -- the run ------------------------------------------------------------------------------


def main() -> int:
    settings = Settings.from_environment()
    bench_wrk.require()
    unknown = set(settings.faults) - set(FAULTS)
    if unknown:
        raise SystemExit(f"LOAD_FAULTS: unknown {sorted(unknown)}; known {sorted(FAULTS)}")
    began = time.monotonic()
    bookings = ensure_database(settings)
    tokens = issue_tokens(settings.database_url, CALLERS)
    probes = build_mix(read_facts(settings.database_url))
    folder = Path(tempfile.mkdtemp(prefix="eventio-loadtest-"))
    log(f"logs and wrk outputs in {folder}")
    pg = conninfo_to_dict(plain_url(settings.database_url))
    redis = RedisServer.create(folder)
    redis.start()
    pg_proxy = TcpProxy(str(pg.get("host", "127.0.0.1")), int(pg.get("port", 5432))).start()
    redis_proxy = TcpProxy("127.0.0.1", redis.port).start()
    env = app_env(
        with_port(settings.database_url, "127.0.0.1", pg_proxy.port),
        f"redis://127.0.0.1:{redis_proxy.port}/0",
    )
    server = start_gunicorn(env, folder / "gunicorn.log", settings.workers)
    phases: list[Phase] = []
    try:
        server.wait_ready(headers_for(tokens["manager"], 0))
        log(f"gunicorn on :{server.port}, workers {server.workers()}")
        with requests.Session() as session:
            bodies = expected_bodies(server.url, probes, tokens, session)
        plan = folder / "plan.lua"
        plan.write_text(lua_plan(probes, tokens, bodies, sequence(probes)))
        with psycopg.connect(plain_url(settings.database_url), autocommit=True) as watcher:
            rig = Rig(settings, server, redis, pg_proxy, plan, folder, watcher)
            log("warm-up: 5 s, not counted")
            with wrk_running(settings, server.url, plan, 5, folder / "wrk-warmup.txt") as wrk:
                wrk.finish()
            phases.append(clean_phase(rig))
            for name in settings.faults:
                cpu.wait_quiet(QUIET_IDLE, min(30.0, settings.quiet_wait))
                log(f"fault phase: {name}, {settings.fault_seconds:g} s")
                phases.append(run_phase(rig, name, settings.fault_seconds, name))
                report_phase(phases[-1], settings)
    finally:
        server.stop()
        pg_proxy.cut()
        redis_proxy.cut()
        redis.stop()
    report = Report(
        settings,
        datetime.now(UTC),
        machine(settings),
        bookings,
        probes,
        phases,
        time.monotonic() - began,
    )
    print()
    print(console_table(PHASE_HEADER, phase_rows(phases)))
    print()
    print(console_table(FAULT_HEADER, fault_rows(phases, settings.timeout)))
    write_section(section(report))
    log(f"wrote the `{SECTION}` section of {DOC.relative_to(ROOT)}")
    shutil.rmtree(folder / "metrics", ignore_errors=True)
    return 0 if report.held else 1


def report_phase(phase: Phase, settings: Settings) -> None:
    run = phase.run
    failures = phase.failures(settings.timeout)
    line = (
        f"{phase.name}: {run.requests:,} requests, {run.rps:.0f} req/s, "
        f"p99 {ms(run.latency_ms['p99'])} ms, max {ms(run.latency_ms['max'])} ms, "
        f"verdicts {dict(run.verdicts)}, socket errors {run.socket_errors}, "
        f"other CPU {phase.foreign_share:.0%}"
    )
    if phase.fault is not None:
        line += f"; {phase.fault.note}, recovery {seconds_text(phase.fault.recovery_s)}"
    log(line)
    for failure in failures:
        log(f"  FAILED: {failure}")
    for kind, (keys, text) in wrong_samples(phase).items():
        log(f"  {kind} on {', '.join(keys)}: {text[:200]}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except MixError as error:
        sys.exit(f"loadtest: {error}")
