"""OpenAPI parameters from the declarations: path converters and an endpoint's `QuerySpec`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import types
from sqlalchemy.sql.elements import ColumnElement
from werkzeug.routing import BaseConverter
from werkzeug.routing.converters import NumberConverter

from eventio.api.export import MEDIA_TYPES
from eventio.querybuilder import AllowedFilter, QuerySpec
from eventio.querybuilder import includes as include_paths
from eventio.querybuilder.filters import FiltersBoolean, FiltersExact, FiltersPartial, FiltersSince
from eventio.querybuilder.params import MAX_PAGE, MAX_PER_PAGE_REQUESTED, MAX_VALUE_LENGTH
from eventio.querybuilder.resource import Resource

Parameter = dict[str, Any]
INT64 = 2**63


def code(names: Sequence[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def comma_list(items: Mapping[str, Any], min_items: int = 0) -> Parameter:
    """An array sent as one comma-separated value (`a,b,c`): OpenAPI's form style, unexploded.

    Only for a closed set (`items` has an `enum`): Swagger UI offers it as a multiple choice
    and joins the picks with commas.
    """
    schema: dict[str, Any] = {"type": "array", "items": dict(items)}
    if min_items:
        schema["minItems"] = min_items
    return {"style": "form", "explode": False, "schema": schema}


# One value of a comma list by its kind; a list of them may have spaces around its commas.
VALUE_PATTERNS = {
    "integer": "-?[0-9]+",
    "number": "-?[0-9]+(\\.[0-9]+)?",
    "date": "[0-9]{4}-[0-9]{2}-[0-9]{2}",
}


def comma_text(kind: str = "text") -> Parameter:
    """An open set's comma list, as the one string it is sent as (`1,2`, `EVT-1,EVT-2`).

    Not an array: Swagger UI's "Add item" pre-fills each item with the word `string`, so
    typing `confirmed` sent `stringconfirmed`. A text box stays empty until typed in; a
    pattern (for numbers and dates) lets Swagger UI point out a bad value before sending.
    """
    schema: dict[str, Any] = {"type": "string", "maxLength": MAX_VALUE_LENGTH}
    if kind in VALUE_PATTERNS:
        one = VALUE_PATTERNS[kind]
        schema["pattern"] = f"^ *{one} *(, *{one} *)*$"
    return {"schema": schema}


def path_parameter(name: str, converter: BaseConverter) -> Parameter:
    schema: dict[str, Any] = {"type": "string"}
    if isinstance(converter, NumberConverter) and converter.num_convert is int:
        schema = {"type": "integer", "format": "int64"}
        if converter.min is not None:
            schema["minimum"] = converter.min
        if converter.max is not None:
            schema["maximum"] = converter.max
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower().removesuffix(" id")
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"The {words}'s id.",
        "schema": schema,
        "example": 1,
    }


def column_schema(column: ColumnElement[Any]) -> dict[str, Any]:
    """The JSON Schema of one value of a column, as `querybuilder.values` parses it."""
    sql_type = column.type
    if isinstance(sql_type, types.Boolean):
        return {"type": "boolean"}
    if isinstance(sql_type, types.Integer):
        bits = 64 if isinstance(sql_type, types.BigInteger) else 32
        if isinstance(sql_type, types.SmallInteger):
            bits = 16
        limit = 2 ** (bits - 1)
        fmt = "int64" if bits == 64 else "int32"
        return {"type": "integer", "format": fmt, "minimum": -limit, "maximum": limit - 1}
    if isinstance(sql_type, types.DateTime):
        return {"type": "string", "format": "date-time"}
    if isinstance(sql_type, types.Date):
        return {"type": "string", "format": "date"}
    if isinstance(sql_type, types.Numeric):
        return {"type": "number"}
    return {"type": "string"}


def value_kind(value: Mapping[str, Any]) -> str:
    """`integer`, `date`, `date-time`, `number`, `boolean` or `text`: what one value must be."""
    kind = str(value.get("format") or value["type"])
    return {"int64": "integer", "int32": "integer", "string": "text"}.get(kind, kind)


def filter_parameter(declared: AllowedFilter, resource: Resource) -> Parameter:
    """`filter[name]`: its schema from the column's SQL type and the strategy's shape."""
    value = column_schema(resource.column(declared.internal_name))
    strategy = declared.strategy
    description = declared.description[:1].upper() + declared.description[1:]
    choices: Sequence[str] | None = getattr(declared, "choices", None)
    shape: Parameter
    if isinstance(strategy, FiltersExact) and choices:
        shape = comma_list({"type": "string", "enum": list(choices)})
        description += f"; one of {code(choices)}"
    elif isinstance(strategy, FiltersExact):
        kind = value_kind(value)
        shape = comma_text(kind)
        description += f"; each value {kind}"
    elif isinstance(strategy, FiltersPartial):
        shape = comma_text()
    elif isinstance(strategy, FiltersBoolean):
        shape = {"schema": {"type": "boolean"}}
    elif isinstance(strategy, FiltersSince):
        shape = {"schema": {"type": "string", "format": "date-time"}}
        description += "; a date alone (`2026-01-10`) is midnight UTC"
    else:
        shape = {"schema": {"type": "string", "maxLength": MAX_VALUE_LENGTH}}
    return {
        "name": f"filter[{declared.name}]",
        "in": "query",
        "description": f"{description or 'Filter'}.",
        **shape,
    }


def sort_parameter(spec: QuerySpec) -> Parameter:
    names = spec.sort_names
    return {
        "name": "sort",
        "in": "query",
        "description": (
            f"Order by these fields in turn; a `-` prefix sorts descending. Allowed: "
            f"{code(names)}. Ties are then ordered by `id`."
        ),
        **comma_list({"type": "string", "enum": [*names, *(f"-{n}" for n in names)]}),
    }


def include_parameter(spec: QuerySpec, areas: Sequence[str]) -> Parameter:
    """Allowed includes, with the other permission areas each one needs."""
    described = []
    for name in spec.allowed_includes:
        path = include_paths.tree([name])
        reached = {r.target.area for r in include_paths.relations(spec.resource, path)}
        others = sorted(reached - {spec.resource.area})
        note = f" (also needs {code([f'{a}.read' for a in others])})" if areas and others else ""
        described.append(f"`{name}`{note}")
    counts = spec.count_includes
    text = f"Attach related rows; `a.b` also attaches `a`. Allowed: {', '.join(described)}."
    if counts:
        text += f" Count includes {code(counts)} add a `<name>_count` integer to each row."
    return {
        "name": "include",
        "in": "query",
        "description": text,
        **comma_list({"type": "string", "enum": [*spec.allowed_includes, *counts]}),
    }


def field_types(spec: QuerySpec) -> dict[str, Resource]:
    """The resource types a sparse fieldset may name: the endpoint's own and its includes'."""
    types_ = {spec.resource.type: spec.resource}
    reachable = include_paths.tree(spec.allowed_includes)
    for relation in include_paths.relations(spec.resource, reachable):
        types_.setdefault(relation.target.type, relation.target)
    return types_


def fields_parameters(spec: QuerySpec) -> list[Parameter]:
    return [
        {
            "name": f"fields[{type_name}]",
            "in": "query",
            "description": f"Sparse fieldset: keep only these fields of each `{type_name}` row.",
            # Unlike `sort=` or `include=`, an empty fieldset is refused (422).
            **comma_list({"type": "string", "enum": list(resource.field_names)}, min_items=1),
        }
        for type_name, resource in field_types(spec).items()
    ]


BOM_PARAMETER: Parameter = {
    "name": "bom",
    "in": "query",
    "description": (
        "With `format=csv`: start the file with a UTF-8 byte order mark, so that Excel reads "
        "it as UTF-8. Present means on (`?bom`), unless its value is `0`, `false`, `off` or "
        "`no`."
    ),
    "allowEmptyValue": True,
    "schema": {"type": "string"},
}


def page_parameters(default_per_page: int, max_per_page: int) -> list[Parameter]:
    formats = ["json", *MEDIA_TYPES]
    return [
        {
            "name": "page",
            "in": "query",
            "description": "The page, from 1; a page past the end has an empty `data`.",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        },
        {
            "name": "per_page",
            "in": "query",
            "description": f"Rows per page; more than {max_per_page} is served as {max_per_page}.",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_PER_PAGE_REQUESTED,
                "default": default_per_page,
            },
        },
        {
            "name": "cursor",
            "in": "query",
            "description": (
                "Keyset pagination: send it empty for the first page, then follow `links.next`. "
                "The body then has cursor `meta` and no total; `page` is ignored."
            ),
            "schema": {"type": "string", "maxLength": MAX_VALUE_LENGTH},
        },
        {
            "name": "format",
            "in": "query",
            "description": (
                "`csv` or `ndjson` streams every matching row as a download instead of a page "
                "(so does an `Accept` header that prefers their media type to JSON)."
            ),
            "schema": {"type": "string", "enum": formats, "default": "json"},
        },
        BOM_PARAMETER,
    ]


def query_parameters(
    spec: QuerySpec, listing: str, areas: Sequence[str], default_per_page: int, max_per_page: int
) -> list[Parameter]:
    """A list takes filters, sorts, includes, fieldsets and pages; one row only the middle two."""
    includes = [include_parameter(spec, areas)] if spec.allowed_includes else []
    parameters = [*includes, *fields_parameters(spec)]
    if listing != "paginated":
        return parameters
    filters = [filter_parameter(f, spec.resource) for f in spec.filters]
    sorts = [sort_parameter(spec)] if spec.sort_names else []
    return [*filters, *sorts, *parameters, *page_parameters(default_per_page, max_per_page)]
