"""The `/api/v2` blueprint: every request on it is authenticated first (its steps are in
eventio/http/pipeline.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint
from werkzeug.routing import IntegerConverter

from eventio.auth.guard import require_ability

View = TypeVar("View", bound=Callable[..., Any])

bp = Blueprint("api", __name__, url_prefix="/api/v2")


class IdConverter(IntegerConverter):
    """A positive id that fits a BIGINT; anything else matches no route (404)."""

    # ASCII digits only: Werkzeug's `\d` (and `int`) also take Arabic-Indic, full-width
    # and every other script's digits, so `/event/%D9%A1` would be event 1.
    regex = "[0-9]+"

    def __init__(self, map: Any) -> None:
        super().__init__(map, min=1, max=2**63 - 1)


def requires_ability(name: str) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            require_ability(name)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator
