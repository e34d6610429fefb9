"""The development server's log (`make run`): one line per request, ours, and Werkzeug's
own lines as plain text.

Werkzeug logs each request after answering it, coloured with terminal escape codes; our
access line (eventio.observability.middleware) has logged it already, with more. Only
Werkzeug's development server uses its request handler: gunicorn is not concerned."""

from __future__ import annotations

import logging
import re
from typing import Any

from werkzeug.serving import WSGIRequestHandler

WERKZEUG_LOGGER = "werkzeug"
# SGR sequences (colour, bold, reset): all that Werkzeug's log lines carry.
ANSI_STYLE = re.compile(r"\x1b\[[0-9;]*m")


class PlainWerkzeugLines(logging.Filter):
    """On the `werkzeug` logger: no colour codes, and each line of a message (the startup
    banner's warning, then `Running on http://…`) a record of its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = ANSI_STYLE.sub("", record.getMessage())
        lines = [line.strip() for line in message.splitlines() if line.strip()] or [""]
        logger = logging.getLogger(record.name)
        for line in lines[:-1]:
            logger.handle(logging.makeLogRecord({**record.__dict__, "msg": line, "args": None}))
        record.msg, record.args = lines[-1], None
        return True


def plain_werkzeug_lines() -> None:
    """Install the filter once (configure_logging may run again)."""
    logger = logging.getLogger(WERKZEUG_LOGGER)
    if not any(isinstance(f, PlainWerkzeugLines) for f in logger.filters):
        logger.addFilter(PlainWerkzeugLines())


def no_request_line(self: WSGIRequestHandler, code: Any = "-", size: Any = "-") -> None:
    """The access log has the request; Werkzeug's errors (`log_error`) are still logged."""


def quiet_request_lines() -> None:
    WSGIRequestHandler.log_request = no_request_line  # type: ignore[method-assign]
