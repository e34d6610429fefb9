"""`python -m eventio.cli.port_check HOST PORT`: `make run`'s first step.

Whether the development server will be able to listen on HOST:PORT, checked before
anything is migrated, loaded or issued: a port already taken is one line naming a free
one (`PORT=9000 make run`) and exit 1, never a traceback after the token was printed."""

from __future__ import annotations

import errno
import socket
import sys

import click

FIRST_SUGGESTION = 9000
SUGGESTIONS = 100


def bind_problem(host: str, port: int) -> str | None:
    """Why a server could not listen on host:port (as Werkzeug's would: SO_REUSEADDR), or None."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror:
        return f"HOST={host} is not a name or address of this machine; try HOST=127.0.0.1"
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            return reason(host, port, error)
    return None


def reason(host: str, port: int, error: OSError) -> str:
    where = f"{host}:{port}"
    if error.errno == errno.EADDRINUSE:
        return f"{where} is already in use (another `make run`, or another server?)"
    if error.errno == errno.EACCES:
        return f"{where} needs root to listen on (ports below 1024 do)"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"HOST={host} is not an address of this machine; try HOST=127.0.0.1"
    return f"cannot listen on {where} ({error.strerror or error})"


def free_port(host: str, start: int = FIRST_SUGGESTION) -> int:
    """The first port from `start` that host can listen on (`start` when none is)."""
    for port in range(start, start + SUGGESTIONS):
        if bind_problem(host, port) is None:
            return port
    return start


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].isdigit():
        click.echo("usage: python -m eventio.cli.port_check HOST PORT", err=True)
        return 2
    host, port = argv[0], int(argv[1])
    problem = bind_problem(host, port)
    if problem is None:
        return 0
    if not problem.startswith("HOST="):
        problem += f"; serve on another: PORT={free_port(host)} make run"
    click.echo(f"Error: {problem}", err=True)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
