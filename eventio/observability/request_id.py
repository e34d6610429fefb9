"""The request id: the caller's `X-Request-ID` when it is safe to log, else a fresh one."""

from __future__ import annotations

import re
import uuid

REQUEST_ID_HEADER = "X-Request-ID"
# Letters, digits and a few separators (UUIDs, trace ids); nothing that could break a log line.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:=+/-]{1,128}")


def request_id_from(given: str | None) -> str:
    """The given id if it is short and plain, else a new uuid4 hex."""
    if given and SAFE_REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex
