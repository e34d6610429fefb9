"""Flag query parameters such as `no-cache` and `include_cancelled`."""

from __future__ import annotations

from flask import request

OFF = {"0", "false", "off", "no"}


def flag(name: str) -> bool:
    """Present means on (`?no-cache`, `?no-cache=1`), unless written `0`, `false`, `off` or `no`."""
    if name not in request.args:
        return False
    return request.args.get(name, "").strip().lower() not in OFF
