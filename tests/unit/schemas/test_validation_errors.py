"""Every rejection names the offending field with a dotted path and a stable code."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from typing import Any

import pytest

from platform_common.topics import Family
from schemas import ContractViolation, validate_event
from tests.unit.schemas.examples import example


def _errors(family: Family, payload: Mapping[str, Any]) -> list[dict[str, str]]:
    with pytest.raises(ContractViolation) as caught:
        validate_event(family, payload)
    assert caught.value.family is family
    for error in caught.value.errors:
        assert set(error) == {"field", "reason", "code"}
        assert error["reason"]
    return caught.value.errors


def _codes(family: Family, payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(error["field"], error["code"]) for error in _errors(family, payload)]


def test_missing_required_field() -> None:
    event = example(Family.PAYMENT)
    del event["customer_id"]
    assert _codes(Family.PAYMENT, event) == [("customer_id", "missing")]


def test_missing_nested_required_field() -> None:
    assert _codes(Family.USAGE, example(Family.USAGE, metadata={})) == [("metadata.producer", "missing")]


def test_unknown_fields_are_rejected_at_every_level() -> None:
    event = example(Family.USAGE, colour="blue")
    event["metadata"]["shard"] = 3
    assert sorted(_codes(Family.USAGE, event)) == [("colour", "unknown_field"), ("metadata.shard", "unknown_field")]


@pytest.mark.parametrize("amount", [10.5, 10.0, "1000", True, None])
def test_money_must_be_a_json_integer(amount: object) -> None:
    codes = _codes(Family.PAYMENT, example(Family.PAYMENT, amount_minor=amount))
    assert codes == [("amount_minor", "not_an_integer")]


def test_nested_money_rejects_floats_too() -> None:
    discount = {"kind": "amount", "amount_minor": 99.5}
    assert _codes(Family.SUBSCRIPTION, example(Family.SUBSCRIPTION, discount=discount)) == [
        ("discount.amount_minor", "not_an_integer")
    ]


def test_negative_amount_is_out_of_range() -> None:
    assert _codes(Family.PAYMENT, example(Family.PAYMENT, amount_minor=-1)) == [("amount_minor", "out_of_range")]


def test_amount_beyond_avro_long_is_out_of_range() -> None:
    assert _codes(Family.PAYMENT, example(Family.PAYMENT, amount_minor=2**63)) == [("amount_minor", "out_of_range")]


def test_naive_datetime_is_rejected() -> None:
    assert _codes(Family.USAGE, example(Family.USAGE, event_time="2024-03-31T12:00:00")) == [
        ("event_time", "naive_datetime")
    ]


def test_naive_nested_datetime_is_rejected() -> None:
    metadata = {"producer": "p", "received_at": "2024-03-31T12:00:00"}
    assert _codes(Family.USAGE, example(Family.USAGE, metadata=metadata)) == [
        ("metadata.received_at", "naive_datetime")
    ]


@pytest.mark.parametrize("value", [1_711_886_400, "1711886400", "yesterday", "2024-13-01T00:00:00Z"])
def test_timestamps_must_be_iso_text(value: object) -> None:
    assert _codes(Family.USAGE, example(Family.USAGE, event_time=value)) == [("event_time", "invalid_datetime")]


@pytest.mark.parametrize("value", ["2024-03-31T00:00:00Z", "20240331", 19_813, "2024-02-30"])
def test_dates_must_be_iso_calendar_dates(value: object) -> None:
    assert _codes(Family.USAGE, example(Family.USAGE, usage_date=value)) == [("usage_date", "invalid_date")]


@pytest.mark.parametrize("currency", ["usd", "US", "EURO", "U5D", ""])
def test_currency_must_be_three_uppercase_letters(currency: str) -> None:
    assert _codes(Family.OPERATIONAL_COST, example(Family.OPERATIONAL_COST, currency=currency)) == [
        ("currency", "pattern_mismatch")
    ]


def test_nested_discount_errors_have_dotted_paths() -> None:
    discount = {"kind": "percent", "percent_basis_points": 10_001, "duration_months": 0}
    assert sorted(_codes(Family.SUBSCRIPTION, example(Family.SUBSCRIPTION, discount=discount))) == [
        ("discount.duration_months", "out_of_range"),
        ("discount.percent_basis_points", "out_of_range"),
    ]


def test_unknown_enum_symbols_are_rejected() -> None:
    discount = {"kind": "voucher", "amount_minor": 100}
    assert sorted(
        _codes(Family.SUBSCRIPTION, example(Family.SUBSCRIPTION, discount=discount, billing_interval="week"))
    ) == [("billing_interval", "unknown_symbol"), ("discount.kind", "unknown_symbol")]


def test_fields_required_for_an_event_type() -> None:
    event = example(Family.SUBSCRIPTION, event_type="canceled", effective_date=None, cancel_reason=None)
    assert sorted(_codes(Family.SUBSCRIPTION, event)) == [
        ("cancel_reason", "conditionally_required"),
        ("effective_date", "conditionally_required"),
    ]
    assert _codes(Family.SUBSCRIPTION, example(Family.SUBSCRIPTION, change_kind=None)) == [
        ("change_kind", "conditionally_required")
    ]
    assert _codes(Family.PAYMENT, example(Family.PAYMENT, event_type="payment_failed")) == [
        ("failure_reason", "conditionally_required")
    ]


def test_discount_fields_required_for_its_kind() -> None:
    assert _codes(Family.SUBSCRIPTION, example(Family.SUBSCRIPTION, discount={"kind": "amount"})) == [
        ("discount.amount_minor", "conditionally_required")
    ]
    assert _codes(Family.SUBSCRIPTION, example(Family.SUBSCRIPTION, discount={"kind": "percent"})) == [
        ("discount.percent_basis_points", "conditionally_required")
    ]


def test_schema_version_must_be_known() -> None:
    assert _codes(Family.USAGE, example(Family.USAGE, schema_version=3)) == [("schema_version", "out_of_range")]
    assert _codes(Family.USAGE, example(Family.USAGE, schema_version=0)) == [("schema_version", "out_of_range")]
    assert validate_event(Family.USAGE, example(Family.USAGE, schema_version=1))["schema_version"] == 1


def test_strings_are_not_coerced_and_must_not_be_empty() -> None:
    assert sorted(_codes(Family.USAGE, example(Family.USAGE, customer_id=42, metric=""))) == [
        ("customer_id", "not_a_string"),
        ("metric", "too_short"),
    ]


def test_all_problems_are_reported_at_once() -> None:
    event = example(Family.PAYMENT, amount_minor=1.5, currency="usd", event_time="2024-01-01T00:00:00", x=1)
    del event["invoice_id"]
    assert sorted(_codes(Family.PAYMENT, event)) == [
        ("amount_minor", "not_an_integer"),
        ("currency", "pattern_mismatch"),
        ("event_time", "naive_datetime"),
        ("invoice_id", "missing"),
        ("x", "unknown_field"),
    ]


@pytest.mark.parametrize("payload", [[], "event", None, 7])
def test_payload_must_be_an_object(payload: Any) -> None:
    assert _codes(Family.USAGE, payload) == [("", "not_an_object")]


def test_nested_record_must_be_an_object() -> None:
    assert _codes(Family.USAGE, example(Family.USAGE, metadata="p")) == [("metadata", "not_an_object")]


def test_violation_is_a_value_error_with_a_readable_message() -> None:
    with pytest.raises(ValueError, match=r"payment event violates its contract: amount_minor"):
        validate_event("payment", example(Family.PAYMENT, amount_minor=-5))


def test_violation_survives_pickling_across_processes() -> None:
    with pytest.raises(ContractViolation) as caught:
        validate_event(Family.PAYMENT, example(Family.PAYMENT, amount_minor=-5))
    restored = pickle.loads(pickle.dumps(caught.value))  # noqa: S301 - our own object
    assert restored.errors == caught.value.errors
    assert restored.family is Family.PAYMENT
    assert str(restored) == str(caught.value)


def test_unknown_family_is_refused() -> None:
    with pytest.raises(ValueError, match="invoices"):
        validate_event("invoices", {})


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_timestamp_outside_the_utc_range_is_a_violation_not_a_crash(stamp: str) -> None:
    assert _codes(Family.PAYMENT, example(Family.PAYMENT, event_time=stamp)) == [
        ("event_time", "timestamp_out_of_range")
    ]
