"""Teach apispec the project's own marshmallow fields (eventio/schemas/fields.py)."""

from __future__ import annotations

from typing import Any

from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.field_converter import DEFAULT_FIELD_MAPPING
from marshmallow import fields

from eventio.schemas.fields import Day, Flag, Money, Timestamp

MONEY_PATTERN = r"^-?\d+\.\d{2}$"


def money_pattern(self: Any, field: fields.Field[Any], **kwargs: Any) -> dict[str, Any]:
    """Money is a string with two decimals: `"99.00"`."""
    return {"pattern": MONEY_PATTERN} if isinstance(field, Money) else {}


def relation_note(self: Any, field: fields.Field[Any], **kwargs: Any) -> dict[str, Any]:
    """Relation fields are filled by `include`, so they are optional; say so."""
    if not field.metadata.get("include"):
        return {}
    return {"description": f"A relation: present only when `{field.name}` is included."}


def teach(plugin: MarshmallowPlugin) -> Any:
    """Map the custom fields on the plugin's converter (apispec leaves it untyped); return it."""
    converter: Any = plugin.converter
    assert converter is not None, "the plugin is initialised by APISpec"
    # apispec's mapping is a module-level dict; map our fields on this converter's own copy.
    converter.field_mapping = dict(DEFAULT_FIELD_MAPPING)
    converter.map_to_openapi_type(Timestamp, "string", "date-time")
    converter.map_to_openapi_type(Money, "string", None)
    converter.map_to_openapi_type(Day, "string", "date")
    converter.map_to_openapi_type(Flag, "boolean", None)
    converter.map_to_openapi_type(fields.Url, "string", "uri")
    converter.add_attribute_function(money_pattern)
    converter.add_attribute_function(relation_note)
    return converter
