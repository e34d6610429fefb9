"""The MariaDB section of docs/benchmarks.md: the API on MariaDB beside the API on PostgreSQL."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

from mariadb import Row, Run
from report import latency, md_table, rate
from settings import OUT, ROOT, log

START, END = "<!-- mariadb:start -->", "<!-- mariadb:end -->"
SECTION = re.compile(re.escape(START) + ".*?" + re.escape(END) + "\n?", re.DOTALL)
SLOWER = 3.0  # a request this many times slower on MariaDB says why

# Why a request is more than SLOWER times slower on MariaDB, by request key: read from the
# plans (EXPLAIN on both databases) and the in-process split of SQL and Python time.
NULLS_FIRST_SORT = (
    "`sort=-created_at` puts NULLs first on every database. PostgreSQL says `created_at DESC "
    "NULLS FIRST` and walks `ix_bookings_event_id_status_created_at_desc_id`, stopping after "
    "the page's rows. MariaDB has no `NULLS FIRST`, so the API sorts by `created_at IS NULL "
    "DESC, created_at DESC, id` there; no index holds that expression, so MariaDB reads every "
    "confirmed booking of the event ({rows}) and sorts them for each page "
    "(`Using filesort`){detail}. "
    "PyMySQL is not the cause: SQL is almost all of the request's time. A remedy belongs to "
    "the query builder (owned elsewhere): drop the IS NULL key where the column cannot hold "
    "NULL, or read the NULL rows by their own indexed statement first."
)
PARTIAL_FILTER = (
    "`filter[email]` is a partial match, `lower(email) LIKE '%…%'`. PostgreSQL answers it "
    "from the trigram index of migration 0003 (`pg_trgm`), which MariaDB does not have: "
    "MariaDB reads all 187,860 customers' emails (the whole `ix_customers_email`) for each "
    "of the two statements (count and page), and checks each against the event's groups "
    "({groups})"
)
STATS = (
    "The report joins the flagship's 510,718 confirmed and provisional bookings to their "
    "919,231 ticket lines. PostgreSQL hashes the two in one pass; MariaDB 10.11 joins only by "
    "nested loops: for each booking an index lookup in `booking_tickets.booking_id`, then "
    "the clustered row (for `ticket_id` and `qty`), with the default 128 MiB buffer pool "
    "(shared with every database of the server) against about 570 MB of these two tables "
    "and their indexes. Alone, the statement took 11.4 s on MariaDB (1.2 s on PostgreSQL in "
    "the same minutes), over the API's 10 s `STATEMENT_TIMEOUT_MS`: the request answers 503 "
    "with the contract's body, as any statement cut by the limit. Once a report is cached "
    "(stats warm) it is served as fast as on PostgreSQL. A covering index `booking_tickets "
    "(booking_id, ticket_id, qty)`, a larger `innodb_buffer_pool_size` or a higher "
    "`STATEMENT_TIMEOUT_MS` would bring it back."
)
WHY: dict[str, str] = {
    "medium-page": NULLS_FIRST_SORT.format(rows="9,834 for event 18", detail=""),
    "flagship-page": NULLS_FIRST_SORT.format(
        rows="420,605 for event 1",
        detail="; 8 such sorts at a time on 2 shared cores did not finish within the run",
    ),
    "flagship-cursor-first": NULLS_FIRST_SORT.format(
        rows="420,605 for event 1",
        detail=", a first cursor page as a first offset page; 400,000 rows deep the cursor's "
        "condition leaves only the last ~20,000 to sort, hence the deep page's smaller gap",
    ),
    "flagship-offset-deep": NULLS_FIRST_SORT.format(
        rows="420,605 for event 1", detail=", then skips 400,000 of them"
    ),
    "medium-customers": PARTIAL_FILTER.format(groups="3,526 customers")
    + ". The event is small, so each scan is short, but it is a scan.",
    "flagship-customers": PARTIAL_FILTER.format(
        groups="124,419 customer ids, materialised for each statement"
    )
    + ".",
    "flagship-stats-nocache": STATS,
    "flagship-stats-warm": STATS,
}


def why(row: Row) -> str:
    return WHY.get(row.key) or "no explanation recorded yet: look at its plan on both databases"


def in_process_ratio(run: Run, key: str) -> float | None:
    """MariaDB's in-process time over PostgreSQL's (inf when it failed on MariaDB)."""
    pg, maria = run.in_process["postgresql"].get(key), run.in_process["mariadb"].get(key)
    if isinstance(maria, str):
        return float("inf")
    if isinstance(pg, tuple) and isinstance(maria, tuple) and pg[1]:
        return maria[1] / pg[1]
    return None


def factor(run: Run, row: Row) -> float | None:
    """How many times slower on MariaDB: by throughput under load; by one request alone
    (in-process) when neither server answered within the run."""
    if row.maria.requests:
        return row.slower
    if row.pg.requests:
        return float("inf")
    return in_process_ratio(run, row.key)


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
        "other work (other processes took "
        f"{min(min(r.pg_foreign, r.maria_foreign) for r in rows):.0%}-"
        f"{max(max(r.pg_foreign, r.maria_foreign) for r in rows):.0%} of its CPU during the "
        "runs, `other CPU` below): read the ratios, not the absolute values.",
        "",
        md_table(["", ""], [[k, v] for k, v in run.machine.items()]),
        "",
        f"The same `flask --app eventio demo --bookings 1000000 --seed 1` in a MariaDB "
        f"database ({data.get('database bytes', 0) / 2**30:.1f} GiB with indexes, by "
        "`information_schema`), loaded by the demo's MySQL writer (`eventio/cli/bulk.py`: "
        "multi-row INSERTs in one transaction, foreign key and unique checks off for its "
        "session, secondary indexes dropped before the first row and built once at the end; "
        "114 s for the million bookings on this busy machine, 226 s with the indexes kept, "
        "longer through SQLAlchemy's executemany), then `ANALYZE TABLE`. Not `LOAD DATA LOCAL "
        "INFILE`: PyMySQL allows it only on a connection opened with `local_infile`, which "
        "the API's engine does not set and MySQL 8 servers refuse by default; INSERTs work on "
        "any default server. The same rows as on PostgreSQL (the run checks the chosen events' "
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
                    slower(run, r, s["seconds"]),
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
    slow = [r for r in rows if (factor(run, r) or 0.0) > SLOWER]
    parts += [
        "### More than 3 times slower on MariaDB",
        "",
        "By throughput under load; where neither database answered within the run, by one "
        "request alone (in-process).",
        "",
    ]
    parts += [f"- **{r.label}** ({slower(run, r, s['seconds'])}): {why(r)}" for r in slow] or [
        "- none"
    ]
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


def slower(run: Run, row: Row, seconds: float) -> str:
    if row.maria.requests:
        return f"{row.slower:.2f}x"
    if row.pg.requests:
        return f"MariaDB: none answered in {seconds:g} s"
    found = factor(run, row)
    if found is None:
        return f"neither answered in {seconds:g} s"
    if found == float("inf"):
        return f"neither answered in {seconds:g} s; alone, MariaDB failed"
    return f"neither answered in {seconds:g} s; {found:.1f}x alone"


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


def save(run: Run) -> Path:
    """The run as measured, so that its section can be written again (`render`)."""
    path = OUT / "mariadb-run.pickle"
    path.write_bytes(pickle.dumps(run))
    return path


def render(page: Path = ROOT / "docs" / "benchmarks.md") -> None:
    """Write the saved run's section into the page again (after WHY changed)."""
    run = pickle.loads((OUT / "mariadb-run.pickle").read_bytes())
    page.write_text(splice(page.read_text(), section(run)))
    log(f"wrote the MariaDB section of {page.relative_to(ROOT)} from the saved run")


if __name__ == "__main__":
    render()
