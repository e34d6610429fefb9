"""Build the OpenAPI document from the live declarations of the `api` blueprint's views."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import Schema

from eventio.api.declaration import Declaration
from eventio.openapi import fields as field_types
from eventio.openapi.introspect import ApiView, api_views
from eventio.openapi.parameters import (
    BOM_PARAMETER,
    Parameter,
    code,
    path_parameter,
    query_parameters,
)
from eventio.openapi.responses import (
    error_responses,
    paginated_response,
    register_errors,
    schema_response,
    single_response,
)

# 3.1.0: its schemas are JSON Schema 2020-12 (`"type": ["string", "null"]`, `$ref` with a
# description beside it), and every reader here handles it cleanly: the bundled Swagger UI 5
# (flask-swagger-ui), schemathesis 4 and openapi-spec-validator. Swagger UI 4 (as in the
# `swagger-ui-bundle` package) would not render 3.1, which is why that package is not used.
OPENAPI_VERSION = "3.1.0"
BEARER = "bearerAuth"
OAUTH = "oauth2ClientCredentials"

# A report a view builds itself and also serves as CSV (`"csv"` in its declared formats).
CSV_REPORT_FORMAT = (
    "`csv`: the same report as a table, one row per ticket type and a `Total` row "
    "(so does an `Accept` header that prefers `text/csv` to JSON)."
)
BEARER_DESCRIPTION = """A personal access token (`flask --app eventio tokens issue`, or the \
demo token `make run` prints), or one issued to an API client.

Paste **the token alone**, as in `1|AbCdEf...`: Swagger UI adds the `Bearer ` prefix itself."""
FLAG_NOTE = " Present means on (`?{name}`), unless its value is `0`, `false`, `off` or `no`."

DESCRIPTION = """Read-only access to events, tickets, bookings, groups, customers, roles and \
event users.

Every request carries a bearer token (`Authorization: Bearer <token>`). A token's abilities \
(`*`, `event.read`, `bookings.read`, ...) limit what it may read, and under \
`/event/{eventId}` the user's role at that event must also grant `read` on the area; each \
operation says which it needs.

To try requests on this page, press **Authorize**, paste the token alone (`1|AbCdEf...`, \
without `Bearer `), then open an operation and press **Try it out**.

Lists take `filter[name]`, `sort`, `include`, `page` and `per_page`, as \
spatie/laravel-query-builder does, and answer in Laravel's paginator envelope. Anything an \
endpoint does not allow is a 422 that names what is allowed."""


def api_version() -> str:
    try:
        return version("eventio")
    except PackageNotFoundError:
        return "2.0.0"


def tag_name(view: ApiView) -> str:
    return view.module.rsplit(".", 1)[-1].replace("_", " ").capitalize()


def access_text(view: ApiView) -> str:
    if view.areas:
        areas = code(view.areas)
        return (
            f"Needs the token ability {code(view.abilities)} and `read` permission on "
            f"{areas} at the event."
        )
    if view.abilities:
        return f"Needs the token ability {code(view.abilities)}."
    return "Needs any valid token."


def flag_parameters(view: ApiView) -> list[Parameter]:
    return [
        {
            "name": name,
            "in": "query",
            "description": description + FLAG_NOTE.format(name=name),
            "allowEmptyValue": True,
            "schema": {"type": "string"},
        }
        for name, description in view.declaration.flags.items()
    ]


def csv_report_parameters(declaration: Declaration) -> list[Parameter]:
    """`format` (the declared formats) and `bom`, for a report that is also a CSV table."""
    formats = list(declaration.formats)
    schema = {"type": "string", "enum": formats, "default": formats[0]}
    report_format = {"name": "format", "in": "query", "description": CSV_REPORT_FORMAT}
    return [{**report_format, "schema": schema}, BOM_PARAMETER]


def argument_parameters(declaration: Declaration, converter: Any) -> list[Parameter]:
    """The declared webargs arguments (query parameters), each with its note."""
    if not declaration.arguments:
        return []
    schema = Schema.from_dict(dict(declaration.arguments))()
    parameters: list[Parameter] = converter.schema2parameters(schema, location="query")
    for parameter in parameters:
        if parameter["name"] in declaration.notes:
            parameter["description"] = declaration.notes[parameter["name"]]
    return parameters


def operation(view: ApiView, converter: Any, app: Flask) -> dict[str, Any]:
    """One GET operation: parameters and responses from what the view declares."""
    declaration = view.declaration
    parameters = [path_parameter(name, conv) for name, conv in view.path_converters.items()]
    spec = view.query_spec
    if spec is not None and view.listing is not None:
        config = app.config
        parameters += query_parameters(
            spec, view.listing, view.areas, config["DEFAULT_PER_PAGE"], config["MAX_PER_PAGE"]
        )
        if view.listing == "paginated":
            ok = paginated_response(spec, view.path, config["DEFAULT_PER_PAGE"])
        else:
            ok = single_response(spec)
    elif declaration.response_schema is not None:
        csv = "csv" in declaration.formats
        ok = schema_response(declaration.response_schema, csv=csv)
        if csv:
            parameters += csv_report_parameters(declaration)
    else:
        raise LookupError(f"{view.endpoint}: declares no listing and no response schema")
    parameters += argument_parameters(declaration, converter)
    parameters += flag_parameters(view)
    return {
        "operationId": view.name,
        # Swagger UI shows a summary as plain text (backticks and all), a description as
        # Markdown: the docstring goes in both, its code marks only in the description.
        "summary": view.summary.replace("`", ""),
        "description": f"{view.summary}\n\n{access_text(view)}",
        "tags": [tag_name(view)],
        "parameters": parameters,
        "responses": {"200": ok, **error_responses(view)},
    }


def security_schemes(spec: APISpec, app: Flask) -> list[dict[str, list[str]]]:
    """A bearer token; and where `/oauth/token` is served, how a client obtains one there."""
    spec.components.security_scheme(
        BEARER,
        {
            "type": "http",
            "scheme": "bearer",
            "description": BEARER_DESCRIPTION,
        },
    )
    security: list[dict[str, list[str]]] = [{BEARER: []}]
    if "oauth.token" in app.view_functions:
        token_url = next(r.rule for r in app.url_map.iter_rules() if r.endpoint == "oauth.token")
        spec.components.security_scheme(
            OAUTH,
            {
                "type": "oauth2",
                "description": "A token issued to an API client by the client credentials grant.",
                "flows": {"clientCredentials": {"tokenUrl": token_url, "scopes": {}}},
            },
        )
        security.append({OAUTH: []})
    return security


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI document of every GET route of the `api` blueprint."""
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="EventIO API",
        version=api_version(),
        openapi_version=OPENAPI_VERSION,
        plugins=[plugin],
        info={"description": DESCRIPTION},
    )
    converter = field_types.teach(plugin)
    security = security_schemes(spec, app)
    register_errors(spec)
    tags: dict[str, str] = {}
    for view in api_views(app):
        tags.setdefault(tag_name(view), view.module_doc)
        spec.path(path=view.path, operations={"get": operation(view, converter, app)})
    for name, description in tags.items():
        spec.tag({"name": name, "description": description})
    document = spec.to_dict()
    document["security"] = security
    open_objects(document["components"]["schemas"])
    return document


def open_objects(schemas: dict[str, Any]) -> None:
    """Drop the `additionalProperties: false` apispec derives from marshmallow's `unknown`.

    That setting is about input; a response may gain fields (count includes such as
    `tickets_count`, or a new column) without breaking a client.
    """
    for schema in schemas.values():
        if schema.get("additionalProperties") is False:
            del schema["additionalProperties"]
