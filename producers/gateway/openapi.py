"""OpenAPI for the gateway: each family's request body is its contract's JSON Schema.

Handlers read the raw body (they need the exact bytes for idempotency fingerprints and orjson
for speed), so FastAPI cannot infer the request schemas; they are attached here from
`schemas.event_json_schema`, with each schema's `$defs` hoisted into `components/schemas`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

import schemas
from platform_common.topics import Family


class FieldError(BaseModel):
    field: str
    reason: str
    code: str


class ErrorBody(BaseModel):
    error: str
    detail: str
    errors: list[FieldError] | None = None


class EventAccepted(BaseModel):
    status: str
    family: str
    event_id: str
    trace_id: str
    received_at: str
    partition: int
    offset: int


class EventResult(BaseModel):
    index: int
    event_id: str | None
    status: str  # accepted | rejected | not_produced
    partition: int | None = None
    offset: int | None = None
    errors: list[FieldError] | None = None


class BatchResult(BaseModel):
    family: str
    trace_id: str
    received_at: str
    accepted: int
    rejected: int
    results: list[EventResult]


def _camel(family: Family) -> str:
    return "".join(part.capitalize() for part in family.value.split("_"))


def event_component(family: Family) -> str:
    return f"{_camel(family)}Event"


def request_body(family: Family, batch: bool, max_batch_events: int) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{event_component(family)}"}
    schema = (
        {
            "type": "object",
            "required": ["events"],
            "additionalProperties": False,
            "properties": {"events": {"type": "array", "items": ref, "minItems": 1, "maxItems": max_batch_events}},
        }
        if batch
        else ref
    )
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _rewrite_refs(node: Any, prefix: str) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                value.replace("#/$defs/", f"#/components/schemas/{prefix}")
                if key == "$ref" and isinstance(value, str)
                else _rewrite_refs(value, prefix)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(item, prefix) for item in node]
    return node


def contract_components() -> dict[str, Any]:
    components: dict[str, Any] = {}
    for family in Family:
        schema = schemas.event_json_schema(family)
        prefix = _camel(family)
        for name, definition in schema.pop("$defs", {}).items():
            components[f"{prefix}{name}"] = _rewrite_refs(definition, prefix)
        components[event_component(family)] = _rewrite_refs(schema, prefix)
    return components


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            components = spec.setdefault("components", {})
            components.setdefault("schemas", {}).update(contract_components())
            components["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Ledgerline API key"},
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            }
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
