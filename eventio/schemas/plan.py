"""Compile a marshmallow schema, once, into a fast function from a result row to a dict.

The schema stays the one declaration of a resource's output (docs read it too); the hot
path runs generated code that indexes the row and calls only the converters that a
field type needs (timestamps, money, dates), never marshmallow's per-field machinery.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from marshmallow import Schema, fields

from eventio.querybuilder.resource import Serializer, SerializerFactory


def relation_field(field: fields.Field) -> bool:
    """Nested fields are filled by includes, not read from the row."""
    return isinstance(field, fields.Nested) or (
        isinstance(field, fields.List) and isinstance(field.inner, fields.Nested)
    )


def row_fields(schema: type[Schema]) -> list[tuple[str, str, fields.Field]]:
    """(output key, row key, field) for each field that comes from the row."""
    declared = schema().fields
    return [
        (field.data_key or name, field.attribute or name, field)
        for name, field in declared.items()
        if not relation_field(field)
    ]


def output_fields(schema: type[Schema]) -> list[str]:
    """The keys a row of this schema has in a response: what sparse fieldsets may name."""
    return [out_key for out_key, _, _ in row_fields(schema)]


def compile_serializer(
    schema: type[Schema], keys: Sequence[str], only: frozenset[str] | None = None
) -> Serializer:
    namespace: dict[str, Callable[[Any], Any]] = {}
    items = []
    for out_key, row_key, field in row_fields(schema):
        if only is not None and out_key not in only:
            continue
        if row_key not in keys:
            raise KeyError(f"{schema.__name__}.{out_key}: the row has no column {row_key!r}")
        index = keys.index(row_key)
        convert = getattr(field, "convert", None)
        if convert is None:
            items.append(f"{out_key!r}: row[{index}]")
        else:
            name = f"convert_{index}"
            namespace[name] = convert
            items.append(f"{out_key!r}: {name}(row[{index}])")
    source = "def serialize(row):\n    return {" + ", ".join(items) + "}\n"
    exec(compile(source, f"<serializer {schema.__name__}>", "exec"), namespace)
    return namespace["serialize"]


@cache
def serializer_for(schema: type[Schema]) -> SerializerFactory:
    """The factory a `Resource` calls with its column keys."""

    def factory(keys: Sequence[str], only: frozenset[str] | None = None) -> Serializer:
        return compile_serializer(schema, keys, only)

    return factory
