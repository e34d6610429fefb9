"""`make run` as a newcomer meets it: the real Makefile and commands in processes of their
own, on a database and an instance folder of the test's own. A step that cannot go on says
so in one line with the fix and stops the run; a run that serves prints the kept token,
and the development server logs plain text, one line per request."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from eventio.settings import database_url
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FLASK = [str(BIN / "flask"), "--app", "eventio"]
TOKEN = re.compile(r"^  (\d+\|\S+)$", re.MULTILINE)
# Settings of the test run that must not reach the processes started here.
NOT_PASSED = ("REDIS_URL", "LOG_FORMAT", "LOG_LEVEL", "TOKEN_EXPIRATION_MINUTES", "HOST", "PORT")
MAKE = shutil.which("make")
needs_make = pytest.mark.skipif(MAKE is None, reason="needs make (apt-get install make)")


@pytest.fixture(autouse=True)
def clean_database() -> None:
    """These tests bring their own database: the suite's is not used."""


@dataclass
class Place:
    """An instance folder and a database of the test's own, and the environment naming them."""

    instance: Path
    database: str

    @property
    def env(self) -> dict[str, str]:
        inherited = {
            key: value
            for key, value in os.environ.items()
            if not key.endswith("DATABASE_URL") and key not in NOT_PASSED
        }
        return {
            **inherited,
            "EVENTIO_INSTANCE_PATH": str(self.instance),
            "DATABASE_URL": self.database,
        }


@pytest.fixture
def place(tmp_path: Path) -> Place:
    return Place(tmp_path / "instance", f"sqlite:///{tmp_path / 'eventio.db'}")


def make_run(place: Place, port: int, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`make run` with this interpreter's environment (`-o install`: it is installed)."""
    assert MAKE is not None
    command = [MAKE, "-C", str(ROOT), "--no-print-directory", "-o", "install", "run"]
    variables = [f"BIN={BIN}", "HOST=127.0.0.1", f"PORT={port}"]
    return subprocess.run(
        command + variables,
        env=place.env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def own_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """What the run printed, but make's own `make: *** … Error 1`."""
    return [
        line for line in (result.stdout + result.stderr).splitlines() if not line.startswith("make")
    ]


def running_server(port: int) -> socket.socket:
    """A socket listening on the port, as another server would be."""
    server = socket.socket()
    server.bind(("127.0.0.1", port))
    server.listen()
    return server


@needs_make
def test_a_port_in_use_stops_the_run_before_anything_is_written(place: Place) -> None:
    port = free_port()
    with running_server(port):
        result = make_run(place, port)
    assert result.returncode != 0
    lines = own_lines(result)
    assert len(lines) == 1, lines
    assert re.fullmatch(
        rf"Error: 127\.0\.0\.1:{port} is already in use \(another `make run`, or another "
        r"server\?\); serve on another: PORT=\d+ make run",
        lines[0],
    ), lines
    database = make_url(place.database).database
    assert database is not None and not Path(database).exists(), "nothing was migrated"
    assert not (place.instance / "demo-token").exists()


def test_the_port_suggested_is_free(place: Place) -> None:
    port = free_port()
    with running_server(port):
        result = subprocess.run(
            [str(BIN / "python"), "-m", "eventio.cli.port_check", "127.0.0.1", str(port)],
            capture_output=True,
            text=True,
            check=False,
        )
    assert result.returncode == 1 and result.stdout == ""
    suggested = re.search(r"PORT=(\d+) make run$", result.stderr.strip())
    assert suggested is not None, result.stderr
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", int(suggested.group(1))))


def closed_port_url(scheme: str) -> str:
    return f"{scheme}://root@127.0.0.1:{free_port()}/eventio"


def missing_database_url() -> str:
    """A database that does not exist on the suite's PostgreSQL or MySQL server."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith(("postgresql", "mysql", "mariadb")):
        pytest.skip("needs TEST_DATABASE_URL on PostgreSQL or MySQL (a server to ask)")
    parsed = make_url(database_url(url, ""))
    return parsed.set(database=f"eventio_missing_{os.getpid()}").render_as_string(
        hide_password=False
    )


UNUSABLE = {
    "postgresql-down": (lambda: closed_port_url("postgresql"), "cannot reach the database"),
    "mysql-down": (lambda: closed_port_url("mysql"), "cannot reach the database"),
    "sqlite-no-folder": (lambda: "sqlite:////nonexistent/folder/eventio.db", "check the path"),
    "missing-database": (missing_database_url, "does not exist; create it with"),
}


@needs_make
@pytest.mark.parametrize("case", sorted(UNUSABLE))
def test_an_unusable_database_is_one_line_with_the_fix_and_stops_the_run(
    place: Place, case: str
) -> None:
    url, says = UNUSABLE[case]
    place.database = url()
    result = make_run(place, free_port())
    assert result.returncode != 0
    lines = own_lines(result)
    assert len(lines) == 1 and lines[0].startswith("Error: DATABASE_URL="), lines
    assert says in lines[0]
    assert "Traceback" not in result.stderr
    assert not (place.instance / "demo-token").exists()


@contextmanager
def serving(command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[Path]:
    """Run the command (make run, flask run) until its server answers on the port; yields
    the file its output goes to. Ends the process group it started."""
    with log.open("w") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while f"Running on http://127.0.0.1:{port}" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def get(url: str, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10):
            return 200
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def printed_token(output: str) -> str:
    match = TOKEN.search(output)
    assert match is not None, output
    return match.group(1)


def token_rows(place: Place) -> int:
    database = make_url(place.database).database
    assert database is not None
    with sqlite3.connect(database) as connection:
        return int(connection.execute("SELECT count(*) FROM personal_access_tokens").fetchone()[0])


@needs_make
def test_a_second_run_prints_the_kept_token_instead_of_issuing_one(
    place: Place, tmp_path: Path
) -> None:
    assert MAKE is not None
    port = free_port()
    command = [MAKE, "--no-print-directory", "-o", "install", "run", f"BIN={BIN}", f"PORT={port}"]
    with serving(command, place.env, port, tmp_path / "first.log") as log:
        first = log.read_text()
        token = printed_token(first)
        assert get(f"http://127.0.0.1:{port}/api/v2/user", token) == 200
    assert "(new, kept in " in first and "Traceback" not in first
    assert (place.instance / "demo-token").read_text().strip() == token
    assert stat.S_IMODE(place.instance.stat().st_mode) == 0o700
    assert stat.S_IMODE((place.instance / "demo-token").stat().st_mode) == 0o600
    with serving(command, place.env, port, tmp_path / "second.log") as log:
        second = log.read_text()
        assert get(f"http://127.0.0.1:{port}/api/v2/user", token) == 200
    assert printed_token(second) == token and "(kept in " in second
    assert "demo skipped" in second
    assert token_rows(place) == 1


def migrated(place: Place) -> None:
    subprocess.run(
        [str(BIN / "python"), "-m", "eventio.db"],
        env=place.env,
        capture_output=True,
        check=True,
    )


def test_the_dev_servers_log_is_plain_text_one_line_per_request(
    place: Place, tmp_path: Path
) -> None:
    migrated(place)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*FLASK, "run", "--host", "127.0.0.1", "--port", str(port)]
    paths = {"/health/live": 200, "/api/v2/user": 401, "/api/v2/no-such-route": 404}
    with serving(
        command, {**place.env, "LOG_FORMAT": "text"}, port, tmp_path / "server.log"
    ) as log:
        for path, status in paths.items():
            assert get(base + path) == status
        deadline = time.monotonic() + 10
        while log.read_text().count("eventio.access") < len(paths):
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        output = log.read_text()
    assert "\x1b" not in output and "\\u001b" not in output, output
    assert re.search(rf"^\S+ INFO werkzeug: \* Running on {base}$", output, re.MULTILINE), output
    assert re.search(r"^\S+ INFO werkzeug: WARNING: This is a development server", output, re.M)
    for path, status in paths.items():
        lines = [line for line in output.splitlines() if path in line]
        assert len(lines) == 1, output
        assert f"INFO eventio.access: GET {path} {status} " in lines[0]


def test_the_printed_command_to_issue_a_token_runs_as_printed(place: Place) -> None:
    """On a database without the demo user, `make run` prints how to issue a token: pasted
    into a shell where `make run` ran (the virtualenv not activated), it works."""
    migrated(place)
    created = subprocess.run(
        [*FLASK, "users", "create", "Ann", "ann@example.com"],
        env=place.env,
        capture_output=True,
        text=True,
        check=True,
    )
    user_id = re.search(r"\d+", created.stdout)
    assert user_id is not None, created.stdout
    hint = subprocess.run(
        [*FLASK, "demo-token", "--or-hint"],
        cwd=ROOT,
        env=place.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    printed = re.search(r"`([^`]* tokens issue USER_ID --name NAME)`", hint)
    assert printed is not None, hint
    command = printed.group(1).replace("USER_ID", user_id.group()).replace("NAME", "laptop")
    env = {**place.env, "PATH": "/usr/bin:/bin"}  # no virtualenv on PATH
    issued = subprocess.run(
        ["sh", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert issued.returncode == 0, (command, issued.stderr)
    assert re.fullmatch(r"\d+\|\S+\n", issued.stdout), issued.stdout
    assert shlex.split(command)[0] in (".venv/bin/flask", str(BIN / "flask"))


@pytest.mark.parametrize(
    "command", [["demo", "--if-empty"], ["demo-token"], ["tokens", "list"], ["database", "check"]]
)
def test_an_admin_command_on_an_unreachable_database_is_one_line(
    place: Place, command: list[str]
) -> None:
    """What `make run` runs, and the commands it names, run by hand: no traceback."""
    place.database = closed_port_url("postgresql")
    done = subprocess.run(
        [*FLASK, *command], env=place.env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: DATABASE_URL=postgresql://"), lines
    assert "cannot reach the database" in lines[0]
