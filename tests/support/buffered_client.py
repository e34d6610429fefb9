"""A test client that reads each response whole and closes it, as an HTTP server does."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse


class BufferedClient(FlaskClient):
    """Reads each body whole and closes it, as a server does: the access line is written,
    and what a streamed body holds (an export's transaction) ends with the request instead
    of whenever the garbage collector finds the response. A test that reads a stream
    itself passes `buffered=False` and closes the response."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)
