"""Fixtures for the admin commands: a CLI runner that fails loudly on a traceback."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import Result
from flask import Flask

from eventio.db.extensions import db

Run = Callable[..., Result]


@pytest.fixture
def run(app: Flask) -> Run:
    """Invoke `flask --app eventio <args>`; an unexpected exception fails the test."""
    runner = app.test_cli_runner()

    def invoke(*args: object) -> Result:
        # A command runs in a process of its own: it sees what the test wrote and what
        # requests committed since the test's session last read (SQLite keeps a reader's
        # snapshot until its transaction ends).
        db.session.commit()
        result = runner.invoke(args=[str(arg) for arg in args])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return invoke
