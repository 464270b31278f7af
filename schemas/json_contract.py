"""The JSON face of the Avro contracts: validation, JSON Schema, and Avro -> JSON rendering.

The gateway and the batch loader receive JSON; the platform stores and ships Avro. Instead of
a second hand-kept JSON schema, each family's pydantic model is derived from the latest Avro
schema (see `avro_to_pydantic`), built once and cached, so a request only pays for
validation. `validate_event` returns a record `SingleObjectSerializer.encode` accepts as-is,
and `to_json` renders a decoded record back into the same JSON, so JSON -> Avro -> JSON is
lossless.

Canonical JSON: timestamps are ISO-8601 in UTC with a `Z` suffix and microseconds only when
non-zero (`2024-01-31T12:00:00Z`, `2024-01-31T12:00:00.250000Z`); dates are `YYYY-MM-DD`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from platform_common.topics import Family
from schemas.avro_to_pydantic import AvroModelBuilder, RequiredWhen
from schemas.registry import catalog

# Stable, documented error codes: API clients branch on these, so they must not change when
# pydantic renames its internal error types.
_ERROR_CODES = {
    "missing": "missing",
    "extra_forbidden": "unknown_field",
    "int_type": "not_an_integer",
    "int_parsing": "not_an_integer",
    "int_from_float": "not_an_integer",
    "string_type": "not_a_string",
    "bool_type": "not_a_boolean",
    "literal_error": "unknown_symbol",
    "string_pattern_mismatch": "pattern_mismatch",
    "string_too_short": "too_short",
    "string_too_long": "too_long",
    "greater_than_equal": "out_of_range",
    "less_than_equal": "out_of_range",
    "timezone_aware": "naive_datetime",
    "datetime_type": "invalid_datetime",
    "datetime_parsing": "invalid_datetime",
    "date_type": "invalid_date",
    "date_parsing": "invalid_date",
    "model_type": "not_an_object",
    "model_attributes_type": "not_an_object",
    "dict_type": "not_an_object",
    "list_type": "not_a_list",
}


class ContractViolation(ValueError):
    """A payload that does not satisfy its family's contract.

    `errors` lists every problem as `{"field": dotted path, "reason": human text, "code":
    stable machine code}` so one response tells a producer everything it must fix.
    """

    def __init__(self, family: Family, errors: list[dict[str, str]]) -> None:
        self.family = family
        self.errors = errors
        summary = "; ".join(f"{error['field'] or '<event>'}: {error['reason']}" for error in errors[:5])
        more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"{family.value} event violates its contract: {summary}{more}")

    def __reduce__(self) -> tuple[type[ContractViolation], tuple[Family, list[dict[str, str]]]]:
        # Default exception pickling replays only the message; worker pools need the errors too.
        return (type(self), (self.family, self.errors))


@dataclass(frozen=True)
class _Contract:
    model: type[BaseModel]
    required_when: tuple[RequiredWhen, ...]
    json_schema: dict[str, Any]


@cache
def _contract(family: Family) -> _Contract:
    latest = catalog().latest(family.value)
    # A producer cannot have written against a version this process does not know.
    builder = AvroModelBuilder({"schema_version": {"maximum": latest.version}})
    translated = builder.build(latest.schema)
    json_schema = translated.model.model_json_schema()
    json_schema["x-avro-subject"] = family.value
    json_schema["x-avro-schema-version"] = latest.version
    return _Contract(translated.model, tuple(translated.required_when), json_schema)


def validate_event(family: Family | str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Check `payload` against the latest contract of `family` and return the Avro-ready record.

    The record has every field of the latest schema (absent optional fields get their Avro
    default), timestamps as UTC datetimes and dates as `date`. Raises `ContractViolation`.
    """
    resolved = Family(family)
    contract = _contract(resolved)
    if not isinstance(payload, Mapping):
        raise ContractViolation(
            resolved, [{"field": "", "reason": "event must be a JSON object", "code": "not_an_object"}]
        )
    try:
        record = contract.model.model_validate(payload if isinstance(payload, dict) else dict(payload)).model_dump()
    except ValidationError as error:
        raise ContractViolation(resolved, _translate(error)) from None
    problems = [
        {
            "field": rule.dotted,
            "reason": f"required when {rule.sibling} is {_sibling(record, rule)!r}",
            "code": "conditionally_required",
        }
        for rule in contract.required_when
        if _violates(record, rule)
    ]
    if problems:
        raise ContractViolation(resolved, problems)
    return record


def event_json_schema(family: Family | str) -> dict[str, Any]:
    """JSON Schema (draft 2020-12, as pydantic emits it) of `family`'s latest contract.

    Returns a copy, so callers such as an OpenAPI generator may mutate it freely.
    """
    return copy.deepcopy(_contract(Family(family)).json_schema)


def to_json(record: Mapping[str, Any]) -> dict[str, Any]:
    """Render an Avro record (as decoded or as returned by `validate_event`) as canonical JSON."""
    return {key: _json_value(value) for key, value in record.items()}


def format_timestamp(value: datetime) -> str:
    """Canonical JSON text of an aware datetime: UTC, `Z` suffix, microseconds if non-zero."""
    if value.tzinfo is None:
        raise ValueError("refusing to render a naive datetime; its instant is ambiguous")
    return value.astimezone(UTC).isoformat()[:-6] + "Z"


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, str | int):
        return value
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return to_json(value)
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    raise TypeError(f"no canonical JSON form for {type(value).__name__}; contracts carry no floats")


def _translate(error: ValidationError) -> list[dict[str, str]]:
    return [
        {
            "field": ".".join(str(part) for part in detail["loc"]),
            "reason": detail["msg"],
            "code": _ERROR_CODES.get(detail["type"], detail["type"]),
        }
        for detail in error.errors(include_url=False)
    ]


def _parent(record: dict[str, Any], rule: RequiredWhen) -> dict[str, Any] | None:
    node: Any = record
    for part in rule.path:
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def _sibling(record: dict[str, Any], rule: RequiredWhen) -> Any:
    parent = _parent(record, rule)
    return None if parent is None else parent.get(rule.sibling)


def _violates(record: dict[str, Any], rule: RequiredWhen) -> bool:
    parent = _parent(record, rule)
    return parent is not None and parent.get(rule.sibling) in rule.values and parent.get(rule.field) is None
