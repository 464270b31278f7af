"""The OpenAPI-facing JSON Schema is derived from the latest Avro schema, never hand-kept."""

from __future__ import annotations

import time

import pytest

from platform_common.topics import Family
from schemas import catalog, event_json_schema, validate_event
from schemas.avro_to_pydantic import AvroModelBuilder, SchemaTranslationError
from tests.unit.schemas.examples import EXAMPLES


@pytest.mark.parametrize("family", list(Family))
def test_json_schema_mirrors_the_latest_avro_schema(family: Family) -> None:
    latest = catalog().latest(family.value)
    schema = event_json_schema(family)
    assert schema["additionalProperties"] is False
    assert list(schema["properties"]) == [field["name"] for field in latest.schema["fields"]]
    assert sorted(schema["required"]) == sorted(
        field["name"] for field in latest.schema["fields"] if "default" not in field
    )
    assert schema["x-avro-subject"] == family.value
    assert schema["x-avro-schema-version"] == latest.version
    for field in latest.schema["fields"]:
        assert schema["properties"][field["name"]]["description"] == field["doc"]
    event_type = latest.schema["fields"][1]["type"]
    event_type_schema = schema["properties"]["event_type"]
    assert event_type_schema.get("enum", [event_type_schema.get("const")]) == event_type["symbols"]
    assert schema["properties"]["event_time"]["format"] == "date-time"


def test_money_and_currency_constraints_reach_the_json_schema() -> None:
    properties = event_json_schema(Family.PAYMENT)["properties"]
    assert properties["amount_minor"]["type"] == "integer"
    assert properties["amount_minor"]["minimum"] == 0
    assert properties["currency"]["pattern"] == "^[A-Z]{3}$"
    assert properties["service_period_start"]["format"] == "date"


def test_callers_get_a_copy() -> None:
    event_json_schema(Family.USAGE)["properties"].clear()
    assert event_json_schema(Family.USAGE)["properties"]


def test_a_new_avro_field_appears_in_the_derived_contract() -> None:
    schema = dict(catalog().latest("usage").schema)
    schema["fields"] = [
        *schema["fields"],
        {"name": "sku", "type": ["null", "string"], "default": None, "doc": "d"},
    ]
    model = AvroModelBuilder().build(schema).model
    assert "sku" in model.model_fields
    assert model.model_fields["sku"].default is None


def test_floats_cannot_enter_a_contract() -> None:
    schema = {"type": "record", "name": "Bad", "fields": [{"name": "price", "type": "double", "doc": "d"}]}
    with pytest.raises(SchemaTranslationError, match="double"):
        AvroModelBuilder().build(schema)


def test_validation_is_fast_enough_for_the_gateway() -> None:
    """The gateway needs >= 10k events/s on 2 workers, i.e. >= 5k/s per process."""
    events = [(family, EXAMPLES[family]) for family in Family] * 500
    started = time.perf_counter()
    for family, event in events:
        validate_event(family, event)
    rate = len(events) / (time.perf_counter() - started)
    assert rate >= 5_000, f"only {rate:,.0f} events/s"
