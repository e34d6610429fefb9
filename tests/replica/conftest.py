"""A PostgreSQL primary and a hot standby streaming from it, both temporary clusters of
this run (initdb, pg_basebackup -R, pg_ctl on free ports under a temp dir), removed after.

The machine's own server is not used: its `root` role has no REPLICATION and changing it
would mean reconfiguring a server others use. Missing PostgreSQL binaries skip these
tests with the reason, or fail them when `CI` is set."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.support.ports import free_port


def server_binaries() -> Path:
    """`PG_BIN`, else the newest Debian-installed server's (`/usr/lib/postgresql/15/bin`)."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


BIN = server_binaries()
# The standby cancels a query that holds up replay after this long (recovery conflicts).
STANDBY_DELAY_MS = 1000
DEADLINE = 30.0  # seconds for the clusters to start and the standby to catch up


@dataclass(frozen=True)
class Replication:
    primary_port: int
    standby_port: int
    database: str = "eventio"

    def url(self, port: int) -> str:
        return f"postgresql://root@127.0.0.1:{port}/{self.database}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def standby_url(self) -> str:
        return self.url(self.standby_port)

    def connect(self, port: int, database: str | None = None) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1",
            port=port,
            user="root",
            dbname=database or self.database,
            autocommit=True,
            connect_timeout=2,
        )

    def wait_caught_up(self, timeout: float = 10.0) -> None:
        """Until the standby has replayed everything the primary wrote so far."""
        with self.connect(self.primary_port) as primary:
            target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
        deadline = time.monotonic() + timeout
        with self.connect(self.standby_port) as standby:
            while time.monotonic() < deadline:
                caught_up = standby.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)
                ).fetchone()[0]  # type: ignore[index]
                if caught_up:
                    return
                time.sleep(0.05)
        raise AssertionError(f"the standby did not replay up to {target} in {timeout} s")


def as_owner(owner: str | None, *command: str | Path) -> list[str]:
    """initdb refuses to run as root: run the cluster as the `postgres` OS user then."""
    argv = [str(part) for part in command]
    return ["runuser", "-u", owner, "--", *argv] if owner else argv


def run(owner: str | None, *command: str | Path) -> None:
    subprocess.run(as_owner(owner, *command), check=True, capture_output=True, timeout=60)


def start(owner: str | None, data: Path, port: int) -> None:
    run(
        owner,
        BIN / "pg_ctl",
        "-D",
        data,
        "-l",
        data / "server.log",
        "-o",
        f"-p {port} -k {data} -c listen_addresses=127.0.0.1",
        "-w",
        "-t",
        str(int(DEADLINE)),
        "start",
    )


def stop(owner: str | None, data: Path) -> None:
    subprocess.run(
        as_owner(owner, BIN / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"),
        capture_output=True,
        timeout=30,
    )


@pytest.fixture(autouse=True)
def clean_database() -> None:
    """These tests bring their own clusters: the suite's migrated database is not used."""


@pytest.fixture(scope="session")
def replication() -> Iterator[Replication]:
    if not (BIN / "initdb").exists() or not shutil.which("pg_basebackup", path=str(BIN)):
        reason = f"PostgreSQL server binaries not found in {BIN} (set PG_BIN)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the replica tests")
        pytest.skip(reason)
    owner = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="eventio-replica-"))
    if owner:
        shutil.chown(root, owner)
    primary, standby = root / "primary", root / "standby"
    setup = Replication(free_port(), free_port())
    started: list[Path] = []
    try:
        run(owner, BIN / "initdb", "-D", primary, "-U", "root", "--auth=trust", "-E", "UTF8")
        with open(primary / "postgresql.conf", "a") as conf:
            # Throwaway clusters: no fsync; enough senders for one standby.
            conf.write(
                "fsync = off\nwal_level = replica\nmax_wal_senders = 4\n"
                # No background writes that would move the lag the tests measure.
                "autovacuum = off\n"
            )
        start(owner, primary, setup.primary_port)
        started.append(primary)
        with setup.connect(setup.primary_port, "postgres") as admin:
            admin.execute(f"CREATE DATABASE {setup.database}")
        run(
            owner,
            BIN / "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(setup.primary_port),
            "-U",
            "root",
            "-D",
            standby,
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast",  # not a spread checkpoint of minutes
        )
        with open(standby / "postgresql.conf", "a") as conf:
            conf.write(
                f"hot_standby = on\nmax_standby_streaming_delay = {STANDBY_DELAY_MS}ms\n"
                "hot_standby_feedback = off\n"
            )
        start(owner, standby, setup.standby_port)
        started.append(standby)
        with setup.connect(setup.standby_port) as check:
            assert check.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        yield setup
    finally:
        for data in reversed(started):
            stop(owner, data)
        shutil.rmtree(root, ignore_errors=True)
