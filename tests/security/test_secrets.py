"""Secrets: token and client secrets never reach a log line, a metric, an error body, an
exception's text or a listing; hashes are compared in constant time; a token prefix
lets secret scanners spot leaked tokens. See docs/reliability.md, section `secrets`."""

from __future__ import annotations

import base64
import hmac
import json
import logging
import os
import re
import secrets as secrets_module
import signal
import string
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import psycopg
import pymysql
import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import make_url, text
from sqlalchemy.exc import StatementError
from werkzeug.test import TestResponse

from eventio import create_app
from eventio.auth.guard import utcnow
from eventio.auth.tokens import find_token, generate_secret, hash_secret, lookup
from eventio.cli.demo_world import DEMO_EMAIL
from eventio.db.extensions import db
from eventio.http.errors import ApiError
from eventio.models import OAuthClient, PersonalAccessToken
from eventio.oauth.clients import create_client, rotate_secret
from eventio.oauth.views import OAuthError
from eventio.oauth.views import token as token_view
from eventio.observability.logs import SEPARATE_LOGGERS, StderrHandler
from eventio.observability.redact import REDACTED, RedactingFilter, redact, redact_path
from tests.conftest import ALL_AREAS, bearer
from tests.factories import EventFactory, UserFactory, grant, issue_token
from tests.support.buffered_client import BufferedClient
from tests.support.live_server import live_server
from tests.support.ports import free_port
from tests.support.tcp_proxy import TcpProxy

ROOT = Path(__file__).resolve().parents[2]
OLD_ALPHABET = string.ascii_letters + string.digits
PREFIX = "eventio_"
# The root logger, and the packages of pyproject.toml's dependencies that log.
SERVER_PACKAGES = (
    "",
    "alembic",
    "apispec",
    "eventio",
    "flask",
    "flask_compress",
    "flask_cors",
    "flask_migrate",
    "flask_sqlalchemy",
    "gunicorn",
    "limits",
    "marshmallow",
    "prometheus_client",
    "psycopg",
    "redis",
    "sqlalchemy",
    "webargs",
    "werkzeug",
)


def sibling_app(app: Flask, **config: Any) -> Flask:
    """Another app on the test database, as another process would build it."""
    built = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": app.config["REDIS_URL"],
            **config,
        }
    )
    built.test_client_class = BufferedClient
    return built


def dispose(app: Flask) -> None:
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture(scope="module")
def chatty(app: Flask) -> Iterator[Flask]:
    """Every logger at DEBUG, SQLAlchemy's echo included, and metrics on."""
    root, engine_logger = logging.getLogger(), logging.getLogger("sqlalchemy.engine")
    levels = root.level, engine_logger.level
    chatty = sibling_app(app, LOG_LEVEL="DEBUG", METRICS_ENABLED=True, SQLALCHEMY_ECHO="debug")
    engine_logger.setLevel(logging.DEBUG)
    yield chatty
    root.setLevel(levels[0])
    engine_logger.setLevel(levels[1])
    dispose(chatty)


def old_secret() -> str:
    """A Sanctum 2 or 3 secret: 40 random letters and digits, no prefix nor checksum."""
    return "".join(secrets_module.choice(OLD_ALPHABET) for _ in range(40))


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@dataclass
class Vault:
    """A user who may read everything at one event, tokens of every kind, an OAuth client,
    and every string that must never leak: secrets, their hashes, encoded credentials."""

    event_id: int
    user_id: int
    new: str
    old: str
    limited: str
    pasted: str
    client_id: str
    client_secret: str
    secrets: dict[str, str] = field(default_factory=dict)

    def keep_secret(self, name: str, plain: str) -> None:
        """Watch a token's secret, its hash, and its forms in a header."""
        secret = plain.split("|", 1)[-1]
        self.secrets[name] = secret
        self.secrets[f"{name} hash"] = hash_secret(secret)
        self.secrets[f"{name} percent-encoded"] = quote(plain, safe="")

    def leaks(self, text: str, allowed: tuple[str, ...] = ()) -> list[str]:
        return [
            name
            for name, value in self.secrets.items()
            if value in text and not any(value in a or a in value for a in allowed)
        ]


@pytest.fixture
def vault() -> Vault:
    user = UserFactory()
    event = EventFactory()
    grant(user.id, event.id, dict.fromkeys(ALL_AREAS, "read"))
    client = create_client(db.session, user.id, "partner", ["*"], utcnow())
    vault = Vault(
        event_id=event.id,
        user_id=user.id,
        new=issue_token(user.id, secret=generate_secret(PREFIX)),
        old=issue_token(user.id, secret=old_secret()),
        limited=issue_token(user.id, []),
        pasted=issue_token(user.id),
        client_id=client.client_id,
        client_secret=client.secret,
    )
    for name in ("new", "old", "limited", "pasted"):
        vault.keep_secret(name, getattr(vault, name))
    vault.secrets["client secret"] = client.secret
    vault.secrets["client secret hash"] = hash_secret(client.secret)
    vault.secrets["client secret url-encoded"] = quote(client.secret, safe="")
    vault.secrets["basic credentials"] = basic(client.client_id, client.secret)["Authorization"][6:]
    return vault


def json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


# Logs, metrics and error bodies, with every logger at DEBUG


@dataclass
class Call:
    method: str
    url: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    data: dict[str, str] | None = None
    # What the caller itself put in the URL: a 404 names the route, a 422 the bad value.
    in_url: tuple[str, ...] = ()


def calls(vault: Vault) -> list[Call]:
    event = vault.event_id
    pasted = vault.pasted
    oauth = {"grant_type": "client_credentials"}
    form = {**oauth, "client_id": vault.client_id, "client_secret": vault.client_secret}
    wrong_form = {**form, "client_secret": vault.client_secret[::-1]}
    wrong_new = f"{vault.new.split('|')[0]}|{vault.new.split('|')[1][::-1]}"
    vault.secrets["wrong secret"] = wrong_new.split("|")[1]
    return [
        Call("GET", "/api/v2/user", 200, bearer(vault.new)),
        Call("GET", f"/api/v2/event/{event}/bookings?include=tickets", 200, bearer(vault.new)),
        Call("GET", f"/api/v2/event/{event}/stats", 200, bearer(vault.old)),
        # Sanctum's legacy form: no `|`, looked up by the hash of the whole string.
        Call("GET", "/api/v2/user", 200, bearer(vault.new.split("|")[1])),
        Call("GET", "/api/v2/user", 401, bearer(wrong_new)),
        Call("GET", "/api/v2/user", 401, {"Authorization": f"Token {vault.old}"}),
        Call("GET", f"/api/v2/event/{event}/bookings", 403, bearer(vault.limited)),
        Call("GET", f"/api/v2/event/{event}/bookings?per_page=x", 422, bearer(vault.new)),
        Call("GET", f"/api/v2/event/{event}/bookings?sort=nope", 422, bearer(vault.new)),
        # A token pasted into the query or the path: never read, never logged.
        Call("GET", f"/api/v2/user?token={quote(pasted)}&api_token={pasted}", 401),
        Call("GET", f"/api/v2/user?page=1&api_token={quote(pasted)}", 200, bearer(vault.new)),
        Call("GET", f"/api/v2/{pasted}", 404, bearer(vault.new), in_url=(pasted,)),
        Call(
            "GET",
            f"/api/v2/event/{event}/bookings?sort={pasted}",
            422,
            bearer(vault.new),
            in_url=(pasted,),
        ),
        Call("POST", "/oauth/token", 200, data=form),
        Call("POST", "/oauth/token", 200, basic(vault.client_id, vault.client_secret), oauth),
        Call("POST", "/oauth/token", 401, data=wrong_form),
        Call(
            "POST",
            "/oauth/token",
            401,
            basic(vault.client_id, "wrong" + vault.client_secret),
            oauth,
        ),
        Call("POST", f"/oauth/token?client_secret={vault.client_secret}", 400, data=oauth),
        Call("POST", "/oauth/token", 400, data={**form, "grant_type": "password"}),
    ]


def send(client: FlaskClient, call: Call) -> TestResponse:
    return client.open(call.url, method=call.method, headers=call.headers, data=call.data)


def test_no_secret_reaches_a_log_line_a_metric_or_an_error_body(
    chatty: Flask, vault: Vault, capsys: pytest.CaptureFixture[str]
) -> None:
    client = chatty.test_client()
    capsys.readouterr()
    sent = calls(vault)
    for call in sent:
        response = send(client, call)
        assert response.status_code == call.status, (call, response.get_data(as_text=True))
        body = response.get_data(as_text=True)
        if response.status_code == 200 and call.url.startswith("/oauth/token"):
            issued = response.get_json()["access_token"]
            assert issued.split("|")[1].startswith(chatty.config["TOKEN_PREFIX"])
            vault.keep_secret(f"issued by {call.headers or 'form'}", issued)
            sent.append(Call("GET", "/api/v2/user", 200, bearer(issued)))
            continue
        if response.status_code >= 400:
            assert vault.leaks(body, call.in_url) == [], (call, body)
            assert "Authorization" not in body and "Bearer" not in body
    metrics = client.get("/metrics").get_data(as_text=True)
    out, err = capsys.readouterr()

    lines = json_lines(err)
    access = [line for line in lines if line["logger"] == "eventio.access"]
    assert len(access) == len(sent) + 1, "one access line per request, /metrics included"
    assert any(line["logger"].startswith("sqlalchemy.engine") for line in lines), "echo is on"
    assert any(line["level"] == "DEBUG" for line in lines)
    assert vault.leaks(out + err) == []
    assert vault.leaks(metrics) == []
    for word in ("Authorization", "Bearer", "Basic ", "client_secret="):
        assert word not in err, word
    # The access line has the path, never the query; a token pasted in the path is cut.
    paths = {line["path"] for line in access}
    assert "/api/v2/user" in paths and not any("?" in path for path in paths)
    assert f"/api/v2/{vault.pasted.split('|')[0]}|{REDACTED}" in paths
    # Metrics are labelled by url rule: no path of a request, no query.
    for endpoint in re.findall(r'endpoint="([^"]*)"', metrics):
        assert endpoint == "unmatched" or (
            endpoint.startswith("/") and "|" not in endpoint and "?" not in endpoint
        ), endpoint
    assert 'endpoint="unmatched",status="404"' in metrics


def test_no_handler_but_ours_writes_a_record(chatty: Flask) -> None:
    """What the test above reads is all there is: every record of every logger reaches
    the console through our redacting handler only. SQLAlchemy's `echo` and werkzeug
    bring console handlers of their own (to a stream captured elsewhere), dropped at setup.
    gunicorn's loggers do not propagate; they redact with a filter (tested below)."""
    with chatty.app_context():
        assert db.engine.echo == "debug", "SQLAlchemy's echo is on"
    names = ["", *logging.root.manager.loggerDict]
    offenders = {}
    for name in names:
        if name.split(".")[0].replace("-", "_") not in SERVER_PACKAGES:
            continue  # a test's own client library (dlt, hypothesis…), not the server
        logger = logging.getLogger(name)
        if name in SEPARATE_LOGGERS:
            assert any(isinstance(f, RedactingFilter) for f in logger.filters), name
            continue
        handlers: list[logging.Handler] = []
        current: logging.Logger | None = logger
        while current is not None:
            handlers += current.handlers
            current = current.parent if current.propagate else None
        foreign = [
            h
            for h in handlers
            if not isinstance(h, StderrHandler | logging.NullHandler)
            and not type(h).__module__.startswith("_pytest")
        ]
        if foreign:
            offenders[name or "root"] = foreign
    assert offenders == {}
    assert sum(isinstance(h, StderrHandler) for h in logging.getLogger().handlers) == 1


def test_the_dev_servers_request_lines_hide_secrets_in_the_query(
    chatty: Flask, vault: Vault, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make run` serves with werkzeug, whose own request line held the query string: it
    is silenced, and the request's one line is the access line (the path, no query)."""
    pasted = vault.pasted
    paths = (
        f"/api/v2/user?token={quote(pasted, safe='')}&page=2",
        f"/api/v2/user?API_TOKEN={pasted}&access_token={vault.client_secret}",
        f"/api/v2/{pasted}",
    )
    with live_server(chatty) as base:
        capsys.readouterr()
        for path in paths:
            request = urllib.request.Request(base + path, headers=bearer(vault.new))
            try:
                urllib.request.urlopen(request, timeout=5).close()
            except urllib.error.HTTPError as error:
                error.close()
        # The access line is logged once the body is sent: wait for the third.
        deadline = time.monotonic() + 5
        err = ""
        while err.count('"logger":"eventio.access"') < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
            err += capsys.readouterr().err
    lines = json_lines(err)
    assert [line["message"] for line in lines if line["logger"] == "werkzeug"] == []
    access = [line["path"] for line in lines if line["logger"] == "eventio.access"]
    # In whatever order the server's threads finished them.
    assert access.count("/api/v2/user") == 2 and len(access) == 3, err
    assert REDACTED in max(access, key=len), err
    assert vault.leaks(err) == []


def test_gunicorns_access_and_error_lines_hide_secrets(
    chatty: Flask,
    vault: Vault,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """gunicorn's loggers do not propagate to ours; its format, from gunicorn.conf.py,
    is rendered by gunicorn itself for a request that carries secrets everywhere."""
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    settings: dict[str, Any] = {}
    # Reading the file sets PROMETHEUS_MULTIPROC_DIR when unset: not for this process.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    exec((ROOT / "gunicorn.conf.py").read_text(), settings)
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", settings["access_log_format"])
    assert "%(U)s" in settings["access_log_format"], "the path, not the request line"
    for atom in ("%(r)s", "%(q)s", "%({authorization}i)s", "%({cookie}i)s"):
        assert atom not in settings["access_log_format"]
    capsys.readouterr()
    logger = Logger(config)
    pasted = vault.pasted
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/api/v2/{pasted}?token={pasted}",
        "PATH_INFO": f"/api/v2/{pasted}",
        "QUERY_STRING": f"token={pasted}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {vault.new}",
    }
    request = SimpleNamespace(headers=[("AUTHORIZATION", f"Bearer {vault.new}")])
    response = SimpleNamespace(status="404 NOT FOUND", headers=[("X-Request-ID", "r1")], sent=10)
    try:
        logger.access(response, request, environ, timedelta(milliseconds=3))
        # What gunicorn logs when the app raises (workers/base.py): the raw URI, query too.
        logger.exception("Error handling request %s %s", "GET", environ["RAW_URI"])
        logger.error("bad header %s", f"Authorization: Basic {vault.secrets['basic credentials']}")
    finally:
        for own in (logger.error_log, logger.access_log):
            for handler in list(own.handlers):
                own.removeHandler(handler)
    out, err = capsys.readouterr()
    assert '"path": "/api/v2/' in out and REDACTED in out
    assert "Error handling request GET /api/v2/" in err
    assert vault.leaks(out + err) == []


def test_a_gunicorn_served_api_logs_no_secret(app: Flask, vault: Vault, tmp_path: Path) -> None:
    """The real thing: gunicorn with gunicorn.conf.py, its access log on, everything at
    DEBUG; requests carry secrets in the header, the query, the path and the form."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"] or "",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        "GUNICORN_ACCESS_LOG": "1",
        "GUNICORN_LOG_LEVEL": "debug",
        "LOG_LEVEL": "DEBUG",
        "METRICS_ENABLED": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    (tmp_path / "metrics").mkdir()
    stdout, stderr = tmp_path / "out.log", tmp_path / "err.log"
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    with stdout.open("w") as out, stderr.open("w") as err:
        server = subprocess.Popen(
            [gunicorn, "--config", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_live(base, server)
        for call in calls(vault):
            status = http(base, call)
            assert status == call.status, (call, status)
        assert http(base, Call("GET", "/metrics", 200)) == 200
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
    output = stdout.read_text() + stderr.read_text()
    assert '"agent"' in stdout.read_text(), "gunicorn's access log is on"
    assert '"logger":"eventio.access"' in output
    assert "[DEBUG]" in output, "gunicorn logs at debug"
    assert vault.leaks(output) == []


def wait_until_live(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "gunicorn exited"
        try:
            urllib.request.urlopen(base + "/health/live", timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("gunicorn did not answer within 30 s")


def http(base: str, call: Call) -> int:
    data = None
    headers = dict(call.headers)
    if call.data is not None:
        data = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in call.data.items()).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(base + call.url, data, headers, method=call.method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.close()
        return int(error.code)


def test_rate_limited_answers_hold_no_secret(
    app: Flask, vault: Vault, capsys: pytest.CaptureFixture[str]
) -> None:
    limited = sibling_app(app, RATE_LIMIT="2 per minute", LOG_LEVEL="DEBUG")
    limited.extensions["eventio.ratelimit"].reset()
    client = limited.test_client()
    try:
        capsys.readouterr()
        statuses = [client.get("/api/v2/user", headers=bearer(vault.new)) for _ in range(3)]
        guesses = [client.get("/api/v2/user", headers=bearer(vault.pasted + "x")) for _ in range(3)]
        oauth = {"grant_type": "client_credentials", "client_id": vault.client_id}
        forms = [
            client.post("/oauth/token", data={**oauth, "client_secret": vault.client_secret})
            for _ in range(3)
        ]
        _, err = capsys.readouterr()
    finally:
        limited.extensions["eventio.ratelimit"].reset()
        dispose(limited)
    for response in (statuses[-1], guesses[-1], forms[-1]):
        assert response.status_code == 429
        assert response.get_json() == {"message": "Too Many Attempts."}
    assert vault.leaks(err) == []


# A database outage while authenticating


def check_outage_answers(
    client: FlaskClient, vault: Vault, oauth_set_up: bool = True
) -> list[TestResponse]:
    oauth = {"grant_type": "client_credentials"}
    form = {**oauth, "client_id": vault.client_id, "client_secret": vault.client_secret}
    answers = [
        client.get("/api/v2/user", headers=bearer(vault.new)),
        client.get(f"/api/v2/event/{vault.event_id}/bookings", headers=bearer(vault.old)),
        # No `|`: the statement's parameter is the hash of the secret.
        client.get("/api/v2/user", headers=bearer(vault.new.split("|")[1])),
        client.post("/oauth/token", data=form),
        client.post(
            "/oauth/token", headers=basic(vault.client_id, vault.client_secret), data=oauth
        ),
    ]
    for number, response in enumerate(answers):
        body = response.get_data(as_text=True)
        assert response.status_code == 503, body
        # Without an `oauth_clients` table, OAuth says what to set up (RFC 6749's fields too).
        not_set_up = number >= 3 and not oauth_set_up
        keys = {"message", "errors", "error", "error_description"} if not_set_up else {"message"}
        assert set(response.get_json()) == keys
        assert vault.leaks(body) == [], body
    return answers


def test_a_database_error_while_authenticating_answers_503_and_logs_no_secret(
    vault: Vault, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database without the tables: every lookup statement fails, on SQLite with an
    OperationalError that names the statement; its parameters stay hidden."""
    broken = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
            "RATE_LIMIT_ENABLED": False,
            "LOG_LEVEL": "DEBUG",
        }
    )
    try:
        capsys.readouterr()
        check_outage_answers(broken.test_client(), vault, oauth_set_up=False)
        out, err = capsys.readouterr()
    finally:
        dispose(broken)
    warnings = [line for line in json_lines(err) if line["logger"] == "eventio.errors"]
    assert len(warnings) == 3
    assert all(
        "[SQL parameters hidden due to hide_parameters=True]" in w["message"] for w in warnings
    )
    assert vault.leaks(out + err) == []


@pytest.fixture
def postgres_through_proxy(app: Flask) -> Iterator[tuple[Flask, TcpProxy, dict[str, Any]]]:
    """PostgreSQL only: an app whose connections go through a proxy a test can cut."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "postgresql":
        pytest.skip("needs TEST_DATABASE_URL on PostgreSQL")
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    through = url.set(drivername="postgresql+psycopg", host="127.0.0.1", port=proxy.port)
    proxied = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": through.render_as_string(hide_password=False),
            "RATE_LIMIT_ENABLED": False,
            "LOG_LEVEL": "DEBUG",
            "STATEMENT_TIMEOUT_MS": 300,
        }
    )
    direct = {
        "host": url.host,
        "port": url.port or 5432,
        "user": url.username,
        "dbname": url.database,
    }
    if url.password:
        direct["password"] = url.password
    yield proxied, proxy, direct
    proxy.cut()
    dispose(proxied)


@contextmanager
def locked(direct: dict[str, Any]) -> Iterator[None]:
    """The token and client tables locked by another connection: lookups wait on them."""
    db.session.rollback()  # our own open transaction would hold the lock off forever
    with psycopg.connect(**direct) as locker:
        locker.execute("SET lock_timeout = '5s'")
        locker.execute("LOCK TABLE personal_access_tokens, oauth_clients IN ACCESS EXCLUSIVE MODE")
        yield
        locker.rollback()


def test_postgresql_cut_mid_request_while_authenticating_leaks_no_secret(
    postgres_through_proxy: tuple[Flask, TcpProxy, dict[str, Any]],
    vault: Vault,
    capsys: pytest.CaptureFixture[str],
) -> None:
    proxied, proxy, direct = postgres_through_proxy
    client = proxied.test_client()
    assert client.get("/api/v2/user", headers=bearer(vault.new)).status_code == 200
    capsys.readouterr()
    # Cut while the lookups wait on a lock, then with the database gone altogether.
    with locked(direct):
        cutter = threading.Timer(0.1, proxy.cut)
        started = time.monotonic()
        cutter.start()
        first = client.get("/api/v2/user", headers=bearer(vault.new.split("|")[1]))
        waited = time.monotonic() - started
        cutter.join()
    assert first.status_code == 503 and waited >= 0.1, "cut while the lookup waited"
    check_outage_answers(client, vault)
    out, err = capsys.readouterr()
    warnings = [line for line in json_lines(err) if line["logger"] == "eventio.errors"]
    assert len(warnings) == 6
    assert vault.leaks(out + err) == []


def test_a_statement_timeout_while_authenticating_leaks_no_secret(
    postgres_through_proxy: tuple[Flask, TcpProxy, dict[str, Any]],
    vault: Vault,
    capsys: pytest.CaptureFixture[str],
) -> None:
    proxied, _, direct = postgres_through_proxy
    client = proxied.test_client()
    capsys.readouterr()
    with locked(direct):
        answers = check_outage_answers(client, vault)
    out, err = capsys.readouterr()
    assert all("longer than the database allows" in a.get_json()["message"] for a in answers[:3])
    assert vault.leaks(out + err) == []


@pytest.fixture
def mysql_limited(app: Flask) -> Iterator[tuple[Flask, dict[str, Any]]]:
    """MySQL only: an app on the test database whose statements may take 300 ms."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "mysql":
        pytest.skip("needs TEST_DATABASE_URL on MySQL")
    limited = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url.render_as_string(hide_password=False),
            "RATE_LIMIT_ENABLED": False,
            "LOG_LEVEL": "DEBUG",
            "STATEMENT_TIMEOUT_MS": 300,
        }
    )
    direct = {
        "host": url.host,
        "port": url.port or 3306,
        "user": url.username,
        "password": url.password or "",
        "database": url.database,
    }
    yield limited, direct
    dispose(limited)


def test_a_mysql_statement_limit_while_authenticating_leaks_no_secret(
    mysql_limited: tuple[Flask, dict[str, Any]],
    vault: Vault,
    capsys: pytest.CaptureFixture[str],
) -> None:
    limited, direct = mysql_limited
    client = limited.test_client()
    capsys.readouterr()
    db.session.rollback()  # our own open transaction would hold the lock off
    with pymysql.connect(**direct) as locker, locker.cursor() as cursor:
        cursor.execute("SET SESSION lock_wait_timeout = 5")
        cursor.execute("LOCK TABLES personal_access_tokens WRITE, oauth_clients WRITE")
        try:
            answers = check_outage_answers(client, vault)
        finally:
            cursor.execute("UNLOCK TABLES")
    out, err = capsys.readouterr()
    assert all("longer than the database allows" in a.get_json()["message"] for a in answers)
    assert vault.leaks(out + err) == []


def test_the_engine_hides_bound_parameters_from_errors_and_logs(app: Flask) -> None:
    secret = generate_secret(PREFIX)
    for engine in db.engines.values():
        assert engine.hide_parameters is True
    with pytest.raises(StatementError) as caught:
        db.session.execute(
            text("SELECT * FROM no_such_table WHERE token = :secret"), {"secret": secret}
        )
    db.session.rollback()
    assert secret not in str(caught.value) and secret not in repr(caught.value)
    assert "SQL parameters hidden" in str(caught.value)


# Exceptions' and objects' text


def test_no_secret_in_the_text_of_tokens_clients_and_their_errors(app: Flask, vault: Vault) -> None:
    new_secret = vault.new.split("|")[1]
    texts = {
        "the caller": repr(find_token(db.session, vault.new, utcnow())),
        "a token row": repr(db.session.get(PersonalAccessToken, int(vault.new.split("|")[0]))),
        "a client row": repr(db.session.query(OAuthClient).one()),
        "a 401": repr(ApiError.unauthenticated()) + str(ApiError.unauthenticated()),
    }
    oauth = {"grant_type": "client_credentials", "client_id": vault.client_id}
    for form in ({**oauth, "client_secret": vault.client_secret[::-1]}, oauth):
        with (
            app.test_request_context("/oauth/token", method="POST", data=form),
            pytest.raises(OAuthError) as failed,
        ):
            token_view()
        texts[f"a failed token call {len(form)}"] = (
            f"{failed.value!s} {failed.value!r} {failed.value.args!r} {vars(failed.value)!r}"
        )
    vault.secrets["wrong client secret"] = vault.client_secret[::-1]
    leaks = {name: vault.leaks(value) for name, value in texts.items()}
    assert leaks == {name: [] for name in texts}
    assert new_secret not in repr(lookup(vault.new)), (
        "TokenLookup's repr shows the plain secret: declare it field(repr=False)"
    )


def test_a_new_client_secret_is_not_in_its_holders_repr(app: Flask, vault: Vault) -> None:
    created = create_client(db.session, vault.user_id, "other", ["*"], utcnow())
    rotated = rotate_secret(db.session, created.client_id, timedelta(hours=1), utcnow())
    for holder, secret in ((created, created.secret), (rotated, rotated.secret)):
        assert secret not in repr(holder), (
            "NewSecret's repr shows the client secret: declare it field(repr=False)"
        )


# The command line


Run = Callable[..., Result]


@pytest.fixture
def run(app: Flask) -> Run:
    runner = app.test_cli_runner()

    def invoke(*args: object) -> Result:
        result = runner.invoke(args=[str(arg) for arg in args])
        # Each command is a process of its own: its session (and, on MySQL, its REPEATABLE
        # READ snapshot) ends with it, not with the test's app context.
        db.session.remove()
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code == 0, result.output
        return result

    return invoke


def test_the_cli_shows_a_new_secret_once_and_never_lists_secrets_or_hashes(
    run: Run, vault: Vault, client: FlaskClient
) -> None:
    issued = run("tokens", "issue", vault.user_id, "--name", "reporting")
    plain = issued.stdout.strip()
    assert issued.output.count(plain.split("|")[1]) == 1
    vault.keep_secret("cli token", plain)

    created = run("oauth", "create", vault.user_id, "--name", "warehouse").stdout
    client_id = re.search(r"client_id:\s+(\S+)", created)[1]  # type: ignore[index]
    first = re.search(r"client_secret:\s+(\S+)", created)[1]  # type: ignore[index]
    assert created.count(first) == 1
    rotated = run("oauth", "rotate", client_id).stdout
    second = re.search(r"client_secret:\s+(\S+)", rotated)[1]  # type: ignore[index]
    assert rotated.count(second) == 1 and first not in rotated
    for name, secret in (("first", first), ("second", second)):
        vault.secrets[f"cli client {name}"] = secret
        vault.secrets[f"cli client {name} hash"] = hash_secret(secret)
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": first}
    response = client.post("/oauth/token", data=form)
    assert response.status_code == 200, "the previous secret works in its grace period"
    vault.keep_secret("cli client's token", response.get_json()["access_token"])

    results = {
        "tokens list": run("tokens", "list"),
        "tokens list --user": run("tokens", "list", "--user", vault.user_id),
        "oauth list": run("oauth", "list"),
        "oauth revoke": run("oauth", "revoke", client_id),
    }
    assert results["tokens list"].stdout.count("\n") == 6, "every token is listed"
    assert client_id in results["oauth list"].stdout
    leaks = {name: vault.leaks(result.output) for name, result in results.items()}
    assert leaks == {name: [] for name in results}


# Constant-time comparison


class CompareSpy:
    """Stands in for `hmac.compare_digest` (and `secrets.compare_digest`), recording calls."""

    def __init__(self, real: Callable[[Any, Any], bool]) -> None:
        self.real = real
        self.calls: list[tuple[str, str, bool]] = []

    def __call__(self, a: Any, b: Any) -> bool:
        result = self.real(a, b)
        as_text = [x.decode() if isinstance(x, bytes) else str(x) for x in (a, b)]
        self.calls.append((as_text[0], as_text[1], result))
        return result

    def compared(self, one: str, other: str) -> list[bool]:
        """The results of the calls that compared exactly these two values."""
        return [r for a, b, r in self.calls if {a, b} == {one, other} or (a == b == one == other)]


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> CompareSpy:
    spy = CompareSpy(hmac.compare_digest)
    monkeypatch.setattr(hmac, "compare_digest", spy)
    monkeypatch.setattr(secrets_module, "compare_digest", spy)
    return spy


def test_token_hashes_are_compared_in_constant_time(
    client: FlaskClient, vault: Vault, spy: CompareSpy
) -> None:
    for plain in (vault.new, vault.old, vault.new.split("|")[1]):
        secret = plain.split("|")[-1]
        stored = hash_secret(secret)
        spy.calls.clear()
        assert client.get("/api/v2/user", headers=bearer(plain)).status_code == 200
        assert spy.compared(stored, stored) == [True], (plain, spy.calls)
        wrong = secret[:-1] + ("x" if secret[-1] != "x" else "y")
        token_id = plain.split("|")[0] if "|" in plain else None
        if token_id is None:
            continue  # a wrong pipe-less secret finds no row: nothing to compare
        spy.calls.clear()
        assert client.get("/api/v2/user", headers=bearer(f"{token_id}|{wrong}")).status_code == 401
        assert spy.compared(stored, hash_secret(wrong)) == [False], (plain, spy.calls)


def test_client_secret_hashes_are_compared_in_constant_time(
    client: FlaskClient, vault: Vault, spy: CompareSpy
) -> None:
    def token_call(secret: str) -> int:
        form = {
            "grant_type": "client_credentials",
            "client_id": vault.client_id,
            "client_secret": secret,
        }
        return client.post("/oauth/token", data=form).status_code

    stored = hash_secret(vault.client_secret)
    assert token_call(vault.client_secret) == 200
    assert spy.compared(stored, stored) == [True], spy.calls
    spy.calls.clear()
    assert token_call(vault.client_secret + "x") == 401
    assert spy.compared(stored, hash_secret(vault.client_secret + "x")) == [False], spy.calls

    rotated = rotate_secret(db.session, vault.client_id, timedelta(hours=1), utcnow())
    spy.calls.clear()
    assert token_call(vault.client_secret) == 200, "the previous secret, in its grace period"
    assert spy.compared(hash_secret(rotated.secret), stored) == [False]
    assert spy.compared(stored, stored) == [True], spy.calls


def test_the_metrics_token_is_compared_in_constant_time(app: Flask, spy: CompareSpy) -> None:
    metrics_token = secrets_module.token_urlsafe(24)
    scraped = sibling_app(app, METRICS_TOKEN=metrics_token)
    try:
        client = scraped.test_client()
        assert client.get("/metrics", headers=bearer(metrics_token)).status_code == 200
        assert spy.compared(metrics_token, metrics_token) == [True]
        wrong = client.get("/metrics", headers=bearer(metrics_token + "x"))
        assert wrong.status_code == 401 and metrics_token not in wrong.get_data(as_text=True)
        assert spy.compared(metrics_token + "x", metrics_token) == [False]
    finally:
        dispose(scraped)


# A token prefix for secret scanners


def documented_scanner_regex(prefix: str) -> re.Pattern[str]:
    """The ```regex block of docs/authentication.md, `<TOKEN_PREFIX>` filled in."""
    doc = (ROOT / "docs" / "authentication.md").read_text()
    block = re.search(r"```regex\n(.+?)\n```", doc, re.DOTALL)
    assert block is not None, (
        "docs/authentication.md documents no secret-scanner pattern: add a ```regex block, "
        r"e.g. \b[0-9]{1,18}\|<TOKEN_PREFIX>[A-Za-z0-9]{40}[0-9a-f]{8}\b"
    )
    return re.compile(block[1].strip().replace("<TOKEN_PREFIX>", re.escape(prefix)))


def checksum_holds(secret: str, prefix: str) -> bool:
    entropy, checksum = secret[len(prefix) : -8], secret[-8:]
    return len(entropy) == 40 and f"{zlib.crc32(entropy.encode()):08x}" == checksum


def test_tokens_carry_the_configured_prefix_and_authenticate(
    app: Flask, run: Run, client: FlaskClient, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "TOKEN_PREFIX", PREFIX)
    UserFactory(email=DEMO_EMAIL)
    from_cli = run("tokens", "issue", vault.user_id, "--name", "scanner").stdout.strip()
    demo = re.search(r"^\s+(\d+\|\S+)$", run("demo-token").stdout, re.MULTILINE)[1]  # type: ignore[index]
    form = {
        "grant_type": "client_credentials",
        "client_id": vault.client_id,
        "client_secret": vault.client_secret,
    }
    from_oauth = client.post("/oauth/token", data=form).get_json()["access_token"]
    for plain in (from_cli, demo, from_oauth):
        secret = plain.split("|", 1)[1]
        assert secret.startswith(PREFIX) and checksum_holds(secret, PREFIX), plain
        assert client.get("/api/v2/user", headers=bearer(plain)).status_code == 200
    # The prefix is part of the secret, not a setting verification reads.
    monkeypatch.setitem(app.config, "TOKEN_PREFIX", "")
    assert client.get("/api/v2/user", headers=bearer(from_cli)).status_code == 200
    assert client.get("/api/v2/user", headers=bearer(vault.old)).status_code == 200


def test_the_documented_scanner_pattern_matches_a_fresh_token(
    app: Flask, run: Run, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "TOKEN_PREFIX", PREFIX)
    plain = run("tokens", "issue", vault.user_id, "--name", "scanner").stdout.strip()
    pattern = documented_scanner_regex(PREFIX)
    assert pattern.fullmatch(plain), (pattern.pattern, plain)
    found = pattern.findall(f"curl -H 'Authorization: Bearer {plain}' https://example.org")
    assert found and plain.split("|")[1] in "".join(found)
    assert not pattern.search(vault.old), "an unprefixed token is not this deployment's"


# The redaction rules themselves


@pytest.mark.parametrize(
    ("logged", "kept"),
    [
        ('"GET /api/v2/user?token=12|abc&page=2 HTTP/1.1" 401', "?token=[REDACTED]&page=2 "),
        ("GET /x?API_TOKEN=abc;access_token=def", "?API_TOKEN=[REDACTED];access_token=[REDACTED]"),
        ("client_id=abc&client_secret=s3cr%2Ft", "client_id=abc&client_secret=[REDACTED]"),
        ("Authorization: Bearer 12|abc, basic dXNlcjpwYXNz", "Bearer [REDACTED], basic [REDACTED]"),
        ("GET /api/v2/7%7Cabc HTTP/1.1", "/api/v2/7%7C[REDACTED] "),
        ("Row (1, '" + "ab" * 32 + "', 2)", "Row (1, '[REDACTED]', 2)"),
        ("last_used_at not written for token 5: timeout", "for token 5: timeout"),
        ("WHERE personal_access_tokens.token = ? AND x_token=3", "token = ? AND x_token=3"),
    ],
)
def test_the_redaction_rules(logged: str, kept: str) -> None:
    assert kept in redact(logged)


def test_a_path_keeps_its_route_and_loses_what_follows_a_bar() -> None:
    assert redact_path("/api/v2/event/1/bookings") == "/api/v2/event/1/bookings"
    assert redact_path("/api/v2/12|abc/x") == f"/api/v2/12|{REDACTED}/x"
