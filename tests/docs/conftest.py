"""The snippets run on a demo world of their own (tests/support/demo_server.py), never on
the suite's database: the per-test emptying of that database does not apply here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def clean_database() -> Iterator[None]:
    """Overrides tests/conftest.py's: these tests neither use nor dirty the suite's app."""
    yield
