"""The MariaDB section of docs/benchmarks.md: the API on MariaDB beside the API on PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

from mariadb import Row, Run
from report import latency, md_table, rate

START, END = "<!-- mariadb:start -->", "<!-- mariadb:end -->"
SECTION = re.compile(re.escape(START) + ".*?" + re.escape(END) + "\n?", re.DOTALL)
SLOWER = 3.0  # a request this many times slower on MariaDB says why

# Why a request is more than SLOWER times slower on MariaDB, by request key: read from the
# plans (EXPLAIN on both databases) and the in-process split of SQL and Python time.
WHY: dict[str, str] = {}


def why(row: Row) -> str:
    return WHY.get(row.key) or "no explanation recorded yet: look at its plan on both databases"


def section(run: Run) -> str:
    s = run.settings
    data = run.data
    rows = run.rows
    parts = [
        START,
        "## MariaDB",
        "",
        f"Written by `BENCH_DATABASES=mariadb make bench` on {run.when:%Y-%m-%d %H:%M} UTC, "
        f"in {run.elapsed_s / 60:.1f} minutes, with `BENCH_DURATION={s['seconds']:g}` "
        f"({s['slices']} slices of {s['slice_seconds']} s per request and server, "
        f"`wrk -t{s['threads']} -c{s['connections']}`). The PostgreSQL columns here are the "
        "API on PostgreSQL measured in this same run, interleaved with the API on MariaDB "
        "slice by slice; they are not the figures of the tables above (another run, other "
        "settings, another moment of a shared machine). Short runs on a machine shared with "
        "other work: read the ratios, not the absolute values.",
        "",
        md_table(["", ""], [[k, v] for k, v in run.machine.items()]),
        "",
        f"The same `flask --app eventio demo --bookings 1000000 --seed 1` in a MariaDB "
        f"database ({data.get('database bytes', 0) / 2**30:.1f} GiB with indexes, by "
        "`information_schema`), loaded by the demo's MySQL writer (multi-row INSERTs in one "
        "transaction, foreign key and unique checks off for its session), then "
        "`ANALYZE TABLE`. The same rows as on PostgreSQL (the run checks the chosen events' "
        "counts on both), the same indexes (the project's migrations; MariaDB has no trigram "
        "index):",
        "",
        md_table(
            ["table", "rows"], [[k, f"{v:,}"] for k, v in data.items() if k != "database bytes"]
        ),
        "",
        "Both APIs run under gunicorn with `gunicorn.conf.py` (2 workers x 4 threads), the "
        "same Redis and settings; MariaDB's is driven by PyMySQL (`DATABASE_URL=mysql://…`). "
        "There is no floor on MariaDB: the issue asks for the API's figures on MariaDB beside "
        "PostgreSQL's, and a hand-written PyMySQL floor would mostly measure PyMySQL. `slower` "
        "is PostgreSQL's throughput over MariaDB's (above 1: slower on MariaDB). `other CPU` is "
        "the share of the machine that went elsewhere (PostgreSQL / MariaDB); MariaDB is one "
        "server process for every database, so its CPU counts whatever else it served.",
        "",
        md_table(
            [
                "request",
                "PostgreSQL rps",
                "p50 ms",
                "p99 ms",
                "MariaDB rps",
                "p50 ms",
                "p99 ms",
                "slower",
                "other CPU",
                "bodies",
            ],
            [
                [
                    r.label,
                    rate(r.pg),
                    latency(r.pg, r.pg.p50_ms),
                    latency(r.pg, r.pg.p99_ms),
                    rate(r.maria),
                    latency(r.maria, r.maria.p50_ms),
                    latency(r.maria, r.maria.p99_ms),
                    f"{r.slower:.2f}",
                    f"{r.pg_foreign:.0%} / {r.maria_foreign:.0%}",
                    r.body,
                ]
                for r in rows
            ],
        ),
        "",
    ]
    errors = [r for r in rows if r.pg.errors or r.maria.errors]
    if errors:
        parts += [
            "Errors (non-2xx or socket errors) during the runs: "
            + ", ".join(
                f"{r.label} PostgreSQL {r.pg.errors} / MariaDB {r.maria.errors}" for r in errors
            ),
            "",
        ]
    slow = [r for r in rows if r.slower > SLOWER]
    parts += ["### More than 3 times slower on MariaDB", ""]
    parts += [f"- **{r.label}** ({r.slower:.1f}x): {why(r)}" for r in slow] or ["- none"]
    parts += [
        "",
        "### In-process, one request at a time",
        "",
        "The Flask test client on each database (median of 5, after a warm-up): statements, "
        "total ms, and the part spent in SQL (PyMySQL's reading of the rows included).",
        "",
        md_table(
            [
                "request",
                "PostgreSQL statements",
                "total ms",
                "SQL ms",
                "MariaDB statements",
                "total ms",
                "SQL ms",
            ],
            [
                [
                    r.label,
                    *cells(run.in_process["postgresql"].get(r.key)),
                    *cells(run.in_process["mariadb"].get(r.key)),
                ]
                for r in rows
            ],
        ),
        "",
    ]
    failed = [
        (database, key, found)
        for database, measured in run.in_process.items()
        for key, found in measured.items()
        if isinstance(found, str)
    ]
    parts += [f"- {key} on {database}: {found}" for database, key, found in failed]
    if failed:
        parts.append("")
    if run.exports:
        parts += [
            "### Export",
            "",
            "The flagship's active bookings as CSV, one full streaming download each:",
            "",
            md_table(
                ["database", "rows", "MB", "seconds", "rows/s", "worker peak RSS"],
                [
                    [
                        name,
                        f"{e.rows:,}",
                        f"{e.bytes / 1e6:.1f}",
                        f"{e.seconds:.2f}",
                        f"{e.rows_per_second:,.0f}",
                        f"{e.peak_mb:.0f} MB",
                    ]
                    for name, e in run.exports.items()
                ],
            ),
            "",
        ]
        if len({e.sha256 for e in run.exports.values()}) == 1:
            parts += ["The two CSV bodies are byte-identical.", ""]
        else:
            parts += ["The two CSV bodies are **not** identical.", ""]
    parts += [END, ""]
    return "\n".join(parts)


def cells(found: tuple[int, float, float] | str | None) -> list[str]:
    if found is None or isinstance(found, str):
        return ["failed", "", ""]
    statements, total, sql_ms = found
    return [str(statements), f"{total:.1f}", f"{sql_ms:.1f}"]


def existing(page: Path) -> str | None:
    """The MariaDB section a page already holds, if any."""
    if not page.exists():
        return None
    found = SECTION.search(page.read_text())
    return found.group(0) if found else None


def splice(page: str, mariadb: str | None) -> str:
    """The page with its MariaDB section replaced, or placed before `## How to run`."""
    page = SECTION.sub("", page)
    if not mariadb:
        return page
    mariadb = mariadb.rstrip("\n") + "\n\n"
    at = page.find("## How to run")
    return page + "\n" + mariadb if at < 0 else page[:at] + mariadb + page[at:]
