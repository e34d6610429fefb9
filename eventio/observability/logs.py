"""Logging: one access line per request, and every record as JSON (or text) on stderr."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
from flask import has_request_context
from flask.logging import default_handler

from eventio.http.state import state
from eventio.observability.dev_server import plain_werkzeug_lines
from eventio.observability.redact import RedactingFilter, redact

access_log = logging.getLogger("eventio.access")
FORMATS = ("json", "text")
# Loggers that do not propagate to ours: gunicorn's own (configured by gunicorn).
SEPARATE_LOGGERS = ("gunicorn.error", "gunicorn.access")
# Packages that give their loggers a console handler of their own: SQLAlchemy for `echo`,
# werkzeug when it logs before we are set up (`flask run --debug`).
CONSOLE_OF_THEIR_OWN = ("sqlalchemy", "werkzeug")


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to the current `sys.stderr`, so a swapped stream (tests) is never stale."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:  # type: ignore[override]  # read-only on purpose
        return sys.stderr


def add_request_id(record: logging.LogRecord) -> bool:
    """Tag a record logged during a request with that request's id."""
    if not hasattr(record, "request_id") and has_request_context():
        record.request_id = state().request_id
    return True


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    request_id = getattr(record, "request_id", None)
    if request_id is not None:
        fields["request_id"] = request_id
    fields.update(getattr(record, "fields", {}))
    return fields


def is_clean(record: logging.LogRecord) -> bool:
    """The access line is built from redacted parts (`log_access`): no second pass needed,
    which keeps the per-request cost at a substring test."""
    return record.name == access_log.name


def safe_text(record: logging.LogRecord, text: str) -> str:
    return text if is_clean(record) else redact(text)


def safe_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = record_fields(record)
    if is_clean(record):
        return fields
    return {k: redact(v) if isinstance(v, str) else v for k, v in fields.items()}


def timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": safe_text(record, record.getMessage()),
            **safe_fields(record),
        }
        if record.exc_info:
            payload["exception"] = safe_text(record, self.formatException(record.exc_info))
        if record.stack_info:
            payload["stack"] = safe_text(record, self.formatStack(record.stack_info))
        return orjson.dumps(payload, default=str).decode()


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message key=value…`, control characters escaped."""

    def format(self, record: logging.LogRecord) -> str:
        message = escape(safe_text(record, record.getMessage()))
        fields = safe_fields(record)
        pairs = "".join(f" {key}={text_value(value)}" for key, value in fields.items())
        line = f"{timestamp(record)} {record.levelname} {record.name}: {message}{pairs}"
        if record.exc_info:
            line += "\n" + safe_text(record, self.formatException(record.exc_info))
        if record.stack_info:
            line += "\n" + safe_text(record, self.formatStack(record.stack_info))
        return line


def escape(text: str) -> str:
    """Keep a message on one line: a client-chosen path cannot forge another record."""
    if text.isprintable():
        return text
    return orjson.dumps(text).decode()[1:-1]


def text_value(value: Any) -> str:
    if value is None:
        return "-"
    text = str(value)
    if text and text.isprintable() and not any(c in text for c in ' "='):
        return text
    return orjson.dumps(text).decode()


def is_console(handler: logging.Handler) -> bool:
    return isinstance(handler, logging.StreamHandler) and not isinstance(
        handler, logging.FileHandler
    )


def configure_logging(log_format: str, level: str) -> None:
    """Send every record to stderr in `log_format`; safe to call again (replaces, not adds)."""
    if log_format not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}")
    levels = logging.getLevelNamesMapping()
    if level.upper() not in levels:
        raise ValueError(f"LOG_LEVEL {level!r} is not a logging level")
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(add_request_id)
    root = logging.getLogger()
    # Ours replaces any console handler (basicConfig's, alembic's fileConfig's); files stay.
    for old in [h for h in root.handlers if type(h) in (StderrHandler, logging.StreamHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(levels[level.upper()])
    # Flask's own handler on `eventio` would print app records a second time, unformatted.
    logging.getLogger("eventio").removeHandler(default_handler)
    plain_werkzeug_lines()
    for name in SEPARATE_LOGGERS:
        separate = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in separate.filters):
            separate.addFilter(RedactingFilter())
    # Alembic's fileConfig (migrations run in-process) disables loggers it does not know;
    # SQLAlchemy's and werkzeug's console handlers would print a second, unredacted copy.
    for name, logger in logging.root.manager.loggerDict.items():
        if not isinstance(logger, logging.Logger):
            continue
        package = name.split(".")[0]
        if package == "eventio":
            logger.disabled = False
        elif package in CONSOLE_OF_THEIR_OWN:
            for own in [h for h in logger.handlers if is_console(h)]:
                logger.removeHandler(own)


def log_access(fields: dict[str, Any]) -> None:
    access_log.info(
        "%s %s %s", fields["method"], fields["path"], fields["status"], extra={"fields": fields}
    )
