"""JSON -> validate -> Avro single-object bytes -> decode -> JSON must be the identity."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from platform_common.topics import Family
from schemas import serializer, to_json, validate_event
from tests.unit.schemas.examples import EXAMPLES, example


@pytest.mark.parametrize("family", list(Family))
def test_every_family_round_trips_exactly(family: Family) -> None:
    event = EXAMPLES[family]
    record = validate_event(family, event)
    data = serializer().encode(family.value, record)
    decoded = serializer().decode(data)
    assert decoded.subject == family.value
    assert decoded.writer_version == serializer().catalog.latest(family.value).version
    assert to_json(decoded.record) == event
    assert to_json(record) == event


@pytest.mark.parametrize("family", [Family.PAYMENT, Family.OPERATIONAL_COST])
def test_money_stays_an_exact_int(family: Family) -> None:
    record = validate_event(family, EXAMPLES[family])
    decoded = serializer().decode(serializer().encode(family.value, record)).record
    assert type(decoded["amount_minor"]) is int
    assert decoded["amount_minor"] == EXAMPLES[family]["amount_minor"]


def test_validated_record_is_avro_ready_python() -> None:
    record = validate_event(Family.SUBSCRIPTION, EXAMPLES[Family.SUBSCRIPTION])
    assert record["event_time"] == datetime(2024, 3, 31, 23, 59, 59, 123456, tzinfo=UTC)
    assert record["event_time"].tzinfo is UTC
    assert record["effective_date"] == date(2024, 4, 1)
    assert type(record["unit_price_minor"]) is int
    assert record["discount"]["percent_basis_points"] == 1500


def test_offsets_are_normalised_to_utc_and_rendered_with_z() -> None:
    record = validate_event(Family.USAGE, example(Family.USAGE, event_time="2024-04-01T01:30:00+02:00"))
    assert record["event_time"] == datetime(2024, 3, 31, 23, 30, tzinfo=UTC)
    assert record["event_time"].utcoffset() is not None
    assert to_json(record)["event_time"] == "2024-03-31T23:30:00Z"


def test_gateway_fields_and_optional_fields_may_be_absent() -> None:
    event = example(Family.PAYMENT, metadata={"producer": "p"})
    del event["payment_method"]
    del event["failure_reason"]
    record = validate_event(Family.PAYMENT, event)
    assert record["metadata"] == {"received_at": None, "producer": "p", "trace_id": None}
    assert record["payment_method"] is None
    assert record["failure_reason"] is None


def test_non_null_avro_default_is_applied() -> None:
    event = example(Family.USAGE)
    del event["is_billable"]
    assert validate_event(Family.USAGE, event)["is_billable"] is True


def test_datetime_and_date_objects_are_accepted_for_loaders() -> None:
    event = example(Family.USAGE, event_time=datetime(2024, 3, 31, tzinfo=UTC), usage_date=date(2024, 3, 30))
    record = validate_event(Family.USAGE, event)
    assert record["usage_date"] == date(2024, 3, 30)


def test_to_json_refuses_floats_and_naive_datetimes() -> None:
    with pytest.raises(TypeError):
        to_json({"amount_minor": 10.5})
    with pytest.raises(ValueError, match="naive"):
        to_json({"event_time": datetime(2024, 1, 1)})  # naive on purpose


def test_validation_returns_fresh_objects() -> None:
    event = example(Family.SUBSCRIPTION)
    first = validate_event(Family.SUBSCRIPTION, event)
    first["discount"]["percent_basis_points"] = 1
    assert validate_event(Family.SUBSCRIPTION, event)["discount"]["percent_basis_points"] == 1500
    assert event == EXAMPLES[Family.SUBSCRIPTION]
