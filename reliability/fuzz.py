"""`make fuzz`: the query-grammar fuzzer of the test suite, run for minutes instead of seconds.

The app runs in-process on a fresh SQLite file, or on FUZZ_DATABASE_URL (PostgreSQL),
which is emptied and migrated first, over the world of tests/fuzzing/world.py. The
strategies of tests/fuzzing/strategies.py send requests to every GET route in turn until
FUZZ_SECONDS (300) pass; every answer is checked: never a 5xx, every 4xx in the contract's
body, every 200 the body asked for. The figures (requests, distinct inputs, statuses,
failures with their first URLs) are printed and written into the `fuzz` section of
docs/reliability.md, next to the last run on the other database. Exits 1 on any failure.

    FUZZ_SECONDS=300 make fuzz
    FUZZ_DATABASE_URL=postgresql://root@127.0.0.1:5432/test_c \\
        FUZZ_REDIS_URL=redis://127.0.0.1:6379/13 make fuzz
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import make_url, text

from eventio import create_app
from eventio.db.extensions import db
from tests.fuzzing.campaign import Tally, explore
from tests.fuzzing.checks import ERRORS_LOGGER
from tests.fuzzing.targets import targets
from tests.fuzzing.world import seed_world

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reliability.md"
SECTION = "fuzz"
RUNS_MARK = "<!-- fuzz-runs "
URL_SHOWN = 240
TRACE_LINES = 14


@dataclass(frozen=True)
class Settings:
    seconds: float
    database_url: str | None
    redis_url: str | None

    @classmethod
    def from_environment(cls) -> Settings:
        return cls(
            seconds=float(os.environ.get("FUZZ_SECONDS") or 300),
            database_url=os.environ.get("FUZZ_DATABASE_URL") or None,
            redis_url=os.environ.get("FUZZ_REDIS_URL") or None,
        )

    @property
    def command(self) -> str:
        prefix = f"FUZZ_DATABASE_URL={self.database_url} " if self.database_url else ""
        prefix += f"FUZZ_REDIS_URL={self.redis_url} " if self.redis_url else ""
        return f"{prefix}FUZZ_SECONDS={self.seconds:g} make fuzz"


def log(message: str) -> None:
    print(message, flush=True)


def build_app(settings: Settings, folder: str) -> Flask:
    url = settings.database_url or f"sqlite:///{folder}/fuzz.db"
    return create_app(
        {
            "DATABASE_URL": url,
            "REDIS_URL": settings.redis_url,
            # One token sends every request: its budget would end the run in 429s.
            "RATE_LIMIT_ENABLED": False,
            "LOG_LEVEL": "WARNING",
            "SECRET_KEY": "fuzz campaign",
        }
    )


def prepare_database(app: Flask) -> str:
    """Empty and migrate the database (and the Redis db); return what it runs on."""
    with app.app_context():
        db.drop_all(bind_key=None)
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
            if connection.dialect.name == "postgresql":
                version = connection.execute(text("SHOW server_version")).scalar_one()
                name = f"PostgreSQL {str(version).split()[0]}"
            else:
                name = f"SQLite {sqlite3.sqlite_version}"
        upgrade()
    cache = app.extensions["eventio.cache"]
    if hasattr(cache, "_client"):
        cache._client.flushdb()
    return name


def database_label(settings: Settings) -> str:
    if settings.database_url is None:
        return "a fresh SQLite file"
    return make_url(settings.database_url).render_as_string(hide_password=True)


def run(settings: Settings) -> tuple[dict[str, Any], Tally]:
    with tempfile.TemporaryDirectory(prefix="eventio-fuzz-") as folder:
        app = build_app(settings, folder)
        engine = prepare_database(app)
        with app.app_context():
            found = targets(app)
            world = seed_world(found, app.config["SECRET_KEY"])
            db.session.remove()
        # Each failure's traceback is kept with it; printing every one would drown the run.
        logging.getLogger(ERRORS_LOGGER).propagate = False
        log(f"fuzzing {len(found)} routes on {engine} for {settings.seconds:g} s ...")
        started = datetime.now(UTC)
        tally = explore(app, found, world, seconds=settings.seconds)
        with app.app_context():
            db.engine.dispose()
    figures = {
        "engine": engine,
        "database": database_label(settings),
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round(tally.seconds),
        "command": settings.command,
        "routes": len(found),
        "requests": tally.requests,
        "distinct": tally.distinct_inputs,
        "statuses": {str(status): n for status, n in sorted(tally.statuses.items())},
        "lists_with_rows": tally.lists_with_rows,
        "failures": tally.failure_count,
        "kinds": [
            {
                "kind": kind,
                "count": count,
                "urls": [shorten(f.request.url) for f in tally.failures[kind]],
            }
            for kind, count in tally.failure_kinds.most_common()
        ],
    }
    return figures, tally


def shorten(url: str) -> str:
    return url if len(url) <= URL_SHOWN else url[:URL_SHOWN] + f"… ({len(url)} characters)"


def report(figures: dict[str, Any], tally: Tally) -> None:
    log(
        f"\n{figures['requests']} requests in {figures['seconds']} s on {figures['engine']} "
        f"({figures['requests'] / max(tally.seconds, 1e-9):.0f}/s), "
        f"{figures['distinct']} distinct inputs"
    )
    log("statuses: " + ", ".join(f"{s}: {n}" for s, n in figures["statuses"].items()))
    log(f"200 lists holding rows: {figures['lists_with_rows']}")
    for name, count in sorted(tally.by_target.items()):
        log(f"  {count:7d}  {name}")
    log(f"failures: {figures['failures']}")
    for kind, count in tally.failure_kinds.most_common():
        first = tally.failures[kind][0]
        log(f"\n{count} x {kind}")
        for failure in tally.failures[kind]:
            log(f"  {failure.status} {failure.request!r}"[: URL_SHOWN * 2])
        if first.trace:
            trace = first.trace.strip().splitlines()[-TRACE_LINES:]
            log("\n".join("    " + line for line in trace))


# --- docs/reliability.md -------------------------------------------------------------------------


def kind_of_run(figures: dict[str, Any]) -> str:
    return "postgresql" if figures["engine"].startswith("PostgreSQL") else "sqlite"


def stored_runs(section: str) -> dict[str, dict[str, Any]]:
    """The last run per database, kept as JSON in a comment of the section."""
    start = section.find(RUNS_MARK)
    if start < 0:
        return {}
    end = section.index(" -->", start)
    return dict(json.loads(section[start + len(RUNS_MARK) : end]))


def count(n: int) -> str:
    return f"{n:,}"


def status_share(figures: dict[str, Any], low: int, high: int) -> int:
    return sum(n for s, n in figures["statuses"].items() if low <= int(s) < high)


def section_text(runs: dict[str, dict[str, Any]]) -> str:
    ordered = [runs[k] for k in ("sqlite", "postgresql") if k in runs]
    lines = [
        "## Fuzzing",
        "",
        "Property: whatever the query, an endpoint never answers a 5xx; every 4xx has the",
        "contract's body (`{message}`, and `errors` exactly on a 422); every 200 is the body",
        "asked for (the list envelope with rows of the event in the path only, one row, CSV",
        "or NDJSON). The requests come from hypothesis strategies derived from every GET",
        "route's declarations (`QuerySpec` filters by kind and column type, sorts, includes,",
        "count includes, sparse-field types, flags, webargs arguments; tests/fuzzing/): filters",
        "right and wrong for their type, unknown and nested (`filter[a][b]`, `filter[]`),",
        "sorts with `-`, duplicates and unknown names, includes nested, unknown and too deep,",
        "`page` / `per_page` huge, negative and not numbers, cursors forged and signed with",
        "the app's key (so positions of every type reach SQL), `fields[type]` and `fields`,",
        "`format` and `Accept`, unknown keys, values past 1000 characters, hundreds of",
        "parameters, repeated keys and bare keys, encoded every way (percent, `+`, raw UTF-8,",
        "lower-case hex) with `%ff%fe`, overlong UTF-8, `%00`, raw non-UTF-8 bytes, `&&`,",
        "normalisation forms and bidi marks. Half the requests are careful (well formed,",
        "so they reach the database), half hostile. The world: three events (two readable),",
        "tickets, customers, groups, bookings in every status with ticket lines, roles and",
        "users, two tokens (`*` and a bookings reader).",
        "",
        "- `make test` runs the quick version, tests/api/test_query_fuzz.py: 400 hypothesis",
        "  examples on the list endpoints, 200 on single rows, stats and `/user`, 200 on",
        "  signed cursors, and a 400-request campaign that must reach rows and every kind",
        "  of answer (about 15 s on SQLite).",
        "- `make fuzz` runs the campaign for `FUZZ_SECONDS` (300) on SQLite, or on",
        "  `FUZZ_DATABASE_URL` (emptied and migrated first; `FUZZ_REDIS_URL` for the cache),",
        "  rotating over the routes (and a batch of hostile cursors), and rewrites this",
        "  section; it exits 1 on any failure.",
        "- Each kind of failure found is also a plain example-based regression test in",
        "  tests/api/test_query_fuzz.py (after `What the fuzzer found`), failing until fixed.",
        "  Found and fixed so far: raw query bytes that are not UTF-8 (werkzeug decodes",
        "  `request.args` strictly), and cursors signed with the app's key whose payload is",
        "  not an object or whose values no column takes (integers past the column's range,",
        "  `true` for an id, a signalling NaN or 1e999999 for a price, NUL in text) were 500s;",
        "  both are 422s now.",
        "",
        "### Last runs",
        "",
        "| | " + " | ".join(run["engine"] for run in ordered) + " |",
        "|---|" + "---:|" * len(ordered),
    ]
    rows = [
        ("date", lambda r: r["date"]),
        ("duration", lambda r: f"{r['seconds']} s"),
        ("routes fuzzed", lambda r: str(r["routes"])),
        ("requests tried", lambda r: count(r["requests"])),
        ("distinct inputs (URL, token, Accept)", lambda r: count(r["distinct"])),
        ("200", lambda r: count(status_share(r, 200, 300))),
        ("of which lists holding rows", lambda r: count(r["lists_with_rows"])),
        ("4xx", lambda r: count(status_share(r, 400, 500))),
        ("5xx", lambda r: count(status_share(r, 500, 600))),
        ("failures (5xx, or a body off the contract)", lambda r: f"**{count(r['failures'])}**"),
    ]
    lines += [f"| {label} | " + " | ".join(cell(r) for r in ordered) + " |" for label, cell in rows]
    lines.append("")
    for run in ordered:
        statuses = ", ".join(f"{s}: {count(n)}" for s, n in run["statuses"].items())
        lines.append(f"- {run['engine']} ({run['database']}): statuses {statuses}.")
        lines.append(f"  Command: `{run['command']}`.")
    for run in ordered:
        if not run["kinds"]:
            continue
        lines += ["", f"### Failures on {run['engine']}", ""]
        for kind in run["kinds"]:
            times = "time" if kind["count"] == 1 else "times"
            lines.append(f"- {count(kind['count'])} {times} `{kind['kind']}`; first URLs:")
            lines += [f"  - `{url.replace('`', '%60')}`" for url in kind["urls"]]
    # `>` escaped, so no URL in the JSON can close the comment early.
    stored = json.dumps(runs, ensure_ascii=False, sort_keys=True).replace(">", "\\u003e")
    lines += ["", RUNS_MARK + stored + " -->"]
    return "\n".join(lines)


def write_section(figures: dict[str, Any]) -> None:
    start, end = f"<!-- section:{SECTION} -->", f"<!-- end:{SECTION} -->"
    document = DOC.read_text()
    if start not in document or end not in document:
        raise SystemExit(f"{DOC} has no {start} ... {end} markers")
    before, rest = document.split(start, 1)
    current, after = rest.split(end, 1)
    runs = stored_runs(current)
    runs[kind_of_run(figures)] = figures
    DOC.write_text(f"{before}{start}\n{section_text(runs)}\n{end}{after}")


def main() -> int:
    settings = Settings.from_environment()
    figures, tally = run(settings)
    report(figures, tally)
    write_section(figures)
    log(f"\nwrote the `{SECTION}` section of {DOC.relative_to(ROOT)}")
    return 1 if tally.failure_count else 0


if __name__ == "__main__":
    sys.exit(main())
