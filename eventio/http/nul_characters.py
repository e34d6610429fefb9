"""Refuse, before anything reaches SQL, input no database column can hold: NUL characters,
and a query string (or form) that is not UTF-8 at all."""

from __future__ import annotations

from flask import request

from eventio.http.errors import ApiError


def refuse_nul_characters() -> None:
    try:
        fields = [*request.args.items(multi=True)]
        if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
            fields += request.form.items(multi=True)
    except UnicodeDecodeError:
        # Raw bytes that are not UTF-8 (percent-encoded ones are decoded leniently).
        raise ApiError.invalid(
            "query", "The query string is not valid UTF-8; percent-encode it."
        ) from None
    for key, value in fields:
        if "\x00" in key or "\x00" in value:
            name = key.replace("\x00", "").split("[", 1)[0] or "query"
            raise ApiError.invalid(name, f"The parameter `{name}` holds a NUL character.")
