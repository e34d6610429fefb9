"""Secrets out of log lines: what a client may have put in a URL or a header, and digests.

The API reads credentials only from the `Authorization` header and the token endpoint's
body, and logs neither; these rules catch what a client sends by mistake (a token in the
path or the query) and what another library writes (a dev server's request line,
gunicorn's error line, SQLAlchemy's debug rows). docs/reliability.md lists them.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[REDACTED]"
# Query and form parameters whose value is a credential, whatever the case.
SENSITIVE_PARAMETERS = (
    "access_token",
    "api_key",
    "api_token",
    "apikey",
    "client_secret",
    "password",
    "refresh_token",
    "secret",
    "token",
)
# Where a secret ends: whitespace, quotes, a separator of a query, a list or a line format.
_VALUE = r"[^\s\"'&;,<>()\[\]{}\\]+"
SECRETS = re.compile(
    # A Sanctum token `<id>|<secret>` (the bar maybe percent-encoded): keep the id.
    r"(?P<token>(?<![\w.%-])[0-9]{1,18}(?:\||%7[cC]))"
    + _VALUE
    # The credentials after an `Authorization` scheme.
    + r"|(?P<scheme>\b(?i:bearer|basic)\s+)"
    + _VALUE
    # `name=value` of a sensitive parameter, in a query string or a form body.
    + r"|(?P<parameter>(?<![\w.-])(?i:"
    + "|".join(SENSITIVE_PARAMETERS)
    + r")=)[^\s\"'&;#\\]*"
)
# What every match of SECRETS holds, found by plain substring tests (much cheaper).
TRIGGERS = ("|", "%7c", "=", "bearer", "basic")
# A SHA-256 hex digest: how the database stores a secret (SQLAlchemy's debug rows).
DIGEST = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{64}(?![0-9A-Za-z])")
# In a path, everything from a `|` to the end of that segment.
_PATH_SECRET = re.compile(r"\|[^/]*")


def _keep_name(match: re.Match[str]) -> str:
    kept = match.group("token") or match.group("scheme") or match.group("parameter")
    return f"{kept}{REDACTED}"


def redact(text: str) -> str:
    """`text` with every secret it holds, by the rules above, replaced by `[REDACTED]`."""
    lowered = text.lower()
    if any(trigger in lowered for trigger in TRIGGERS):
        text = SECRETS.sub(_keep_name, text)
    return DIGEST.sub(REDACTED, text)


def redact_path(path: str) -> str:
    """The path as the access line logs it: no route holds a `|`, and `<id>|<secret>` is a
    Sanctum token, so what follows a `|` in a segment is dropped."""
    if "|" not in path:
        return path
    return _PATH_SECRET.sub("|" + REDACTED, path)


class RedactingFilter(logging.Filter):
    """For loggers whose records never reach our handler (gunicorn's): the record's text,
    redacted, replaces its message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
