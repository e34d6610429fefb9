"""Flag query parameters such as `no-cache` and `include_cancelled`."""

from __future__ import annotations

from flask import request

from eventio.settings import is_on


def flag(name: str) -> bool:
    """Present means on (`?no-cache`, `?no-cache=1`), unless written `0`, `false`, `off` or `no`."""
    values = request.args.getlist(name)
    if not values:
        return False
    # A repeated key keeps its last value, as everywhere in the query grammar.
    return is_on(values[-1])
