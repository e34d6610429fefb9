"""schemathesis, in process: every operation answers as the document says it does.

Each operation is tried with generated query parameters, at the seeded rows (ids 1) and at
generated ids, with valid (positive) and invalid (negative) values. Every answer must not
be a 5xx, must have a documented status, and must match the schema documented for it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from tests.openapi.conftest import OPENAPI_URL, World

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}
# schemathesis' WSGI transport asks for compressed bodies but does not decompress them.
IDENTITY = {"Accept-Encoding": "identity"}


def conformance_test(
    operation: schemathesis.APIOperation, world: World, mode: GenerationMode
) -> Callable[[], None]:
    headers = {**world.headers, **IDENTITY}
    seeded = {parameter.name: 1 for parameter in operation.path_parameters}
    strategy = st.one_of(
        operation.as_strategy(mode, headers=headers, path_parameters=seeded),
        operation.as_strategy(mode, headers=headers),
    )

    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        derandomize=True,  # The same cases on every run: CI never fails by luck.
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    return run


def operations(app: Flask) -> list[schemathesis.APIOperation]:
    schema = schemathesis.openapi.from_wsgi(OPENAPI_URL, app)
    found = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # An operation schemathesis cannot read fails.
        found.append(result.ok())
    return found


def test_every_operation_conforms(app: Flask, world: World) -> None:
    found = operations(app)
    routes = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")]
    assert len(found) == len(routes)
    failures: dict[str, BaseException] = {}
    for operation in found:
        for mode in EXAMPLES:
            try:
                conformance_test(operation, world, mode)()
            # schemathesis raises a group of failures (a BaseExceptionGroup); collect them all.
            except (Exception, BaseExceptionGroup) as error:
                failures[f"{operation.label} ({mode.value})"] = error
    assert not failures, "\n\n".join(f"{label}:\n{error}" for label, error in failures.items())


def test_a_wrong_schema_is_caught(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check is not vacuous: a document that says `id` is text fails against the app."""
    from eventio.openapi import views

    document = views.document()
    booking = document["components"]["schemas"]["Booking"]["properties"]
    monkeypatch.setitem(booking, "id", {"type": "string"})
    operation = next(op for op in operations(app) if op.path.endswith("/bookings/{bookingId}"))
    with pytest.raises(BaseExceptionGroup) as caught:
        conformance_test(operation, world, GenerationMode.POSITIVE)()
    assert "Response violates schema" in str(caught.value)
