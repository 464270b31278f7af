"""Translate Avro record schemas into pydantic v2 models.

The Avro files are the only hand-written contract; the JSON (HTTP/NDJSON/CSV) contract is
derived from them here so the two can never drift. Value rules Avro cannot express (ranges,
patterns, "required when") live in namespaced Avro attributes, which Avro tooling ignores and
which are not part of a schema's canonical form or fingerprint:

* `"ledgerline.constraints"` on a field: JSON-Schema keywords `minimum`, `maximum`, `pattern`,
  `minLength`, `maxLength`, applied to the field's non-null value.
* `"ledgerline.required_when"` on a nullable field: `{"<sibling>": [values...]}`; the field must
  be non-null when the sibling has one of the values (checked by `json_contract`).

Type mapping: int/long -> strict int within the Avro range (10.0, "10" and true are refused, so
money can never arrive as a float); string -> strict str; boolean -> strict bool; enum ->
Literal; record -> nested model with `extra="forbid"`; `["null", X]` -> Optional[X];
timestamp-micros -> timezone-aware datetime normalised to UTC (naive and numeric timestamps are
refused because their instant is ambiguous); date -> date (ISO `YYYY-MM-DD` only). float and
double are refused outright: Ledgerline contracts carry no floating-point numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, cast

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    create_model,
)
from pydantic_core import PydanticCustomError

CONSTRAINTS_KEY = "ledgerline.constraints"
REQUIRED_WHEN_KEY = "ledgerline.required_when"

_INT_RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_CONSTRAINT_NAMES = {
    "minimum": "ge",
    "maximum": "le",
    "pattern": "pattern",
    "minLength": "min_length",
    "maxLength": "max_length",
}
_MODEL_CONFIG = ConfigDict(extra="forbid", strict=False)


class SchemaTranslationError(TypeError):
    """An Avro construct the JSON contract deliberately does not support (e.g. floats)."""


def _timestamp_input(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError(
        "invalid_datetime", "expected an ISO-8601 timestamp with a UTC offset, e.g. 2024-01-31T12:00:00Z"
    )


def _to_utc(value: datetime) -> datetime:
    """Year-1 and year-9999 instants can fall outside datetime's range once moved to UTC: that is
    the sender's out-of-range value (a 422 / a reject), never an OverflowError from the validator."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError(
            "timestamp_out_of_range", "the timestamp is outside the representable range once converted to UTC"
        ) from None


def _date_input(value: object) -> object:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError("invalid_date", "expected an ISO-8601 calendar date YYYY-MM-DD")


UtcTimestamp = Annotated[AwareDatetime, BeforeValidator(_timestamp_input), AfterValidator(_to_utc)]
CalendarDate = Annotated[date, BeforeValidator(_date_input)]


@dataclass(frozen=True)
class RequiredWhen:
    """`path.field` must be non-null when `path.sibling` is one of `values`."""

    path: tuple[str, ...]
    field: str
    sibling: str
    values: frozenset[str]

    @property
    def dotted(self) -> str:
        return ".".join((*self.path, self.field))


@dataclass
class TranslatedRecord:
    model: type[BaseModel]
    required_when: list[RequiredWhen]


class AvroModelBuilder:
    """Builds one pydantic model per Avro record; identical records share one model class."""

    _shared_models: dict[str, type[BaseModel]] = {}

    def __init__(self, extra_constraints: dict[str, dict[str, Any]] | None = None) -> None:
        # Top-level field name -> additional constraints (e.g. schema_version <= latest).
        self._extra_constraints = extra_constraints or {}
        self._named: dict[str, Any] = {}
        self.required_when: list[RequiredWhen] = []

    def build(self, schema: dict[str, Any]) -> TranslatedRecord:
        model = self._record(schema, schema.get("namespace", ""), path=())
        return TranslatedRecord(model, self.required_when)

    def _record(self, schema: dict[str, Any], namespace: str, path: tuple[str, ...]) -> type[BaseModel]:
        namespace = schema.get("namespace", namespace)
        fields: dict[str, Any] = {}
        for field in schema["fields"]:
            name = field["name"]
            constraints = dict(field.get(CONSTRAINTS_KEY, {}))
            if not path:
                constraints.update(self._extra_constraints.get(name, {}))
            annotation = self._type(field["type"], namespace, constraints, (*path, name))
            default = field.get("default", ...)
            fields[name] = (annotation, Field(default=default, description=field.get("doc")))
            for sibling, values in field.get(REQUIRED_WHEN_KEY, {}).items():
                self.required_when.append(RequiredWhen(path, name, sibling, frozenset(values)))
        extra = None if path else self._extra_constraints
        key = json.dumps([schema["name"], namespace, schema["fields"], extra], sort_keys=True)
        model = self._shared_models.get(key)
        if model is None:
            model = create_model(schema["name"], __config__=_MODEL_CONFIG, __doc__=schema.get("doc"), **fields)
            self._shared_models[key] = model
        self._named[_full_name(schema["name"], namespace)] = model
        return model

    def _type(self, avro: Any, namespace: str, constraints: dict[str, Any], path: tuple[str, ...]) -> Any:
        if isinstance(avro, list):
            branches = [branch for branch in avro if branch != "null"]
            if len(branches) != 1 or len(avro) != 2:
                raise SchemaTranslationError(f'{".".join(path)}: only ["null", T] unions are supported')
            return self._type(branches[0], namespace, constraints, path) | None
        if isinstance(avro, str):
            if avro in self._named or _full_name(avro, namespace) in self._named:
                return self._named.get(avro) or self._named[_full_name(avro, namespace)]
            return _primitive(avro, None, constraints, path)
        kind = avro["type"]
        if kind == "record":
            return self._record(avro, namespace, path)
        if kind == "enum":
            enum_type = Literal[tuple(avro["symbols"])]  # type: ignore[valid-type]
            self._named[_full_name(avro["name"], avro.get("namespace", namespace))] = enum_type
            return enum_type
        if kind == "array":
            return cast(Any, list)[self._type(avro["items"], namespace, {}, path)]
        if kind == "map":
            return cast(Any, dict)[str, self._type(avro["values"], namespace, {}, path)]
        return _primitive(kind, avro.get("logicalType"), constraints, path)


def _primitive(kind: str, logical: str | None, constraints: dict[str, Any], path: tuple[str, ...]) -> Any:
    if kind in ("float", "double", "bytes", "fixed"):
        raise SchemaTranslationError(f"{'.'.join(path)}: Avro {kind} is not allowed in contracts")
    if logical == "timestamp-micros" and kind == "long":
        return UtcTimestamp
    if logical == "date" and kind == "int":
        return CalendarDate
    field_kwargs = {_CONSTRAINT_NAMES[name]: value for name, value in constraints.items()}
    if kind in _INT_RANGES:
        low, high = _INT_RANGES[kind]
        field_kwargs["ge"] = max(field_kwargs.get("ge", low), low)
        field_kwargs["le"] = min(field_kwargs.get("le", high), high)
        return Annotated[int, Strict(), Field(**field_kwargs)]
    if kind == "string":
        return Annotated[str, Strict(), Field(**field_kwargs)]
    if kind == "boolean":
        return Annotated[bool, Strict()]
    raise SchemaTranslationError(f"{'.'.join(path)}: unsupported Avro type {kind!r}")


def _full_name(name: str, namespace: str) -> str:
    return name if "." in name or not namespace else f"{namespace}.{name}"
