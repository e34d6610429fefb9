"""gunicorn settings for serving the API production-style (`make serve`).

Every value can be overridden from the environment; docs/deployment.md explains each.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import tempfile
from typing import Any

import gunicorn.glogging
import gunicorn.http.wsgi

bind = os.environ.get("BIND", "127.0.0.1:8000")
# Requests wait on the database, so a few threads per worker keep the cores busy.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Longer than the statement timeout (10 s by default), so the app answers 503 first.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "1000"))
# Behind a load balancer: trust its X-Forwarded-* headers (set FORWARDED_ALLOW_IPS).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "eventio-api"

# Request size. The app answers a target (path and query) over MAX_REQUEST_LINE bytes
# with a 414 in the contract's body (eventio/http/input_guards.py); gunicorn's own line limit sits
# just above it (the method, spaces and `HTTP/1.1` come on top of the target), so the app
# is the one that answers, and a longer line is a plain 400 from gunicorn before the app.
# 8190 is the most gunicorn accepts. Headers: 50 of them at most, each up to 8190 bytes.
_max_request_target = int(os.environ.get("MAX_REQUEST_LINE") or 8000)
limit_request_line = min(_max_request_target + 32, 8190)
limit_request_fields = 50
limit_request_field_size = 8190

# `Server: gunicorn` tells a scanner what to try; gunicorn has no setting for it, and
# builds the header from this module attribute on every response.
gunicorn.http.wsgi.SERVER = "eventio"

# The app writes one JSON line per request itself; gunicorn's own access log, when
# switched on, is JSON too, so both can go to the same collector. gunicorn only puts a `\`
# before a `"` in its fields, so a path or agent holding `\` or a control character would
# break the line: JsonAccessLogger escapes every field as JSON does. In the format, a
# string field stands between quotes; `%(s)s`, `%(B)s` and `%(M)s` are numbers (or null).
# The path, never the query string or the request line (a token pasted in a query).
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG") == "1" else None
access_log_format = (
    '{"time": "%(t)s", "remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", '
    '"status": %(s)s, "bytes": %(B)s, "duration_ms": %(M)s, '
    '"request_id": "%({x-request-id}o)s", "agent": "%(a)s"}'
)


class JsonAtoms(gunicorn.glogging.SafeAtoms):
    """gunicorn's atoms, each written as JSON writes it: a string as the inside of a JSON
    string (quotes, `\\`, control and non-ASCII characters escaped), anything else as a
    JSON value (`null` for a missing byte count)."""

    def __init__(self, atoms: dict[str, Any]) -> None:
        dict.__init__(self)
        for key, value in atoms.items():
            if isinstance(value, str):
                self[key] = json.dumps(value)[1:-1]
            elif value is None or isinstance(value, bool | int | float):
                self[key] = json.dumps(value)
            else:
                self[key] = json.dumps(str(value))[1:-1]


class JsonAccessLogger(gunicorn.glogging.Logger):
    atoms_wrapper_class = JsonAtoms


logger_class = JsonAccessLogger
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# gunicorn 25.1+ opens a control socket for `gunicornc`, by default at one path per user
# (~/.gunicorn/gunicorn.ctl), so a second instance on the host takes over the first's.
# Off unless GUNICORN_CONTROL_SOCKET names this instance's own path. (Older gunicorn
# ignores both settings.)
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]

# Prometheus multiprocess mode: every worker writes its samples to one folder.
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="eventio-metrics-")


def on_starting(server: Any) -> None:
    """Start each run with an empty metrics folder."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the aggregated metrics."""
    try:
        from prometheus_client import multiprocess
    except ImportError:
        return
    multiprocess.mark_process_dead(worker.pid)
