"""The document is valid OpenAPI and covers every route and every declared query option."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, replace
from typing import Any

from flask import Flask
from openapi_spec_validator import validate
from werkzeug.routing import Rule

from eventio.api import export, resources, stats
from eventio.api.declaration import declaration_of
from eventio.api.stats import STATS_ARGS
from eventio.auth.permissions import ability
from eventio.openapi.parameters import filter_parameter
from eventio.querybuilder import AllowedFilter, QuerySpec

PLACEHOLDER = re.compile(r"<[^<>]+>")
TEMPLATE = re.compile(r"\{[^{}]+\}")
FLAG_CALL = re.compile(r"""\bflag\(\s*["']([^"']+)["']\s*\)""")


def api_rules(app: Flask) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")]


def shape(path: str) -> str:
    """`/event/<id:event_id>` and `/event/{eventId}` are both `/event/{}`."""
    return TEMPLATE.sub("{}", PLACEHOLDER.sub("{}", path))


def operations_by_shape(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {shape(path): item["get"] for path, item in document["paths"].items()}


def parameters(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in operation["parameters"]}


def enum(parameter: dict[str, Any]) -> list[str]:
    return list(parameter["schema"]["items"]["enum"])


def innermost(view: Any) -> Any:
    while hasattr(view, "__wrapped__"):
        view = view.__wrapped__
    return view


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_every_api_route_is_documented_and_nothing_else(
    app: Flask, document: dict[str, Any]
) -> None:
    routes = {shape(rule.rule) for rule in api_rules(app)}
    assert routes, "no api routes"
    assert set(operations_by_shape(document)) == routes
    assert all(set(item) == {"get"} for item in document["paths"].values())


def test_path_parameters_are_integers_named_in_each_path(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        names = TEMPLATE.findall(path)
        declared = [p for p in item["get"]["parameters"] if p["in"] == "path"]
        assert [f"{{{p['name']}}}" for p in declared] == names, path
        for parameter in declared:
            assert parameter["required"] is True
            assert parameter["schema"]["type"] == "integer"
            assert parameter["schema"]["minimum"] == 1


def test_every_declared_filter_sort_and_include_is_documented(
    app: Flask, document: dict[str, Any]
) -> None:
    operations = operations_by_shape(document)
    checked = 0
    for rule in api_rules(app):
        declaration = declaration_of(app.view_functions[rule.endpoint])
        spec: QuerySpec | None = declaration.query
        if spec is None:
            continue
        checked += 1
        declared = parameters(operations[shape(rule.rule)])
        expected_includes = [*spec.allowed_includes, *spec.count_includes]
        assert enum(declared["include"]) == expected_includes, rule.rule
        listing = declaration.listing
        if listing == "single":
            assert not [name for name in declared if name.startswith("filter[")], rule.rule
            continue
        assert listing == "paginated"
        filters = [name[len("filter[") : -1] for name in declared if name.startswith("filter[")]
        assert filters == spec.filter_names, rule.rule
        sorts = spec.sort_names
        assert set(enum(declared["sort"])) == {*sorts, *(f"-{name}" for name in sorts)}
        assert {"page", "per_page", "cursor", "format"} <= set(declared), rule.rule
    assert checked >= 17


def matches(schema: dict[str, Any], value: str) -> bool:
    return re.search(schema["pattern"], value) is not None


def test_filter_types_follow_the_column(document: dict[str, Any]) -> None:
    bookings = parameters(document["paths"]["/api/v2/event/{eventId}/bookings"]["get"])
    ids = bookings["filter[id]"]["schema"]
    assert ids["type"] == "string"  # `filter[id]=1,2`: one comma list
    assert matches(ids, "1") and matches(ids, "1,2") and matches(ids, "1, -2")
    assert not matches(ids, "string1") and not matches(ids, "1.5") and not matches(ids, "")
    assert bookings["filter[reference]"]["schema"] == {"type": "string", "maxLength": 1000}
    events = parameters(document["paths"]["/api/v2/events"]["get"])
    dates = events["filter[start_date]"]["schema"]
    assert matches(dates, "2026-06-15,2026-06-16") and not matches(dates, "15/06/2026")
    users = parameters(document["paths"]["/api/v2/event/{eventId}/users"]["get"])
    assert users["filter[active]"]["schema"]["type"] == "boolean"


def test_only_closed_sets_are_arrays(document: dict[str, Any]) -> None:
    """Swagger UI pre-fills an open array's new item with `string`; a closed one is a choice."""
    arrays = 0
    for path, item in document["paths"].items():
        for parameter in item["get"]["parameters"]:
            schema = parameter["schema"]
            if schema.get("type") == "array":
                arrays += 1
                assert schema["items"]["enum"], (path, parameter["name"])
                assert (parameter["style"], parameter["explode"]) == ("form", False)
    assert arrays >= 30  # every sort, include and fieldset


def test_webargs_arguments_and_flags_are_documented(app: Flask, document: dict[str, Any]) -> None:
    stats_parameters = parameters(document["paths"]["/api/v2/event/{eventId}/stats"]["get"])
    assert set(STATS_ARGS) <= set(stats_parameters)
    assert stats_parameters["ticketId"]["schema"]["type"] == "integer"
    user = parameters(document["paths"]["/api/v2/user"]["get"])
    assert user["eventId"]["schema"]["type"] == "integer"
    operations = operations_by_shape(document)
    for rule in api_rules(app):
        source = inspect.getsource(innermost(app.view_functions[rule.endpoint]))
        flags = set(FLAG_CALL.findall(source))
        declared = parameters(operations[shape(rule.rule)])
        # A route that writes CSV also reads the flags of the code that writes it.
        if "csv" in declared.get("format", {}).get("schema", {}).get("enum", []):
            writer = stats.answer if rule.endpoint == "api.event_stats" else export
            flags |= set(FLAG_CALL.findall(inspect.getsource(writer)))
        documented = {n for n, p in declared.items() if p.get("allowEmptyValue")}
        assert documented == flags, rule.rule


def test_each_operation_names_the_areas_and_abilities_it_needs(
    app: Flask, document: dict[str, Any]
) -> None:
    operations = operations_by_shape(document)
    for rule in api_rules(app):
        areas = declaration_of(app.view_functions[rule.endpoint]).areas
        description = operations[shape(rule.rule)]["description"]
        for area in areas:
            assert f"`{area}`" in description and f"`{ability(area)}`" in description
    events = document["paths"]["/api/v2/events"]["get"]["description"]
    assert "`event.read`" in events


def test_every_operation_documents_its_errors_in_the_contract_body(
    document: dict[str, Any],
) -> None:
    responses = document["components"]["responses"]
    for path, item in document["paths"].items():
        answers = item["get"]["responses"]
        assert {"200", "401", "406", "422", "429", "503"} <= set(answers), path
        if "{" in path:
            assert "404" in answers and "403" in answers, path
        for status, response in answers.items():
            if status == "200":
                continue
            name = response["$ref"].rsplit("/", 1)[-1]
            schema_ref = responses[name]["content"]["application/json"]["schema"]["$ref"]
            schema = document["components"]["schemas"][schema_ref.rsplit("/", 1)[-1]]
            assert schema["properties"]["message"] == {"type": "string"}
            errors = schema["properties"]["errors"]["additionalProperties"]
            assert errors == {"type": "array", "items": {"type": "string"}}
            assert "message" in schema["required"]
            assert ("errors" in schema["required"]) == (status in {"406", "422"})


def test_envelopes(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    bookings = document["paths"]["/api/v2/event/{eventId}/bookings"]["get"]
    page, cursor = bookings["responses"]["200"]["content"]["application/json"]["schema"]["oneOf"]
    assert page["required"] == ["data", "links", "meta"]
    assert set(schemas["PageMeta"]["required"]) == {
        "current_page",
        "from",
        "last_page",
        "links",
        "path",
        "per_page",
        "to",
        "total",
    }
    assert schemas["PageMeta"]["properties"]["links"]["items"]["$ref"].endswith("/PageLink")
    assert set(schemas["PageLink"]["required"]) == {"url", "label", "active"}
    assert schemas["PageLink"]["properties"]["url"]["type"] == ["string", "null"]
    assert "links" not in schemas["CursorMeta"]["properties"]
    assert set(schemas["PageLinks"]["required"]) == {"first", "last", "prev", "next"}
    assert cursor["properties"]["meta"]["$ref"].endswith("/CursorMeta")
    booking = document["paths"]["/api/v2/event/{eventId}/bookings/{bookingId}"]["get"]
    single = booking["responses"]["200"]["content"]["application/json"]["schema"]
    assert single["required"] == ["data"]


def test_custom_fields_and_relations(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    ticket = schemas["Ticket"]["properties"]
    assert ticket["price"]["type"] == ["string", "null"]
    assert ticket["price"]["pattern"] == r"^-?\d+\.\d{2}$"
    assert ticket["created_at"]["format"] == "date-time"
    assert schemas["Event"]["properties"]["start_date"]["format"] == "date"
    assert schemas["EventUser"]["properties"]["active"]["type"] == "boolean"
    booking = schemas["Booking"]
    assert "tickets" in booking["properties"] and "group" in booking["properties"]
    assert "tickets" not in booking.get("required", [])


def test_a_bearer_token_is_required_everywhere(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearerAuth"]["description"],
    }
    assert {"bearerAuth": []} in document["security"]
    assert all("security" not in item["get"] for item in document["paths"].values())


@dataclass(frozen=True)
class ClosedFilter(AllowedFilter):
    """Stands for `AllowedFilter(..., choices=...)` (the shared interface) in this test."""

    choices: tuple[str, ...] | None = None


def test_a_closed_set_filter_is_offered_as_its_choices() -> None:
    statuses = ("provisional", "confirmed", "waiting_list")
    exact = AllowedFilter.exact("status")
    closed = ClosedFilter(exact.name, exact.internal_name, exact.strategy, exact.description)
    parameter = filter_parameter(replace(closed, choices=statuses), resources.bookings)
    items = {"type": "string", "enum": [*statuses]}
    assert parameter["schema"] == {"type": "array", "items": items}
    assert (parameter["style"], parameter["explode"]) == ("form", False)  # `confirmed,provisional`
    assert "`waiting_list`" in parameter["description"]
    assert filter_parameter(closed, resources.bookings)["schema"]["type"] == "string"


def test_the_stats_report_is_documented_as_json_and_csv(document: dict[str, Any]) -> None:
    stats_get = document["paths"]["/api/v2/event/{eventId}/stats"]["get"]
    declared = parameters(stats_get)
    assert declared["format"]["schema"]["enum"] == ["json", "csv"]
    assert declared["bom"]["allowEmptyValue"] is True
    assert set(stats_get["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    one_booking = document["paths"]["/api/v2/event/{eventId}/bookings/{bookingId}"]["get"]
    assert "format" not in parameters(one_booking)
    assert "406" in one_booking["responses"]
