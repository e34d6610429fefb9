"""A guard that catches any DDL the API itself sends to the test database."""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import URL, make_url

DDL = re.compile(
    r"^\s*(?:/\*.*?\*/\s*)*(CREATE|ALTER|DROP|TRUNCATE|RENAME|COMMENT\s+ON|GRANT|REVOKE)\b",
    re.IGNORECASE | re.DOTALL,
)
# The API's code, and the migration tools it drives: a DDL statement sent from a frame
# of these is the API's; one sent by a test's own setup or cleanup is not.
API_PACKAGES = tuple(
    str(Path(module.__file__).resolve().parent) + "/"
    for name in ("eventio", "flask_migrate", "alembic")
    if (module := sys.modules.get(name) or __import__(name)) and module.__file__
)


class ApiSentDDL(AssertionError):
    """Raised in place of a DDL statement the API tried to send."""


def _same_database(url: URL, other: URL) -> bool:
    """Same server and database, whichever user or driver (a read-only user's too)."""
    return (url.get_backend_name(), url.host, url.database) == (
        other.get_backend_name(),
        other.host,
        other.database,
    )


def _sent_by_api() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.startswith(API_PACKAGES):
            return True
        frame = frame.f_back
    return False


class DDLGuard:
    """Refuses DDL sent to `url` from the API's code, and remembers each refusal."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.refused: list[str] = []
        self._harness = threading.local()

    @contextmanager
    def harness(self) -> Iterator[None]:
        """The test harness's own DDL (schema build, cleanup) is allowed meanwhile."""
        self._harness.active = True
        try:
            yield
        finally:
            self._harness.active = False

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not DDL.match(statement) or getattr(self._harness, "active", False):
            return
        if not _same_database(conn.engine.url, self.url) or not _sent_by_api():
            return
        self.refused.append(" ".join(statement.split())[:200])
        raise ApiSentDDL(f"the API sent DDL to an existing database: {statement[:200]}")

    def install(self) -> None:
        event.listen(Engine, "before_cursor_execute", self)

    def remove(self) -> None:
        event.remove(Engine, "before_cursor_execute", self)

    def take_refused(self) -> list[str]:
        refused, self.refused = self.refused, []
        return refused
