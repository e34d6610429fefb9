"""Start the production topology locally: gunicorn on a local socket, nginx in front of it.

`make serve-proxy` runs `python -m deploy.proxy`: gunicorn (gunicorn.conf.py) listens on a
Unix socket under `instance/proxy/`, and nginx, configured from deploy/nginx/eventio.conf,
listens on `HOST:PORT` (127.0.0.1:8000). nginx runs in the foreground as a child of this
process with every file it writes (pid, temporary bodies, access log) under
`instance/proxy/`, so it needs no root-owned path beyond its binary. Ctrl-C stops both.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from eventio.http.input_guards import max_body_bytes

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx" / "eventio.conf"
GUNICORN_CONFIG = ROOT / "gunicorn.conf.py"
PLACEHOLDER = re.compile(r"\{\{ ([A-Z_]+) \}\}")
# What a package install puts outside PATH for a non-root user.
NGINX_FALLBACK = Path("/usr/sbin/nginx")


class TopologyError(RuntimeError):
    """A part of the topology did not start."""


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return str(NGINX_FALLBACK) if NGINX_FALLBACK.exists() else None


def render(values: Mapping[str, str], template: Path = TEMPLATE) -> str:
    """The template with every `{{ NAME }}` filled; a KeyError names any left unfilled."""
    text = template.read_text()
    missing = sorted(set(PLACEHOLDER.findall(text)) - set(values))
    if missing:
        raise KeyError(f"{template.name} needs values for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def user_directive() -> str:
    """nginx started as root would run its workers as `nobody`, who cannot enter a private
    prefix folder; as any other user the directive is ignored, so it is left out."""
    if os.geteuid() != 0:
        return "# not root: the workers run as the user who started nginx"
    return f"user {pwd.getpwuid(os.geteuid()).pw_name};"


def write_nginx_config(
    prefix: Path,
    listen: str,
    upstream: str,
    body_limit: int,
    worker_processes: str = "auto",
) -> Path:
    """Fill the template for one run; `upstream` is `unix:/path` or `host:port`."""
    prefix.mkdir(parents=True, exist_ok=True)
    config = prefix / "nginx.conf"
    config.write_text(
        render(
            {
                "USER_DIRECTIVE": user_directive(),
                "WORKER_PROCESSES": worker_processes,
                "PREFIX": str(prefix),
                "LISTEN": listen,
                "UPSTREAM": upstream,
                "MAX_BODY_BYTES": str(body_limit),
            }
        )
    )
    return config


def nginx_command(config: Path, prefix: Path, *extra: str) -> list[str]:
    binary = nginx_binary()
    if binary is None:
        raise TopologyError("nginx is not installed: run deploy/install-nginx (Debian, as root)")
    # `-e stderr`: the log of startup errors too, before the configuration is read.
    return [binary, "-p", str(prefix), "-e", "stderr", "-c", str(config), *extra]


def check_nginx_config(config: Path, prefix: Path) -> None:
    result = subprocess.run(
        nginx_command(config, prefix, "-t", "-q"), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise TopologyError(f"nginx rejects {config}: {result.stderr.strip()}")


def start_nginx(
    config: Path, prefix: Path, log: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        nginx_command(config, prefix),
        stdout=log,
        stderr=subprocess.STDOUT if log is not None else None,
        start_new_session=True,
    )


def start_gunicorn(
    bind: str, env: Mapping[str, str], log: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """gunicorn (gunicorn.conf.py) serving wsgi:app on `bind` (`unix:/path` or host:port)."""
    gunicorn = Path(sys.executable).parent / "gunicorn"
    return subprocess.Popen(
        [str(gunicorn), "--config", str(GUNICORN_CONFIG), "wsgi:app"],
        cwd=ROOT,
        env={**os.environ, **env, "BIND": bind},
        stdout=log,
        stderr=subprocess.STDOUT if log is not None else None,
        start_new_session=True,
    )


def accepts(address: str) -> bool:
    """Whether `unix:/path` or `host:port` accepts a connection now."""
    if address.startswith("unix:"):
        family, target = socket.AF_UNIX, address.removeprefix("unix:")
        probe = socket.socket(family, socket.SOCK_STREAM)
        connect_to: object = target
    else:
        host, _, port = address.rpartition(":")
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        connect_to = (host, int(port))
    with probe:
        probe.settimeout(0.5)
        try:
            probe.connect(connect_to)  # type: ignore[arg-type]
        except OSError:
            return False
        return True


def wait_until_accepting(
    address: str, process: subprocess.Popen[bytes], name: str, seconds: float = 60
) -> None:
    deadline = time.monotonic() + seconds
    while not accepts(address):
        if process.poll() is not None:
            raise TopologyError(f"{name} exited with status {process.returncode}")
        if time.monotonic() > deadline:
            raise TopologyError(f"{name} does not accept connections on {address}")
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes], seconds: float = 20) -> None:
    """SIGTERM (a graceful stop for gunicorn, a fast one for nginx), then SIGKILL."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def serve() -> int:
    """`make serve-proxy`: both servers until Ctrl-C (or SIGTERM) or until one of them ends."""
    instance = Path(os.environ.get("EVENTIO_INSTANCE_PATH") or ROOT / "instance")
    prefix = (instance / "proxy").resolve()
    prefix.mkdir(parents=True, exist_ok=True)
    gunicorn_socket = prefix / "gunicorn.sock"
    listen = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
    # nginx is the one proxy in front: the app takes the client from its X-Forwarded-For.
    env = {"PROXY_FIX_HOPS": os.environ.get("PROXY_FIX_HOPS", "1")}
    config = write_nginx_config(prefix, listen, f"unix:{gunicorn_socket}", max_body_bytes())
    check_nginx_config(config, prefix)
    gunicorn = start_gunicorn(f"unix:{gunicorn_socket}", env)
    processes = [gunicorn]
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        wait_until_accepting(f"unix:{gunicorn_socket}", gunicorn, "gunicorn")
        processes.append(start_nginx(config, prefix))
        print(
            f"Serving on http://{listen} (nginx, {config}) in front of gunicorn on "
            f"unix:{gunicorn_socket}; nginx access log {prefix / 'access.log'}. Ctrl-C stops.",
            file=sys.stderr,
        )
        while not stopping and all(process.poll() is None for process in processes):
            time.sleep(0.2)
    except TopologyError as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        for process in reversed(processes):
            stop(process)
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(serve())
