"""From `(key, value)` pairs to the raw bytes of a query string, encoded as clients do and don't.

Percent-encoding (all, or leaving brackets, commas or `%` as they are), `+` for spaces,
raw UTF-8, lower-case hex; now and then odd bytes spliced in: escapes of no valid UTF-8
(`%ff%fe`, overlong `%c0%af`, surrogates), `%00`, escapes that are not escapes (`%zz`,
a lone `%`), and raw non-UTF-8 bytes; joined with `&`, `&&`, a leading or trailing `&`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote, quote_plus

from hypothesis import strategies as st

from tests.fuzzing.values import odd_value, weighted

# A query parameter: its key and its value (None: a bare key, written without `=`).
Pair = tuple[str, str | None]
Pairs = list[Pair]

PERCENT_ODD = [
    *["%ff%fe", "%ff", "%fe%ff", "%c0%af", "%c0%80", "%e0%80%af", "%f0%80%80%af", "%c1%bf"],
    *["%ed%a0%80", "%ed%bf%bf", "%f4%90%80%80", "%f8%88%80%80%80", "%80", "%bf", "%e2%82"],
    *["%00", "%0", "%", "%%", "%zz", "%g0", "%25", "%2525", "%u0041", "%C3%A9", "e%CC%81"],
    *["%E2%80%AE", "%EF%BB%BF", "%2B", "+", "%20", "%26", "%3D", "%5B", "%5D", "%5b%5d"],
]
# The same, as raw bytes in the request target, as a server that does not refuse them passes.
RAW_ODD = [b"\xff\xfe", b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\x80", b"\xe2\x82", b"\xc3"]
SEPARATORS = [b"&"] * 12 + [b"&&", b"&&&", b"&=&"]
UPPER_HEX = re.compile(rb"%[0-9A-F]{2}")


def raw_utf8(text: str, is_key: bool) -> bytes:
    """The text as UTF-8, escaping only what would change the query's structure."""
    escaped = text.replace("%", "%25").replace("&", "%26").replace("#", "%23")
    return (escaped.replace("=", "%3D") if is_key else escaped).encode()


ENCODERS: dict[str, Callable[[str, bool], bytes]] = {
    "percent": lambda s, _: quote(s, safe="").encode(),
    "percent, brackets left": lambda s, _: quote(s, safe="[],-.").encode(),
    "percent, % left": lambda s, _: quote(s, safe="[],-.%").encode(),
    "plus for space": lambda s, _: quote_plus(s, safe="[],").encode(),
    "raw UTF-8": raw_utf8,
    "lower-case hex": lambda s, _: UPPER_HEX.sub(
        lambda m: m.group(0).lower(), quote(s, safe="[]").encode()
    ),
}
# The ones every client library writes, for requests meant to be well formed.
CLEAN_ENCODERS = ["percent", "percent, brackets left", "plus for space"]

all_encoders = st.sampled_from(sorted(ENCODERS) + ["percent"] * 4)
clean_encoders = st.sampled_from(CLEAN_ENCODERS)
odd_bytes = weighted(
    (4, st.sampled_from(PERCENT_ODD).map(str.encode)), (1, st.sampled_from(RAW_ODD))
)
one_in = {n: st.integers(0, n - 1) for n in (8, 10, 16, 40)}


def encoded(draw: st.DrawFn, text: str, is_key: bool, clean: bool) -> bytes:
    """The text encoded one of several ways; unless `clean`, now and then with odd bytes."""
    data = ENCODERS[draw(clean_encoders if clean else all_encoders)](text, is_key)
    if not clean and draw(one_in[10]) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(odd_bytes) + data[at:]
    return data


@st.composite
def query_string(
    draw: st.DrawFn, pairs: st.SearchStrategy[Pairs], many: st.SearchStrategy[bytes], clean: bool
) -> str:
    """The WSGI QUERY_STRING (one character per byte, as a server hands it over)."""
    chosen = list(draw(pairs))
    if not clean and chosen and draw(one_in[8]) == 0:  # a repeated key: the last value wins
        key = chosen[draw(st.integers(0, len(chosen) - 1))][0]
        chosen.insert(draw(st.integers(0, len(chosen))), (key, draw(odd_value)))
    parts = []
    for key, value in chosen:
        part = encoded(draw, key, True, clean)
        if value is not None:
            part += b"=" + encoded(draw, value, False, clean)
        parts.append(part)
    if clean:
        return b"&".join(parts).decode("latin-1")
    query = b""
    for index, part in enumerate(parts):
        query += (draw(st.sampled_from(SEPARATORS)) if index else b"") + part
    if parts and draw(one_in[16]) == 0:
        query = draw(st.sampled_from([b"&", b"?", b"&&"])) + query
    if parts and draw(one_in[16]) == 0:
        query += draw(st.sampled_from([b"&", b"=", b"&="]))
    if draw(one_in[40]) == 0:
        query += b"&" + draw(many)
    return query.decode("latin-1")
