"""The bench's results: the targets judged, a console table, and docs/benchmarks.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wrk import Result

# Relation levels of `include=tickets.ticket,group.customer`: tickets, ticket, group, customer.
LIST_INCLUDE_LEVELS = 4
LIST_KEYS = {
    "medium-page": LIST_INCLUDE_LEVELS,
    "flagship-page": LIST_INCLUDE_LEVELS,
    "flagship-offset-deep": LIST_INCLUDE_LEVELS,
    "flagship-cursor-first": LIST_INCLUDE_LEVELS,
    "flagship-cursor-deep": LIST_INCLUDE_LEVELS,
    "medium-customers": 0,
    "flagship-customers": 0,
}


@dataclass(frozen=True)
class Row:
    """One request's measurements on both servers."""

    key: str
    label: str
    path: str
    api: Result
    floor: Result
    api_statements: int
    floor_statements: int
    body: str
    api_foreign: float = 0.0
    floor_foreign: float = 0.0
    # CPU milliseconds per request, by process group: app, postgres, redis, wrk
    api_cpu: dict[str, float] = field(default_factory=dict)
    floor_cpu: dict[str, float] = field(default_factory=dict)
    # wrk's keep-alive connections per worker, sampled mid-run
    api_split: list[int] = field(default_factory=list)
    floor_split: list[int] = field(default_factory=list)
    # /user on the API, run in slices interleaved with this request's (warm stats)
    baseline: Result | None = None

    @property
    def ratio(self) -> float:
        return self.api.rps / self.floor.rps if self.floor.rps else 0.0


@dataclass(frozen=True)
class Export:
    rows: int
    bytes: int
    seconds: float
    sha256: str
    peak_mb: float
    before_mb: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Run:
    """Everything one `make bench` measured."""

    when: datetime
    machine: dict[str, str]
    data: dict[str, int]
    settings: dict[str, Any]
    medium: dict[str, Any]  # data.EventPick as a dict
    flagship: dict[str, Any]
    rows: list[Row]
    in_process: dict[str, tuple[int, float, float]]  # statements, total ms, SQL ms
    probes: dict[str, float]
    exports: dict[str, Export]
    elapsed_s: float

    def row(self, key: str) -> Row | None:
        return next((r for r in self.rows if r.key == key), None)


@dataclass(frozen=True)
class Target:
    name: str
    met: bool | None  # None: not measured in this run
    detail: str


def _all(checks: list[tuple[bool, str]]) -> tuple[bool | None, str]:
    if not checks:
        return None, "not measured in this run"
    return all(ok for ok, _ in checks), "; ".join(text for _, text in checks)


def targets(run: Run) -> list[Target]:
    """The issue's targets, each judged from this run's numbers."""
    found: list[Target] = []

    def ratio_target(name: str, keys: list[str], minimum: float) -> None:
        checks = [
            (r.ratio >= minimum, f"{r.label}: {r.ratio:.2f}")
            for r in (run.row(k) for k in keys)
            if r is not None
        ]
        found.append(Target(name, *_all(checks)))

    ratio_target(
        "medium bookings page with includes >= 50% of the floor's throughput",
        ["medium-page"],
        0.5,
    )
    ratio_target("single booking >= 60% of the floor", ["medium-booking", "flagship-booking"], 0.6)
    ratio_target("flagship bookings page >= the floor's throughput", ["flagship-page"], 1.0)

    checks = []
    for key, levels in LIST_KEYS.items():
        statements = run.in_process.get(key, (None,))[0]
        if statements is None:
            continue
        own = statements - 1  # every request's one authentication statement aside
        checks.append((own <= 2 + levels, f"{key}: 1 auth + {own} (budget {2 + levels})"))
    found.append(
        Target("SQL statements per list request <= 2 + one per include level", *_all(checks))
    )

    user = run.row("user")
    checks = []
    for key in ("medium-stats-warm", "flagship-stats-warm"):
        r = run.row(key)
        # Against the /user slices run beside it; the /user row when there were none.
        baseline = r.baseline if r is not None and r.baseline else (user.api if user else None)
        if r is not None and baseline is not None:
            share = r.api.rps / baseline.rps
            checks.append(
                (
                    share >= 0.8,
                    f"{key}: {r.api.rps:,.0f} rps = {share:.0%} of /user "
                    f"({baseline.rps:,.0f} rps beside it)",
                )
            )
    found.append(Target("stats warm >= 80% of the throughput of /user", *_all(checks)))

    checks = []
    for name in ("medium", "flagship"):
        api = run.probes.get(f"api:{name}-stats-nocache")
        floor_sql = run.probes.get(f"floor-sql:{name}-stats-nocache")
        if api is not None and floor_sql:
            checks.append(
                (
                    api <= 1.2 * floor_sql,
                    f"{name}: API {api:.1f} ms vs floor SQL {floor_sql:.1f} ms "
                    f"= {api / floor_sql:.2f}x",
                )
            )
    found.append(
        Target("stats no-cache <= 1.2x the floor's aggregate SQL time (unloaded)", *_all(checks))
    )

    first, deep = run.row("flagship-cursor-first"), run.row("flagship-cursor-deep")
    offset = run.row("flagship-offset-deep")
    checks = []
    if first is not None and deep is not None:
        times = deep.api.p50_ms / first.api.p50_ms
        beside = f"; 400,000 deep by offset {offset.api.p50_ms:.1f} ms" if offset else ""
        deep_one = run.probes.get("api:flagship-cursor-deep")
        first_one = run.probes.get("api:flagship-cursor-first")
        if deep_one and first_one:
            beside += f"; one client {deep_one:.1f} ms deep vs {first_one:.1f} ms first"
        checks.append(
            (
                times <= 1.5,
                f"p50 {deep.api.p50_ms:.1f} ms deep vs {first.api.p50_ms:.1f} ms first "
                f"= {times:.2f}x{beside}",
            )
        )
    found.append(Target("cursor page 400,000 rows deep <= 1.5x the first page", *_all(checks)))

    checks = []
    for name in ("medium", "flagship"):
        unloaded = run.probes.get(f"api:{name}-customers")
        r = run.row(f"{name}-customers")
        if unloaded is not None and r is not None:
            checks.append(
                (
                    unloaded < 20,
                    f"{name}: {unloaded:.1f} ms one client "
                    f"({r.api.p50_ms:.1f} ms p50 at {run.settings['connections']} connections)",
                )
            )
    found.append(
        Target(
            f"partial filter over {run.data.get('customers', 0):,} customers < 20 ms p50",
            *_all(checks),
        )
    )

    export = run.exports.get("api")
    if export is None:
        found.append(Target("export >= 50,000 rows/s, worker peak < 200 MB", None, "not measured"))
    else:
        found.append(
            Target(
                "export >= 50,000 rows/s, worker peak < 200 MB",
                export.rows_per_second >= 50_000 and export.peak_mb < 200,
                f"{export.rows:,} rows at {export.rows_per_second:,.0f} rows/s, "
                f"peak RSS {export.peak_mb:.0f} MB",
            )
        )
    return found


def verdict(met: bool | None) -> str:
    return {True: "met", False: "NOT MET", None: "n/a"}[met]


HEADER = (
    "request",
    "API rps",
    "API p50 ms",
    "API p99 ms",
    "floor rps",
    "floor p50 ms",
    "floor p99 ms",
    "API / floor",
    "SQL API",
    "SQL floor",
    "other CPU",
    "conns/worker",
)


def latency(result: Result, value: float) -> str:
    return f"{value:.1f}" if result.requests else "n/a"


def rate(result: Result) -> str:
    return f"{result.rps:,.0f}" if result.rps >= 10 else f"{result.rps:.2f}"


def cells(row: Row) -> list[str]:
    return [
        row.label,
        rate(row.api),
        latency(row.api, row.api.p50_ms),
        latency(row.api, row.api.p99_ms),
        rate(row.floor),
        latency(row.floor, row.floor.p50_ms),
        latency(row.floor, row.floor.p99_ms),
        f"{row.ratio:.2f}",
        str(row.api_statements),
        str(row.floor_statements),
        f"{row.api_foreign:.0%} / {row.floor_foreign:.0%}",
        f"{split(row.api_split)} / {split(row.floor_split)}",
    ]


def split(counts: list[int]) -> str:
    return "+".join(map(str, counts)) or "?"


def console_line(row: Row) -> str:
    errors = (
        f" ERRORS api={row.api.errors} floor={row.floor.errors}"
        if row.api.errors or row.floor.errors
        else ""
    )
    return (
        f"{row.label}: API {row.api.rps:,.0f} rps p50 {row.api.p50_ms:.1f} ms | floor "
        f"{row.floor.rps:,.0f} rps p50 {row.floor.p50_ms:.1f} ms | {row.ratio:.2f}{errors}"
    )


def console_table(run: Run) -> str:
    table = [list(HEADER), *(cells(r) for r in run.rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in table
    ]
    lines.insert(1, "-" * len(lines[0]))
    for name, export in run.exports.items():
        lines.append(
            f"export {name}: {export.rows:,} rows, {export.bytes / 1e6:.1f} MB in "
            f"{export.seconds:.2f} s = {export.rows_per_second:,.0f} rows/s, "
            f"worker peak RSS {export.peak_mb:.0f} MB"
        )
    lines.append("")
    lines += [f"[{verdict(t.met)}] {t.name}: {t.detail}" for t in targets(run)]
    return "\n".join(lines)


def cpu_cells(spent: dict[str, float]) -> list[str]:
    return [f"{spent.get(k, 0.0):.2f}" for k in ("app", "postgres", "redis", "wrk")]


def md_table(header: list[str] | tuple[str, ...], rows: list[list[str]]) -> str:
    aligns = ["---"] + ["---:"] * (len(header) - 1)
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(aligns) + " |"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)


MARIADB_HOW = (
    "MariaDB: `BENCH_DATABASES=postgresql,mariadb make bench` runs the above, then each "
    "request on the API over MariaDB beside the API over PostgreSQL (section MariaDB); "
    "`BENCH_DATABASES=mariadb` runs only that comparison and replaces only that section of "
    "this page (default `postgresql`: the section already on the page is kept). "
    "`BENCH_MARIADB_URL` (`mysql://root@127.0.0.1/eventio_bench`; created, migrated and "
    "loaded with the same `BENCH_BOOKINGS` and `BENCH_SEED` when empty: about 4 minutes), "
    "`BENCH_MARIADB_REDIS_URL` (the next Redis database after `BENCH_REDIS_URL`'s, flushed: "
    "the two APIs must not share cached counts and stats), `BENCH_MARIADB_PORT` (8103)."
)


def markdown(run: Run) -> str:
    m, f = run.medium, run.flagship
    s = run.settings
    data = run.data
    parts = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`bench/run.py`) on {run.when:%Y-%m-%d %H:%M} UTC, "
        f"in {run.elapsed_s / 60:.1f} minutes. Every number below is from that one run on the "
        "machine described; rerun `make bench` to refresh the page. Throughput numbers move by "
        "a few per cent between runs; ratios are steadier than absolute values.",
        "",
        "## Machine",
        "",
        md_table(["", ""], [[k, v] for k, v in run.machine.items()]),
        "",
        "## Data",
        "",
        f"`flask --app eventio demo --bookings 1000000 --seed 1` in PostgreSQL database "
        f"`eventio_bench` ({data.get('database bytes', 0) / 2**30:.1f} GiB with indexes), "
        "then `VACUUM (ANALYZE)`:",
        "",
        md_table(
            ["table", "rows"],
            [[k, f"{v:,}"] for k, v in data.items() if k != "database bytes"],
        ),
        "",
        f"- flagship: event {f['id']}, {f['bookings']:,} bookings ({f['confirmed']:,} "
        f"confirmed); booking {f['booking_id']}; email fragment `{f['fragment']}` matches "
        f"{f['fragment_matches']} of its customers",
        f"- medium: event {m['id']}, the event nearest 20,000 bookings: {m['bookings']:,} "
        f"bookings ({m['confirmed']:,} confirmed); booking {m['booking_id']}; email fragment "
        f"`{m['fragment']}` matches {m['fragment_matches']} of its customers",
        "",
        "## Method",
        "",
        "- Both servers run under gunicorn with `gunicorn.conf.py` (gthread, 2 workers x 4 "
        "threads), `GUNICORN_MAX_REQUESTS=0` so that no worker is recycled mid-run, and "
        "`--reuse-port`, so that each worker listens on its own socket and the kernel spreads "
        "wrk's connections over both (a run whose split is uneven is restarted). The API "
        "runs with Redis (`redis://127.0.0.1:6379/9`, flushed at the start) for its caches and "
        "its rate limiter (left on, its budget raised out of reach).",
        "- The floor is `bench/floor.py`: a bare WSGI callable, hand-written SQL through psycopg 3 "
        f"(one autocommit connection per thread, {s['floor_prepare']}, the API's 10 s "
        "statement timeout), "
        "orjson, no framework, the same database and indexes. It authenticates the same Sanctum "
        "token (row by id, SHA-256 compared in constant time) and checks the event permission in "
        "that same statement; it recounts `meta.total` with `count(*)` on every offset page; it "
        "joins group and customer into the page statement and fetches lines with their ticket "
        "in one more; it reads a deep offset page's ids from the index alone (a deferred join); "
        "it caches the stats body in the same Redis; it exports with `COPY … TO STDOUT (FORMAT "
        "csv)`. Its responses are the API's, byte for byte where they can be (see Bodies).",
        f"- Each request runs `wrk -t{s['threads']} -c{s['connections']} --latency` for "
        f"{s['warmup']:g} s on each server (warm-up, discarded), then "
        f"{s['slices'] * s['slice_seconds']} s on each, measured in {s['slices']} interleaved "
        f"slices of {s['slice_seconds']} s (API, floor, API, floor, …), request by request: "
        "the speed of a shared machine drifts from one ten seconds to the next, and "
        "interleaving makes both sides run through the same drift. A row's rps is "
        "over all its slices; its p50 and p99 are the medians of the slices' (wrk reports "
        "percentiles, not samples). A request whose warm-up p99 is over a tenth of a slice (a "
        "stats recount, a deep offset page) runs in one piece instead. Before each run the "
        "harness waits (up to 2 minutes) until no statement is running on the bench "
        "database: a slow request wrk left in flight goes on in its worker, and would weigh "
        "on the next run. Warm stats are held "
        "against /user, so /user runs in "
        "slices of its own between theirs (the `beside it` figures under Targets). wrk runs on "
        "the same 2 cores as the servers and PostgreSQL, so absolute numbers are low; both "
        "sides pay the same.",
        "- The machine may be shared: before each pair of runs the harness waits (up to 15 s) "
        "for a second with 85% of the CPU idle, and it measures the CPU that went to processes "
        "other than the server under test, its PostgreSQL backends, Redis and wrk (`other CPU`, "
        "API / floor, as a share of the machine). A pair with more than 10% elsewhere is run "
        "again (3 attempts at most, while the run's budget, `BENCH_BUDGET_MINUTES` (24), "
        "allows) and the calmest "
        "attempt is kept. A row with a high `other CPU` is less trustworthy than its neighbours.",
        "- gunicorn's workers take wrk's keep-alive connections as they come, and a worker "
        "keeps the ones it took: often one worker holds 6, 7 or all 8 of them while the other "
        "has threads to spare, which cuts a CPU-bound server's throughput by up to a half "
        "(seen on the API: 64-80 rps instead of 110-130 for the same page). So half a second "
        "into each measured run the harness looks at the split (`ss`) and, if a worker holds "
        "more connections than it has threads (4), stops wrk and starts it again (25 times at "
        "most); CPU and other load are watched from there. `conns/worker` is the split sampled "
        "mid-run (API / floor).",
        "- `SQL API` is counted in-process (the Flask test client, a `before_cursor_execute` "
        "counter on the engine, after one warm-up request); `SQL floor` is the floor's own count "
        "(`X-Floor-Statements`). Both include the authentication statement.",
        "- Unloaded times are medians of 20 requests by one client on one keep-alive "
        "connection, API and floor in turn (after 3 warm-ups); the floor's aggregate SQL time "
        "is its one stats statement run through psycopg (never prepared), in turn with the "
        "API's `stats?no-cache`.",
        "",
        "## Results",
        "",
        md_table(list(HEADER), [cells(r) for r in run.rows]),
        "",
    ]
    errors = [r for r in run.rows if r.api.errors or r.floor.errors]
    if errors:
        parts += [
            "Errors (non-2xx or socket errors) during the runs: "
            + ", ".join(f"{r.label} API {r.api.errors} / floor {r.floor.errors}" for r in errors),
            "",
        ]
    if run.exports:
        parts += [
            "### Export",
            "",
            f"One full streaming download of the flagship's active bookings "
            f"(`/event/{f['id']}/bookings?format=csv`), read to nowhere by one client:",
            "",
            md_table(
                [
                    "server",
                    "rows",
                    "MB",
                    "seconds",
                    "rows/s",
                    "worker RSS before",
                    "worker peak RSS",
                ],
                [
                    [
                        name,
                        f"{e.rows:,}",
                        f"{e.bytes / 1e6:.1f}",
                        f"{e.seconds:.2f}",
                        f"{e.rows_per_second:,.0f}",
                        f"{e.before_mb:.0f} MB",
                        f"{e.peak_mb:.0f} MB",
                    ]
                    for name, e in run.exports.items()
                ],
            ),
            "",
        ]
        if {"api", "floor"} <= set(run.exports):
            same = run.exports["api"].sha256 == run.exports["floor"].sha256
            parts += [
                "The two CSV bodies are " + ("byte-identical." if same else "**not** identical."),
                "",
            ]
    if run.probes:
        parts += [
            "### Unloaded latencies (one client)",
            "",
            md_table(
                ["measure", "median ms"],
                [[k, f"{v:.1f}"] for k, v in sorted(run.probes.items())],
            ),
            "",
        ]
    parts += ["## Targets", ""]
    parts += [f"- **{verdict(t.met)}**: {t.name}. {t.detail}." for t in targets(run)]
    parts += [
        "",
        "## CPU per request",
        "",
        "CPU milliseconds per request during the measured runs, by process: the gunicorn "
        "workers (`app`), the PostgreSQL backends of the bench database (`pg`), Redis, and wrk. "
        "On this 2-core machine throughput is bounded by their sum.",
        "",
        md_table(
            [
                "request",
                "API app",
                "API pg",
                "API redis",
                "API wrk",
                "floor app",
                "floor pg",
                "floor redis",
                "floor wrk",
            ],
            [[r.label, *cpu_cells(r.api_cpu), *cpu_cells(r.floor_cpu)] for r in run.rows],
        ),
        "",
        "## Where the API's time goes (in-process, one request at a time)",
        "",
        "The Flask test client, no HTTP and no load: total time of one request (median of 5) "
        "and the part spent in SQL (from cursor execute to its return, fetching included).",
        "",
        md_table(
            ["request", "statements", "total ms", "SQL ms", "Python ms"],
            [
                [r.label, str(n), f"{total:.1f}", f"{sql_ms:.1f}", f"{total - sql_ms:.1f}"]
                for r in run.rows
                for n, total, sql_ms in [run.in_process[r.key]]
            ],
        ),
        "",
        "## Bodies",
        "",
        "Each request fetched once from both servers; hosts, `generated_at` and cursor bytes "
        "blanked, then compared key by key and in order:",
        "",
    ]
    parts += [f"- {r.label}: {r.body}" for r in run.rows]
    parts += ["", "## Requests", ""]
    parts += [f"- {r.label}: `{r.path[:160]}{'…' if len(r.path) > 160 else ''}`" for r in run.rows]
    parts += [
        "",
        "## How to run",
        "",
        "```sh",
        "apt-get install -y wrk   # once",
        "make bench               # BENCH_DURATION=10 BENCH_CONNECTIONS=8 by default",
        "```",
        "",
        "Knobs: `BENCH_DURATION` (s per request and server), `BENCH_SLICES` (5), "
        "`BENCH_WARMUP` (s), `BENCH_CONNECTIONS`, "
        "`BENCH_THREADS` (wrk), `BENCH_DATABASE_URL`, `BENCH_REDIS_URL`, `BENCH_BOOKINGS`, "
        "`BENCH_SEED`, `BENCH_API_PORT`, `BENCH_FLOOR_PORT`, `BENCH_MEDIUM_BOOKINGS`, "
        "`BENCH_ONLY` (a regex over request keys; a partial run writes "
        "`bench/out/benchmarks-partial.md` instead of this page). The first run loads the "
        "demo world (about 2 minutes); later runs reuse it. Logs, and the SQL the API sent per "
        "request, are left in `bench/out/`.",
        "",
        MARIADB_HOW,
        "",
    ]
    return "\n".join(parts)
