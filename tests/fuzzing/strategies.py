"""Hypothesis strategies over the whole query grammar, derived from the endpoints' declarations.

A request is a target (one GET route of the app), a path of the world's ids, a raw query
string, a token and an Accept header. The query is a list of `(key, value)` pairs: filters
(the target's, by their kind and their column's type, with type-wrong values, unknown
names, nested brackets, `filter[]`), sorts (allowed or not, `-`, duplicates), includes
(allowed, counts, nested, unknown, too deep), `page` / `per_page`, cursors (forged and
signed with the app's key, so positions of every type reach SQL), sparse fields, `format`,
the view's flags and webargs arguments, unknown keys, long values and hundreds of
parameters; then encoded by tests/fuzzing/encoding.py.

Half the requests are careful (only well-formed parts, cleanly encoded): they pass
validation and reach the database with combinations of filters, sorts, includes and
pages. The other half are hostile: any part, any encoding. Nothing names an endpoint:
a new route, filter, sort, include, flag or argument is fuzzed once its view declares it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st
from marshmallow import fields as ma
from marshmallow import validate
from sqlalchemy.sql.elements import ColumnElement

from eventio.querybuilder import AllowedFilter, AllowedSort, QuerySpec, Resource
from eventio.querybuilder.cursor import CursorCodec
from tests.fuzzing.encoding import Pairs, query_string
from tests.fuzzing.targets import Target, all_resources
from tests.fuzzing.values import (
    BIG_NUMBERS,
    LONG_LENGTHS,
    NOT_NUMBERS,
    Strategy,
    any_text,
    column_values,
    dates,
    datetimes,
    decorated,
    joined,
    long_value,
    odd_value,
    sampled_or,
    short_text,
    weighted,
)
from tests.fuzzing.world import World, ids_for

UNKNOWN_KEYS = [
    *["page[size]", "page[number]", "limit", "offset", "q", "search", "filter.id", "include[]"],
    *["sort[]", "fields[]", "per-page", "perPage", "_", "callback", "__proto__", "constructor"],
    *["a[b][c][d][e]", "[]", "[", "]", "=", "api_token", "XDEBUG_SESSION_START", "debug"],
]
ACCEPTS = [
    *["application/json", "text/csv", "application/x-ndjson", "*/*", "text/*", "application/*"],
    *["text/csv;q=0.5, application/x-ndjson;q=0.9", "application/json;q=0, text/csv"],
    *["text/html", "application/xml", "text/csv;q=abc", "*/*;q=", ";;;,,,", "", "\u00e9/\u00e9"],
    *["application/x-ndjson;q=1.0, text/csv;q=1.0", "TEXT/CSV", "text/csv; charset=utf-16"],
]
MALFORMED_FILTER_KEYS = [
    *["filter[@][]", "filter[@][x]", "filter[]", "filter", "filter[@", "filter@]"],
    *["filter[[@]]", "filter[@]]", "Filter[@]", "FILTER[@]", "filter [@]", "filter[ @ ]"],
    *["filter[@][@]", "filter][@[", "filter[@]x", "filter.@"],
]
FLAG_VALUES = [None, "", "0", "1", "false", "off", "no", "true", "yes", "FALSE", " off ", "2"]
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def flattened(groups: list[Pairs]) -> Pairs:
    return [pair for group in groups for pair in group]


def one_pair(key: Strategy[str], value: Strategy[str | None]) -> Strategy[Pairs]:
    return st.tuples(key, value).map(lambda pair: [pair])


@dataclass(frozen=True)
class Vocabulary:
    """Every name any endpoint declares, so one endpoint is asked for another's."""

    filters: tuple[str, ...]
    sorts: tuple[str, ...]
    includes: tuple[str, ...]
    relations: tuple[str, ...]
    types: tuple[str, ...]
    field_names: tuple[str, ...]
    flags: tuple[str, ...]

    @classmethod
    def of(cls, found: Sequence[Target]) -> Vocabulary:
        specs = [t.spec for t in found if t.spec is not None]
        resources = all_resources(tuple(found))

        def names(values: Any) -> tuple[str, ...]:
            return tuple(sorted(set(values))) or ("id",)

        return cls(
            filters=names(f.name for s in specs for f in s.filters),
            sorts=names(n for s in specs for n in s.sort_names),
            includes=names(n for s in specs for n in (*s.allowed_includes, *s.count_includes)),
            relations=names(n for r in resources.values() for n in r.relations),
            types=names(resources),
            field_names=names(n for r in resources.values() for n in r.field_names),
            flags=tuple(sorted({f for t in found for f in t.flags})) or ("no-cache",),
        )


# --- filter[...] -------------------------------------------------------------------------------


def filter_value(
    spec: QuerySpec, allowed: AllowedFilter, world: World, clean: bool
) -> Strategy[str]:
    """A value for one declared filter, right for its kind and column (or, unless `clean`,
    now and then wrong, empty or long)."""
    values = column_values(spec.resource, spec.resource.column(allowed.internal_name), world)
    kind = type(allowed.strategy).__name__
    if kind == "FiltersBoolean":
        right = st.sampled_from(["true", "false", "1", "0", " TRUE ", "False"])
    elif kind == "FiltersSince":
        right = weighted((3, datetimes), (1, dates), (1, values))
    elif kind == "FiltersPartial":
        right = weighted(
            (4, values), (1, joined(values)), (1, st.sampled_from(["%", "_", "\\", "100%", "n_C"]))
        )
    else:
        right = weighted((4, values), (2, joined(values)))
    if clean:
        return right
    return weighted(
        (6, right), (2, odd_value), (1, st.sampled_from(["", ",", ",,", " , "])), (1, long_value)
    )


def declared_filters(spec: QuerySpec, world: World, clean: bool) -> Strategy[Pairs]:
    return st.one_of(
        [
            one_pair(st.just(f"filter[{f.name}]"), filter_value(spec, f, world, clean))
            for f in spec.filters
        ]
    )


def odd_filters(spec: QuerySpec | None, words: Vocabulary) -> Strategy[Pairs]:
    """Unknown names, names in capitals, and keys that are not `filter[name]`."""
    own = [f.name for f in spec.filters] if spec else []
    names = weighted(
        (2, sampled_or(own, st.sampled_from(words.filters))),
        (1, st.sampled_from(words.filters)),
        (1, short_text),
    )
    malformed = st.tuples(st.sampled_from(MALFORMED_FILTER_KEYS), names).map(
        lambda shape: shape[0].replace("@", shape[1])
    )
    return st.one_of(
        one_pair(names.map(lambda n: f"filter[{n}]"), odd_value),
        one_pair(names.map(lambda n: f"filter[{n.upper()}]"), odd_value),
        one_pair(malformed, weighted((3, odd_value), (1, st.none()))),
    )


# --- sort, include, page -----------------------------------------------------------------------


def sort_pairs(spec: QuerySpec | None, words: Vocabulary, clean: bool) -> Strategy[Pairs]:
    allowed = spec.sort_names if spec else []
    if clean:
        signed = st.tuples(st.sampled_from(["", "-"]), st.sampled_from(allowed)).map("".join)
        return one_pair(st.just("sort"), joined(signed, 1, 3))
    item = weighted(
        (6, sampled_or(allowed, st.sampled_from(words.sorts))),
        (1, st.sampled_from(words.sorts + words.filters)),
        (1, short_text),
    )
    direction = st.sampled_from(["", "", "", "-", "-", "--", "+", " ", "- ", " -"])
    signed = st.tuples(direction, item).map("".join)
    value = weighted(
        (8, joined(signed)),
        (1, st.sampled_from(["", ",", ",,", "-", "id,", ",id", "id,,id", " "])),
        (1, joined(signed, 5, 60)),
    )
    key = weighted(
        (12, st.just("sort")),
        (1, st.sampled_from(["sort[]", "Sort", "sort[id]", "sorts", "order", "orderBy"])),
    )
    return one_pair(key, value)


def include_pairs(target: Target, words: Vocabulary, clean: bool) -> Strategy[Pairs]:
    spec = target.spec
    allowed = [*spec.allowed_includes, *spec.count_includes] if spec else []
    if clean:
        return one_pair(st.just("include"), joined(st.sampled_from(allowed), 1, 3))
    refused = [*target.unreachable_includes]
    refused += [f"{name}.nope" for name in allowed] + [f"{name}Count" for name in allowed]
    refused += ["tickets_count", "Tickets", "TICKETS", "*", "all", "event.event.event"]
    item = weighted(
        (6, sampled_or(allowed, st.sampled_from(words.includes))),
        (2, st.sampled_from(refused)),
        (1, st.sampled_from(words.includes)),
        (1, short_text),
        (1, st.lists(st.sampled_from(words.relations), min_size=5, max_size=40).map(".".join)),
    )
    value = weighted(
        (8, joined(item)),
        (1, st.sampled_from(["", ",", "tickets.", ".tickets", "a..b", " , ", "."])),
        (1, joined(item, 10, 80)),
    )
    key = weighted(
        (12, st.just("include")),
        (1, st.sampled_from(["include[]", "includes", "Include", "include[tickets]", "with"])),
    )
    return one_pair(key, value)


def page_pairs(clean: bool) -> Strategy[Pairs]:
    if clean:
        return st.one_of(
            one_pair(st.just("page"), st.integers(1, 4).map(str)),
            one_pair(st.just("per_page"), st.sampled_from(["1", "2", "5", "15", "100", "5000"])),
        )
    number = weighted(
        (6, st.integers(1, 5).map(str)),
        (2, st.integers(1, 120).map(str)),
        (1, st.sampled_from(BIG_NUMBERS).map(str)),
        (1, st.integers(-(2**64), 0).map(str)),
        (2, st.sampled_from(NOT_NUMBERS)),
        (1, short_text),
    )
    key = weighted(
        (6, st.sampled_from(["page", "per_page"])),
        (1, st.sampled_from(["page[number]", "page[size]", "per_page[]", "PAGE", "page[]"])),
    )
    return one_pair(key, number)


# --- cursor ------------------------------------------------------------------------------------


def sign_cursor(key: bytes, rule: str, payload: bytes) -> str:
    """A cursor as the app seals one for the route `rule`: any payload, encrypted and
    authenticated with the app's codec, so that forged positions reach the decoder."""
    return CursorCodec(key, context=rule).seal(payload)


def ordering(spec: QuerySpec, chosen: Sequence[tuple[AllowedSort, bool]]) -> list[Any]:
    """The order keys the builder derives from a sort: each column once, then `id`."""
    seen: set[str] = set()
    order = []
    for sort, descending in chosen:
        if sort.internal_name in seen:
            continue
        seen.add(sort.internal_name)
        order.append((sort.name, spec.resource.column(sort.internal_name), descending))
    if "id" not in seen:
        order.append(("id", spec.resource.table.c.id, False))
    return order


# Position values no column takes: numbers at and past the integer types' edges, text
# that is no number or date, NUL, other JSON types.
edge_numbers = st.sampled_from(
    [2**31 - 1, 2**31, 2**40, 2**63 - 1, 2**63, 2**64 - 1, -(2**63), -(2**63) - 1, 1e308, -0.0]
)
odd_json_text = st.sampled_from(
    [
        *["NaN", "Infinity", "1e999999", "-1e-999999", "sNaN", "2026-13-01", "0000-00-00"],
        *["", "\x00", "a\x00b", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"],
        "1" * 400,
    ]
)
wrong_json_values = weighted(
    (3, edge_numbers),
    (3, odd_json_text),
    (1, st.none()),
    (1, st.booleans()),
    (1, st.integers(-(2**70), 2**70)),
    (1, st.floats()),
    (1, any_text),
    (1, st.lists(st.integers(), max_size=2)),
    (1, st.dictionaries(short_text, st.integers(), max_size=2)),
)


def cursor_value(
    resource: Resource, column: ColumnElement[Any], world: World, clean: bool
) -> Strategy[Any]:
    """A position value for one order key: of the column's type (or, unless `clean`, not)."""
    samples = world.samples_of(resource.type, column.key or "")
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        python_type = str
    if python_type is int:
        right: Strategy[Any] = weighted(
            (3, sampled_or([int(s) for s in samples if s.lstrip("-").isdigit()], st.just(1))),
            (1, st.integers(0, 2**31 - 1)),
        )
    elif python_type is bool:
        right = st.booleans()
    elif python_type is datetime:
        right = weighted((3, sampled_or(samples, datetimes)), (1, datetimes))
    elif python_type is date:
        right = weighted((3, sampled_or(samples, dates)), (1, dates))
    else:
        right = weighted((3, sampled_or(samples, short_text)), (1, short_text))
    if clean:
        return weighted((6, right), (1, st.none()))
    return weighted((6, right), (1, st.none()), (2, wrong_json_values))


def payloads(
    spec: QuerySpec, chosen: Sequence[tuple[AllowedSort, bool]], world: World, clean: bool
) -> Strategy[bytes]:
    """Cursor payloads: the JSON the app writes, with values of every type, or not JSON."""
    order = ordering(spec, chosen)
    signature = ",".join(("-" if descending else "") + name for name, _, descending in order)
    values = st.tuples(
        *[cursor_value(spec.resource, column, world, clean) for _, column, _ in order]
    )
    well_formed = st.builds(
        lambda v, b: {"s": signature, "v": list(v), "b": b}, values, st.booleans()
    )
    as_json = well_formed.map(lambda body: json.dumps(body, ensure_ascii=False).encode())
    if clean:
        return as_json
    misshapen = st.one_of(
        st.builds(lambda v: {"s": signature + ",x", "v": list(v), "b": False}, values),
        st.builds(lambda v: {"s": signature, "v": [*list(v), 1], "b": False}, values),
        st.builds(lambda v: {"s": signature, "v": list(v)[1:], "b": True}, values),
        st.builds(lambda v: {"s": signature, "v": dict(enumerate(v))}, values),
        st.builds(lambda b: {"s": None, "v": None, "b": b}, wrong_json_values),
        wrong_json_values,
    ).map(lambda body: json.dumps(body, ensure_ascii=False).encode())
    return st.one_of(
        weighted((6, as_json), (2, misshapen)),
        st.binary(max_size=40),
        st.sampled_from([b"", b"{", b'{"s":', b"\xff\xfe", b"null", b"[]", b'{"v": NaN}']),
    )


@st.composite
def cursor_text(
    draw: st.DrawFn, payload: Strategy[bytes], key: bytes, rule: str, clean: bool
) -> str:
    """A cursor signed as the app signs one, or one forged, truncated or mangled."""
    body = draw(payload)
    if clean:
        return sign_cursor(key, rule, body)
    how = draw(st.sampled_from(["signed"] * 6 + ["unsigned", "wrong key", "mangled", "padded"]))
    if how == "unsigned":
        return base64.urlsafe_b64encode(body).decode()
    text = sign_cursor(b"not the key" if how == "wrong key" else key, rule, body)
    if how == "padded":
        return text + draw(st.sampled_from(["=", "==", "===", "%3D", " "]))
    if how == "mangled" and text:
        at = draw(st.integers(0, len(text) - 1))
        replacement = draw(st.sampled_from(["", "+", "/", "-", "_", "A", "\u00e9", "%"]))
        return text[:at] + replacement + text[at + 1 :]
    return text


def cursor_pairs(target: Target, world: World, clean: bool) -> Strategy[Pairs]:
    """A cursor with the sort it was signed for, so forged positions reach SQL (or, unless
    `clean`, a cursor alone, of any text)."""
    junk = one_pair(st.just("cursor"), weighted((2, st.text(alphabet=BASE64URL)), (1, odd_value)))
    spec = target.spec
    if spec is None or not spec.allowed_sorts:
        return one_pair(st.just("cursor"), st.just("")) if clean else junk

    @cache
    def with_sort(chosen: tuple[tuple[AllowedSort, bool], ...]) -> Strategy[Pairs]:
        sort = ",".join(("-" if descending else "") + s.name for s, descending in chosen)
        payload = payloads(spec, chosen, world, clean)
        cursor = cursor_text(payload, world.cursor_key, target.rule, clean)
        return cursor.map(lambda c: ([("sort", sort)] if chosen else []) + [("cursor", c)])

    sorts = st.lists(st.tuples(st.sampled_from(spec.allowed_sorts), st.booleans()), max_size=3)
    signed = sorts.map(tuple).flatmap(with_sort)
    return signed if clean else weighted((4, signed), (1, junk))


# --- fields, format, flags, webargs arguments ---------------------------------------------------


def fields_pairs(target: Target, words: Vocabulary, clean: bool) -> Strategy[Pairs]:
    own = target.field_types

    def for_type(type_name: str) -> Strategy[Pairs]:
        resource = own.get(type_name)
        right = sampled_or(list(resource.field_names) if resource else [], short_text)
        if clean:
            return one_pair(st.just(f"fields[{type_name}]"), joined(right))
        names = weighted((5, right), (1, st.sampled_from(words.field_names)), (1, short_text))
        key = weighted(
            (6, st.just(f"fields[{type_name}]")),
            (2, st.just("fields")),
            (1, st.sampled_from(["fields[]", f"fields[{type_name}][x]", "fields[", "Fields[x]"])),
        )
        value = weighted((8, joined(names)), (1, st.sampled_from(["", ",", "id,", " "])))
        return one_pair(key, value)

    own_types = st.one_of([for_type(name) for name in own]) if own else for_type("events")
    if clean:
        return own_types
    other_types = st.one_of([for_type(name) for name in words.types])
    unknown_type = st.tuples(short_text, st.sampled_from(words.field_names)).map(
        lambda chosen: [(f"fields[{chosen[0]}]", chosen[1])]
    )
    return weighted((6, own_types), (1, other_types), (1, unknown_type))


def format_pairs(clean: bool) -> Strategy[Pairs]:
    right = st.sampled_from(["json", "csv", "ndjson"])
    if clean:
        return one_pair(st.just("format"), right)
    value = weighted(
        (4, right),
        (1, st.sampled_from(["CSV", "Json", "xml", "", " csv", "csv,ndjson", "text/csv"])),
        (1, short_text),
    )
    return one_pair(st.just("format"), value)


def flag_pairs(target: Target, words: Vocabulary, clean: bool) -> Strategy[Pairs]:
    own = st.sampled_from(target.flags or words.flags)
    if clean:
        return one_pair(own, st.sampled_from(FLAG_VALUES))
    names = weighted((3, own), (1, st.sampled_from(words.flags)))
    return one_pair(names, weighted((4, st.sampled_from(FLAG_VALUES)), (1, short_text)))


def argument_values(name: str, field: ma.Field, world: World, clean: bool) -> Strategy[str | None]:
    """Values for one webargs argument, by its field type and its Length and Range rules."""
    edges: list[str] = []
    for rule in field.validators:
        if isinstance(rule, validate.Length) and rule.max is not None:
            edges += ["x" * rule.max, "x" * (rule.max + 1), "\u00e9" * (rule.max + 1)]
        if isinstance(rule, validate.Range):
            edges += [str(v + d) for v in (rule.min, rule.max) if v is not None for d in (-1, 0, 1)]
    ids = sorted({i for _, values in world.ids for i in values})
    if isinstance(field, ma.Integer | ma.Float | ma.Decimal):
        right: Strategy[str] = weighted(
            (3, st.sampled_from(ids).map(str)), (1, st.integers(1, 50).map(str))
        )
        wrong: Strategy[str] = st.sampled_from(NOT_NUMBERS + [str(n) for n in BIG_NUMBERS])
    elif isinstance(field, ma.Boolean):
        right, wrong = st.sampled_from(["true", "false", "1", "0"]), st.sampled_from(NOT_NUMBERS)
    else:
        same_name = [v for key, values in world.samples if key.endswith("." + name) for v in values]
        texts = sampled_or(same_name or world.all_text_samples, short_text)
        right, wrong = weighted((3, texts), (1, decorated(texts))), odd_value
    if clean:
        return right
    return weighted(
        (6, right), (2, wrong), (1, sampled_or(edges, st.just(""))), (1, st.none()), (1, long_value)
    )


def argument_pairs(target: Target, world: World, clean: bool) -> Strategy[Pairs]:
    def key(name: str) -> Strategy[str]:
        if clean:
            return st.just(name)
        variants = [name.lower(), name + "[]", name + " "]
        return weighted((8, st.just(name)), (1, st.sampled_from(variants)))

    return st.one_of(
        [
            one_pair(key(name), argument_values(name, field, world, clean))
            for name, field in target.query_arguments
        ]
    )


# --- unknown keys, long values, hundreds of parameters ----------------------------------------


def unknown_pairs() -> Strategy[Pairs]:
    return one_pair(
        weighted((2, st.sampled_from(UNKNOWN_KEYS)), (1, short_text)),
        weighted((4, odd_value), (1, st.none())),
    )


def long_pairs(spec: QuerySpec | None) -> Strategy[Pairs]:
    keys = ["sort", "include", "page", "cursor", "fields", "unknown"]
    keys += [f"filter[{f.name}]" for f in spec.filters] if spec else []
    return st.one_of(
        one_pair(st.sampled_from(keys), long_value),
        st.sampled_from(LONG_LENGTHS).map(lambda n: [("k" * n, "1")]),
        st.sampled_from(LONG_LENGTHS).map(lambda n: [(f"filter[{'f' * n}]", "1")]),
    )


def many_pairs(spec: QuerySpec | None, words: Vocabulary) -> Strategy[bytes]:
    """Hundreds of parameters, already encoded: distinct filters, one filter repeated, a
    sort or include list hundreds of names long, unknown keys."""
    declared = [f.name for f in spec.filters] if spec else list(words.filters)
    sortable = spec.sort_names if spec and spec.sort_names else list(words.sorts)
    count = st.integers(20, 400)
    pairs = st.one_of(
        count.map(lambda n: [(f"filter[f{i}]", "1") for i in range(n)]),
        st.tuples(count, st.sampled_from(declared)).map(
            lambda c: [(f"filter[{c[1]}]", str(i)) for i in range(c[0])]
        ),
        count.map(lambda n: [(f"p{i}", str(i)) for i in range(n)]),
        count.map(lambda n: [("sort", ",".join(sortable * (n // len(sortable) + 1)))]),
        count.map(lambda n: [("include", ",".join(list(words.includes) * (n // 10 + 1)))]),
    )
    return pairs.map(lambda many: "&".join(f"{k}={quote(v, safe=',')}" for k, v in many).encode())


# --- A target's grammar, careful and hostile -----------------------------------------------------


def careful_pairs(target: Target, words: Vocabulary, world: World) -> Strategy[Pairs]:
    """Well-formed parts only, a few of each kind the endpoint reads."""
    spec = target.spec
    parts: list[tuple[int, Strategy[Pairs]]] = [(1, format_pairs(True))]
    if target.flags:
        parts.append((2, flag_pairs(target, words, True)))
    if target.query_arguments:
        parts.append((8, argument_pairs(target, world, True)))
    if spec is not None:
        if spec.filters and target.listing == "paginated":
            parts.append((8, declared_filters(spec, world, True)))
        if spec.sort_names and target.listing == "paginated":
            parts += [(3, sort_pairs(spec, words, True)), (2, cursor_pairs(target, world, True))]
        if spec.allowed_includes:
            parts.append((4, include_pairs(target, words, True)))
        parts += [(3, page_pairs(True)), (2, fields_pairs(target, words, True))]
    return st.lists(weighted(*parts), min_size=1, max_size=4).map(flattened)


def hostile_pairs(target: Target, words: Vocabulary, world: World) -> Strategy[Pairs]:
    """Any part of the grammar, weighted by what the endpoint serves."""
    spec = target.spec
    listing = target.listing
    filters: Strategy[Pairs] = odd_filters(spec, words)
    if spec is not None and spec.filters:
        filters = weighted((5, declared_filters(spec, world, False)), (2, filters))
    shares = {
        "paginated": {"filter": 8, "sort": 4, "include": 4, "page": 3, "cursor": 2, "fields": 2},
        "single": {"filter": 2, "sort": 1, "include": 5, "page": 1, "cursor": 1, "fields": 4},
    }.get(
        listing or "", dict.fromkeys(("filter", "sort", "include", "page", "cursor", "fields"), 1)
    )
    parts = [
        (shares["filter"], filters),
        (shares["sort"], sort_pairs(spec, words, False)),
        (shares["include"], include_pairs(target, words, False)),
        (shares["page"], page_pairs(False)),
        (shares["cursor"], cursor_pairs(target, world, False)),
        (shares["fields"], fields_pairs(target, words, False)),
        (1, format_pairs(False)),
        (2 if target.flags else 1, flag_pairs(target, words, False)),
        (1, unknown_pairs()),
        (1, long_pairs(spec)),
    ]
    if target.query_arguments:
        parts.append((12, argument_pairs(target, world, False)))
    return st.lists(weighted(*parts), min_size=1, max_size=6).map(flattened)


# --- Requests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FuzzRequest:
    """One GET: the route, a path of ids, the raw query, who asks and what they accept."""

    target: Target
    path: str
    query: str
    token: str
    accept: str | None = None

    @property
    def url(self) -> str:
        """The path and query as sent, bytes outside ASCII shown as `\\xff`."""
        shown = self.query.encode("latin-1").decode("ascii", "backslashreplace")
        return self.path + ("?" + shown if self.query else "")

    def __repr__(self) -> str:
        accept = "" if self.accept is None else f" (Accept: {self.accept!r})"
        return f"GET {self.url} as {self.token}{accept}"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def path_ids(target: Target, world: World, clean: bool) -> Strategy[dict[str, int]]:
    """The home ids (rows that belong together); unless `clean`, sometimes another row's
    or no row's."""

    def one(argument: str) -> Strategy[int]:
        ids = ids_for(world, argument)
        if clean:
            return st.just(ids[0])
        return weighted(
            (10, st.just(ids[0])),
            (2, st.sampled_from(ids)),
            (1, st.sampled_from([10**6, 2**63 - 1])),
        )

    return st.fixed_dictionaries({argument: one(argument) for argument in target.arguments})


accept_headers = weighted(
    (10, st.none()),
    (3, st.sampled_from(ACCEPTS)),
    (1, short_text.map(lambda s: s.encode().decode("latin-1").replace("\r", "").replace("\n", ""))),
)


def requests_for(target: Target, words: Vocabulary, world: World) -> Strategy[FuzzRequest]:
    """Half careful, half hostile requests to one target."""
    tokens = [name for name, _ in world.tokens]
    many = many_pairs(target.spec, words)

    def build(clean: bool) -> Strategy[FuzzRequest]:
        pairs = (careful_pairs if clean else hostile_pairs)(target, words, world)
        return st.builds(
            FuzzRequest,
            target=st.just(target),
            path=path_ids(target, world, clean).map(target.path),
            query=query_string(pairs, many, clean),
            token=st.just(tokens[0]) if clean else st.sampled_from(tokens),
            accept=st.none() if clean else accept_headers,
        )

    return st.one_of(build(True), build(False))


@cache
def cursor_requests(found: tuple[Target, ...], world: World) -> Strategy[FuzzRequest]:
    """Hostile cursors only (most signed with the app's key), on every list with sorts:
    positions of every JSON type, out-of-range numbers, payloads that are not objects."""
    tokens = [name for name, _ in world.tokens]
    many = st.just(b"")
    return st.one_of(
        [
            st.builds(
                FuzzRequest,
                target=st.just(target),
                path=path_ids(target, world, True).map(target.path),
                query=query_string(cursor_pairs(target, world, False), many, True),
                token=st.just(tokens[0]),
            )
            for target in found
            if target.listing == "paginated" and target.spec and target.spec.allowed_sorts
        ]
    )


@cache
def target_requests(
    found: tuple[Target, ...], world: World, target: Target
) -> Strategy[FuzzRequest]:
    """Requests to one of the targets, using every target's names in hostile ones."""
    return requests_for(target, Vocabulary.of(found), world)


@cache
def fuzz_requests(
    found: tuple[Target, ...], world: World, listings: frozenset[str | None] | None = None
) -> Strategy[FuzzRequest]:
    """Requests to every target (or those whose listing is in `listings`)."""
    chosen = [t for t in found if listings is None or t.listing in listings]
    return st.one_of([target_requests(found, world, target) for target in chosen])
