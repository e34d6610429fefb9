"""gunicorn.conf.py as gunicorn reads it: an access line that stays JSON whatever a client
sends, and no control socket shared between instances."""

from __future__ import annotations

import importlib.util
import json
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

ROOT = Path(__file__).resolve().parents[2]


def effective_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> Config:
    """The settings gunicorn takes from gunicorn.conf.py (as its own loader does: every
    module variable that names a setting) under `env`."""
    # Set, so the file does not make a folder and export it to this whole test process.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location(
        "gunicorn_conf_under_test", ROOT / "gunicorn.conf.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = Config()
    for name, value in vars(module).items():
        if name in config.settings:
            config.set(name, value)
    return config


HOSTILE_AGENT = 'agent "quoted" \\ back\\slash\ttab\x01ctl\x7f é'
HOSTILE_PATH = '/api/v2/events\\"},{"forged": "'


def access_line(config: Config, tmp_path: Path) -> str:
    """What the configured logger writes for one crafted request."""
    log_file = tmp_path / "access.log"
    config.set("accesslog", str(log_file))
    logger = config.logger_class(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": HOSTILE_PATH + "?q=%5C",
        "PATH_INFO": HOSTILE_PATH,
        "QUERY_STRING": 'q=\\"\n',
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.7",
        "HTTP_USER_AGENT": HOSTILE_AGENT,
    }
    response = SimpleNamespace(status="200 OK", headers=[("X-Request-ID", 'id\\"')], sent=None)
    request = SimpleNamespace(headers=[("USER-AGENT", HOSTILE_AGENT)])
    try:
        logger.access(response, request, environ, timedelta(milliseconds=12))
    finally:
        for handler in list(logger.access_log.handlers):
            handler.close()
            logger.access_log.removeHandler(handler)
    return log_file.read_text()


def test_every_field_of_an_access_line_is_json_escaped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = effective_config(monkeypatch, tmp_path)
    text = access_line(config, tmp_path)
    assert text.count("\n") == 1, "a control character split the line"
    line = json.loads(text)
    assert line["path"] == HOSTILE_PATH
    assert "forged" not in line
    assert line["agent"] == HOSTILE_AGENT
    assert line["request_id"] == 'id\\"'
    assert line["status"] == 200
    assert line["bytes"] is None
    assert line["duration_ms"] == 12


def test_gunicorns_own_escaping_would_break_that_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Why the logger class is there: the same format, gunicorn's default atoms."""
    config = effective_config(monkeypatch, tmp_path)
    config.set("logger_class", "gunicorn.glogging.Logger")
    assert config.logger_class is Logger
    with pytest.raises(json.JSONDecodeError):
        json.loads(access_line(config, tmp_path))


def test_the_control_socket_is_off_by_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GUNICORN_CONTROL_SOCKET", raising=False)
    config = effective_config(monkeypatch, tmp_path)
    assert config.control_socket_disable is True


def test_a_control_socket_asked_for_is_this_instances_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = str(tmp_path / "instance-a.ctl")
    config = effective_config(monkeypatch, tmp_path, GUNICORN_CONTROL_SOCKET=path)
    assert config.control_socket_disable is False
    assert config.control_socket == path


def test_the_access_log_stays_off_unless_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The app writes its own access line; gunicorn's is an opt-in second one."""
    monkeypatch.delenv("GUNICORN_ACCESS_LOG", raising=False)
    assert effective_config(monkeypatch, tmp_path).accesslog is None
    assert effective_config(monkeypatch, tmp_path, GUNICORN_ACCESS_LOG="1").accesslog == "-"
