"""The API on MariaDB beside the API on PostgreSQL: the same demo world, requests and load."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pymysql
import report
from data import EventPick, connect, flask, issue_token
from inprocess import InProcess, InProcessApi
from measure import Stream, compare_bodies, download, measure_pair, pair_seconds, settle
from plan import Request
from servers import api_servers
from settings import Settings, log
from sqlalchemy.engine import make_url
from watch import MariaDBWatch, PostgresWatch, Together
from wrk import Result

from eventio.settings import database_url

TABLES = ("events", "tickets", "customers", "groups", "bookings", "booking_tickets")


def on_mariadb(settings: Settings) -> Settings:
    """The run's settings with the MariaDB database (and its Redis) as the ones the API and
    `flask` use."""
    return dataclasses.replace(
        settings, database_url=settings.mariadb_url, redis_url=settings.mariadb_redis_url
    )


def connect_mariadb(settings: Settings, database: bool = True) -> pymysql.Connection:  # type: ignore[type-arg]
    url = make_url(database_url(settings.mariadb_url, ""))
    return pymysql.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 3306,
        user=url.username or "root",
        password=url.password or "",
        database=url.database if database else None,
        charset="utf8mb4",
        autocommit=True,
    )


def scalar(conn: pymysql.Connection, statement: str, *args: Any) -> Any:  # type: ignore[type-arg]
    with conn.cursor() as cursor:
        cursor.execute(statement, args or None)
        row = cursor.fetchone()
    return row[0] if row else None


def ensure_mariadb(settings: Settings) -> None:
    """Create, migrate and fill the MariaDB bench database when needed; ANALYZE its tables."""
    name = make_url(database_url(settings.mariadb_url, "")).database
    with connect_mariadb(settings, database=False) as conn:
        conn.cursor().execute(
            f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 "
            "COLLATE utf8mb4_unicode_ci"
        )
    mariadb = on_mariadb(settings)
    log(f"MariaDB: migrating {name} (flask db upgrade)")
    flask(mariadb, "db", "upgrade", capture=True)
    with connect_mariadb(settings) as conn:
        filled = scalar(conn, "SELECT count(*) FROM bookings")
    if not filled:
        log(f"MariaDB: loading the demo world: {settings.bookings:,} bookings (once)")
        started = time.monotonic()
        flask(mariadb, "demo", "--bookings", str(settings.bookings), "--seed", str(settings.seed))
        log(f"MariaDB: loaded in {time.monotonic() - started:.0f} s")
    else:
        log(f"MariaDB: reusing {filled:,} bookings already in {name}")
    with connect_mariadb(settings) as conn, conn.cursor() as cursor:
        cursor.execute("ANALYZE TABLE " + ", ".join(f"`{t}`" for t in TABLES))
        cursor.fetchall()


def same_world(settings: Settings, picks: list[EventPick]) -> None:
    """The requests were chosen on PostgreSQL: MariaDB must hold the same demo world."""
    with connect_mariadb(settings) as conn:
        for pick in picks:
            found = (
                scalar(conn, "SELECT count(*) FROM bookings WHERE event_id = %s", pick.id),
                scalar(
                    conn,
                    "SELECT count(*) FROM bookings WHERE event_id = %s AND status = 'confirmed'",
                    pick.id,
                ),
            )
            if found != (pick.bookings, pick.confirmed):
                raise SystemExit(
                    f"MariaDB holds another demo world: event {pick.id} has {found[0]:,} "
                    f"bookings ({found[1]:,} confirmed) there, {pick.bookings:,} "
                    f"({pick.confirmed:,}) on PostgreSQL. Load both with the same "
                    "BENCH_BOOKINGS and BENCH_SEED (empty the MariaDB database to reload it)."
                )


def machine(settings: Settings) -> dict[str, str]:
    with connect_mariadb(settings) as conn:
        version = scalar(conn, "SELECT VERSION()")
        pool = scalar(conn, "SELECT @@innodb_buffer_pool_size")
    with connect(settings) as pg:
        row = pg.execute("SHOW server_version").fetchone()
    return {
        "MariaDB": f"{version} (innodb_buffer_pool_size {int(pool) / 2**20:.0f} MiB)",
        "PostgreSQL": row[0] if row else "unknown",
    }


def data_size(settings: Settings) -> dict[str, int]:
    with connect_mariadb(settings) as conn:
        counts = {t: int(scalar(conn, f"SELECT count(*) FROM `{t}`")) for t in TABLES}
        counts["database bytes"] = int(
            scalar(
                conn,
                "SELECT sum(data_length + index_length) FROM information_schema.tables "
                "WHERE table_schema = DATABASE()",
            )
            or 0
        )
    return counts


@dataclass(frozen=True)
class Row:
    """One request on the API over PostgreSQL and on the API over MariaDB."""

    key: str
    label: str
    pg: Result
    maria: Result
    body: str
    pg_foreign: float = 0.0
    maria_foreign: float = 0.0
    pg_cpu: dict[str, float] = field(default_factory=dict)
    maria_cpu: dict[str, float] = field(default_factory=dict)

    @property
    def slower(self) -> float:
        """How many times slower on MariaDB: PostgreSQL's throughput over MariaDB's."""
        return self.pg.rps / self.maria.rps if self.maria.rps else float("inf")


@dataclass(frozen=True)
class Run:
    """Everything the MariaDB comparison measured."""

    when: datetime
    machine: dict[str, str]
    data: dict[str, int]
    settings: dict[str, Any]
    rows: list[Row]
    # statements, total ms, SQL ms; or the error of the one request that failed
    in_process: dict[str, dict[str, tuple[int, float, float] | str]]
    exports: dict[str, report.Export]
    elapsed_s: float


def in_process(settings: Settings, token: str, chosen: list[Request]) -> dict[str, Any]:
    """Statements and time of each request, served in this process (an error is kept as
    its message: a request that fails on one database is reported, not fatal)."""
    api = InProcessApi(settings, token)
    found: dict[str, tuple[int, float, float] | str] = {}
    for request in chosen:
        try:
            measured: InProcess = api.measure(request.path)
        except SystemExit as error:
            found[request.key] = str(error)[:300]
            log(f"in-process {request.key}: {found[request.key]}")
            continue
        found[request.key] = (measured.statements, measured.total_ms, measured.sql_ms)
    return found


def compare(settings: Settings, pg_token: str, chosen: list[Request], flagship: int) -> Run:
    """Each request on the API over PostgreSQL and over MariaDB, in interleaved slices."""
    started = time.monotonic()
    mariadb = on_mariadb(settings)
    maria_token = issue_token(mariadb)
    log("MariaDB: in-process statements and time per request, PostgreSQL then MariaDB")
    measured = {
        "postgresql": in_process(settings, pg_token, chosen),
        "mariadb": in_process(mariadb, maria_token, chosen),
    }
    tokens = {"api": pg_token, "api-mariadb": maria_token}
    rows: list[Row] = []
    exports: dict[str, report.Export] = {}
    with (
        api_servers(settings, mariadb, tokens) as (pg_api, maria_api),
        connect(settings) as pg_conn,
        connect_mariadb(settings) as maria_conn,
    ):
        pg_watch, maria_watch = PostgresWatch(pg_conn), MariaDBWatch(maria_conn)
        watcher = Together([pg_watch, maria_watch])
        log(f"API on PostgreSQL on :{pg_api.port}, API on MariaDB on :{maria_api.port}")
        deadline = started + settings.budget_minutes * 60
        for index, request in enumerate(chosen):
            settle(watcher)
            same, _ = compare_bodies(request, pg_token, pg_api, maria_api, maria_token)
            streams = [
                Stream("postgresql", pg_api, request, pg_token, pg_watch),
                Stream("mariadb", maria_api, request, maria_token, maria_watch),
            ]
            reserve = (len(chosen) - index - 1) * pair_seconds(settings) + 60
            attempt = measure_pair(
                settings,
                request,
                pg_token,
                pg_api,
                maria_api,
                watcher,
                deadline,
                reserve,
                streams=streams,
            )
            results, foreign, spent = attempt.results, attempt.foreign, attempt.spent
            row = Row(
                key=request.key,
                label=request.label,
                pg=results["postgresql"],
                maria=results["mariadb"],
                body=same,
                pg_foreign=foreign["postgresql"],
                maria_foreign=foreign["mariadb"],
                pg_cpu=spent["postgresql"],
                maria_cpu=spent["mariadb"],
            )
            rows.append(row)
            log(
                f"{row.label}: PostgreSQL {row.pg.rps:,.1f} rps p50 {row.pg.p50_ms:.1f} ms | "
                f"MariaDB {row.maria.rps:,.1f} rps p50 {row.maria.p50_ms:.1f} ms | "
                f"{row.slower:.2f}x slower"
                + (f" ERRORS {row.pg.errors} / {row.maria.errors}" if row.maria.errors else "")
            )
        if settings.only is None or settings.only.search("export"):
            path = f"/api/v2/event/{flagship}/bookings?format=csv"
            for name, server, token in (
                ("postgresql", pg_api, pg_token),
                ("mariadb", maria_api, maria_token),
            ):
                log(f"export on {name}: the flagship's bookings as CSV")
                exports[name] = download(
                    f"http://127.0.0.1:{server.port}{path}", token, server.workers()
                )
    return Run(  # saved by mariadb_report.save
        when=datetime.now(UTC),
        machine=machine(settings),
        data=data_size(settings),
        settings=settings.run_settings(),
        rows=rows,
        in_process=measured,
        exports=exports,
        elapsed_s=time.monotonic() - started,
    )
