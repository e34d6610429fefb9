"""The app's view of its database: one inspection, made when first needed and kept."""

from __future__ import annotations

import logging
import threading

from flask import Flask, current_app

from eventio.db.extensions import db
from eventio.db.inspection import Inspection, inspect_database

# The logger keeps its name from before the package moves: log filters match on it.
log = logging.getLogger("eventio.database.state")
EXTENSION = "eventio.schema"


class SchemaState:
    """The last inspection of `DATABASE_URL`.

    Requests read what it decided (the token statement's columns, whether writes can
    go to this database); `/health/ready` refreshes it on each probe, so a database
    changed under a running API (a column added) is followed without a restart.
    """

    def __init__(self) -> None:
        self._inspection: Inspection | None = None
        self._lock = threading.Lock()
        self._said: set[str] = set()

    def get(self) -> Inspection:
        inspection = self._inspection
        if inspection is None:
            with self._lock:
                if self._inspection is None:
                    with db.engine.connect() as connection:
                        self.set(inspect_database(connection))
                inspection = self._inspection
        assert inspection is not None
        return inspection

    def set(self, inspection: Inspection) -> None:
        self._inspection = inspection
        if inspection.read_only:
            self.say_once(
                "read-only",
                "DATABASE_URL is read-only (%s): token last_used_at and OAuth writes go to "
                "WRITE_DATABASE_URL when set, else are skipped",
                inspection.read_only,
            )
        if not inspection.can_serve:
            self.say_once(
                "incomplete",
                "the database lacks what the API needs: %s; run `flask --app eventio "
                "database check`",
                inspection.summary(),
            )

    def say_once(self, key: str, message: str, *args: object) -> None:
        """Log a fact about the database once per process, not once per request."""
        if key not in self._said:
            self._said.add(key)
            log.warning(message, *args)


def schema() -> SchemaState:
    state: SchemaState = current_app.extensions[EXTENSION]
    return state


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = SchemaState()
