"""`make bench`: the API and its floor under the same load, written to docs/benchmarks.md."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import cpu
import mariadb
import mariadb_report
import orjson
import redis
import report
import wrk
from data import EventPick, connect, data_size, ensure_database, issue_token, pick_events
from inprocess import InProcess, InProcessApi
from measure import (
    compare_bodies,
    download,
    measure_pair,
    pair_seconds,
    settle,
    stats_against_sql,
    unloaded,
)
from plan import USER, Request, build_requests
from servers import servers
from settings import BIN, OUT, ROOT, Settings, log
from watch import PostgresWatch


def machine(settings: Settings) -> dict[str, str]:
    processor, memory = cpu.cpu_and_memory()
    with connect(settings) as conn:
        version = conn.execute("SHOW server_version").fetchone()
    wrk_version = subprocess.run(
        [wrk.require(), "-v"], capture_output=True, text=True, check=False
    ).stdout.split("\n")[0]
    gunicorn = subprocess.run(
        [str(BIN / "gunicorn"), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "CPU": processor,
        "Memory": memory,
        "OS": f"{os.uname().sysname} {os.uname().release}",
        "PostgreSQL": version[0] if version else "unknown",
        "Redis": redis.Redis.from_url(settings.redis_url).info("server")["redis_version"],
        "Python": sys.version.split()[0],
        "gunicorn": gunicorn,
        "wrk": wrk_version.split(" [")[0],
    }


def selected(settings: Settings, requests_: list[Request]) -> list[Request]:
    if settings.only is None:
        return requests_
    return [r for r in requests_ if settings.only.search(r.key)]


def stop_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through `finally`: the servers are stopped


def serve_and_measure(
    settings: Settings,
    token: str,
    chosen: list[Request],
    measured: dict[str, InProcess],
    medium: EventPick,
    flagship: EventPick,
    started: float,
) -> tuple[list[report.Row], dict[str, float], dict[str, report.Export]]:
    """Both servers up: each request under wrk, the unloaded probes, the export."""
    rows: list[report.Row] = []
    probes: dict[str, float] = {}
    exports: dict[str, report.Export] = {}
    with servers(settings, token) as (api, floor), connect(settings) as conn:
        watcher = PostgresWatch(conn)
        log(f"API on :{api.port} (workers {api.workers()}), floor on :{floor.port}")
        deadline = started + settings.budget_minutes * 60
        for index, request in enumerate(chosen):
            settle(watcher)
            same, floor_statements = compare_bodies(request, token, api, floor)
            # probes and export
            reserve = (len(chosen) - index - 1) * pair_seconds(settings) + 120
            # Warm stats are held against /user: run it beside them, slice for slice.
            baseline = USER if request.key.endswith("stats-warm") else None
            attempt = measure_pair(
                settings, request, token, api, floor, watcher, deadline, reserve, baseline
            )
            row = report.Row(
                key=request.key,
                label=request.label,
                path=request.path,
                api=attempt.results["api"],
                floor=attempt.results["floor"],
                api_statements=measured[request.key].statements,
                floor_statements=floor_statements,
                body=same,
                api_foreign=attempt.foreign["api"],
                floor_foreign=attempt.foreign["floor"],
                api_cpu=attempt.spent["api"],
                floor_cpu=attempt.spent["floor"],
                api_split=attempt.splits["api"],
                floor_split=attempt.splits["floor"],
                baseline=attempt.results.get("baseline"),
            )
            rows.append(row)
            log(report.console_line(row))
        picks = {"medium": medium, "flagship": flagship}
        for request in chosen:
            name, _, kind = request.key.partition("-")
            if kind in ("customers", "cursor-first", "cursor-deep"):
                api_ms, floor_ms = unloaded(request, token, api, floor)
                probes[f"api:{request.key}"], probes[f"floor:{request.key}"] = api_ms, floor_ms
            elif kind == "stats-nocache":
                api_ms, sql_ms = stats_against_sql(settings, request, token, api, picks[name].id)
                probes[f"api:{request.key}"], probes[f"floor-sql:{request.key}"] = api_ms, sql_ms
        if settings.only is None or settings.only.search("export"):
            path = f"/api/v2/event/{flagship.id}/bookings?format=csv"
            log("export: the flagship's bookings as CSV, API then floor")
            exports["api"] = download(f"http://127.0.0.1:{api.port}{path}", token, api.workers())
            exports["floor"] = download(
                f"http://127.0.0.1:{floor.port}{path}", token, floor.workers()
            )
            log(
                f"export: API {exports['api'].rows:,} rows in {exports['api'].seconds:.1f} s, "
                f"floor {exports['floor'].rows:,} rows in {exports['floor'].seconds:.1f} s"
            )

    return rows, probes, exports


def main() -> None:
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    settings = Settings.from_environment()
    wrk.require()
    OUT.mkdir(exist_ok=True)
    started = time.monotonic()
    # PostgreSQL is always there: the requests are chosen on it, and the API on MariaDB is
    # measured beside the API on PostgreSQL.
    ensure_database(settings)
    token = issue_token(settings)
    medium, flagship = pick_events(settings)
    log(
        f"medium event {medium.id} ({medium.bookings:,} bookings), flagship {flagship.id} "
        f"({flagship.bookings:,}, {flagship.confirmed:,} confirmed)"
    )
    if "mariadb" in settings.databases:
        mariadb.ensure_mariadb(settings)
        mariadb.same_world(settings, [medium, flagship])
        redis.Redis.from_url(settings.mariadb_redis_url).flushdb()
    redis.Redis.from_url(settings.redis_url).flushdb()  # the bench's own Redis database

    log("in-process: walking the API's cursor 400,000 rows deep")
    in_process = InProcessApi(settings, token)
    deep_cursor = in_process.deep_cursor(flagship.id)
    all_requests = build_requests(medium, flagship, deep_cursor)
    chosen = selected(settings, all_requests)
    page = None
    if "postgresql" in settings.databases:
        page = against_floor(settings, token, chosen, in_process, medium, flagship, started)
    section = None
    if "mariadb" in settings.databases:
        log("MariaDB: the API on MariaDB beside the API on PostgreSQL")
        compared = mariadb.compare(settings, token, chosen, flagship.id)
        mariadb_report.save(compared)
        section = mariadb_report.section(compared)
        (OUT / "benchmarks-mariadb.md").write_text(section)
    output = settings.output
    if page is None:  # MariaDB alone: its section goes into the page there is
        page = output.read_text() if output.exists() else "# Benchmarks\n"
    output.write_text(mariadb_report.splice(page, section or mariadb_report.existing(output)))
    log(f"wrote {output.relative_to(ROOT)} in {(time.monotonic() - started) / 60:.1f} min")


def against_floor(
    settings: Settings,
    token: str,
    chosen: list[Request],
    in_process: InProcessApi,
    medium: EventPick,
    flagship: EventPick,
    started: float,
) -> str:
    """The API against its floor on PostgreSQL: the page's main part, as markdown."""
    log("in-process: statements and time per request")
    measured = {r.key: in_process.measure(r.path) for r in chosen}

    rows, probes, exports = serve_and_measure(
        settings, token, chosen, measured, medium, flagship, started
    )

    run = report.Run(
        when=datetime.now(UTC),
        machine=machine(settings),
        data=data_size(settings),
        settings={
            **settings.run_settings(),
            "floor_prepare": (
                "statements never prepared (`FLOOR_PREPARE=0`)"
                if os.environ.get("FLOOR_PREPARE") == "0"
                else "psycopg's default: every statement is prepared on its 5th execution, "
                "where the API prepares only its lookups by key (the token, one row, an "
                "include's rows) and never a list's page or count; `FLOOR_PREPARE=0` turns it off"
            ),
        },
        medium=asdict(medium),
        flagship=asdict(flagship),
        rows=rows,
        in_process={k: (v.statements, v.total_ms, v.sql_ms) for k, v in measured.items()},
        probes=probes,
        exports=exports,
        elapsed_s=time.monotonic() - started,
    )
    print()
    print(report.console_table(run))
    (OUT / "statements.json").write_bytes(
        orjson.dumps(
            {
                k: [{"sql": s, "params": p, "ms": ms} for s, p, ms in v.sql]
                for k, v in measured.items()
            },
            default=str,
            option=orjson.OPT_INDENT_2,
        )
    )
    return report.markdown(run)


if __name__ == "__main__":
    main()
