"""Generated events meet the contract and tell a plausible, internally consistent story."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Any

import pytest

from platform_common.topics import Family
from schemas import ContractViolation, catalog, serializer, to_json, validate_event
from tests.unit.producers.sample_data_fixtures import small_events, small_good_events, small_result


def _good() -> tuple[tuple[Family, dict[str, Any]], ...]:
    return small_good_events()


def test_every_good_event_meets_the_contract_and_round_trips_through_avro() -> None:
    codec = serializer()
    for family, event in _good():
        record = validate_event(family, event)
        assert to_json(codec.decode(codec.encode(family.value, record)).record) == event
        assert event["schema_version"] == catalog().latest(family.value).version


def test_bad_records_are_caught_by_the_intended_safeguard() -> None:
    ids = small_result().ground_truth["bad_records"]["event_ids_by_kind"]
    rejected: Counter[str] = Counter()
    for family, event in small_events():
        event_id = event.get("event_id")
        for kind, expected_code in (("missing_field", "missing"), ("negative_amount", "out_of_range")):
            if event_id in ids[kind]:
                with pytest.raises(ContractViolation) as caught:
                    validate_event(family, event)
                assert [error["code"] for error in caught.value.errors] == [expected_code]
                rejected[kind] += 1
        if event_id in ids["unknown_plan"]:
            validate_event(family, event)  # the contract cannot know the price book
    assert rejected == {"missing_field": len(ids["missing_field"]), "negative_amount": len(ids["negative_amount"])}


def test_no_float_anywhere() -> None:
    def walk(value: Any) -> None:
        assert not isinstance(value, float)
        if isinstance(value, dict):
            for item in value.values():
                walk(item)

    for _, event in small_events():
        walk(event)


def test_reference_data_covers_regions_currencies_and_billing_intervals() -> None:
    reference = small_result().reference
    regions = {region["region_id"]: region["currency"] for region in reference["regions"]}
    assert len(regions) >= 4
    assert {"USD", "EUR"} <= set(regions.values())
    assert {plan["billing_interval"] for plan in reference["plans"]} == {"month", "year", "multi_year"}
    assert any(plan["billing_interval"] == "multi_year" and plan["interval_count"] >= 2 for plan in reference["plans"])
    assert len({plan["tier_id"] for plan in reference["plans"]}) >= 4
    for _, event in _good():
        assert event["region_id"] in regions
        if "currency" in event:
            assert event["currency"] == regions[event["region_id"]]
        if "plan_id" in event:
            assert event["plan_id"] in {plan["plan_id"] for plan in reference["plans"]}


def test_the_subscription_story_is_complete_and_ordered_per_subscription() -> None:
    types = small_result().ground_truth["counts"]["good_by_family_event_type"]
    assert set(types["subscription"]) == {
        "created", "trial_started", "trial_converted", "activated", "plan_changed",
        "paused", "resumed", "canceled", "reactivated",
    }  # fmt: skip
    assert set(types["payment"]) >= {"invoice_paid", "payment_failed", "refunded"}
    last_time: dict[str, str] = {}
    reasons: Counter[str] = Counter()
    for family, event in _good():
        if family is not Family.SUBSCRIPTION:
            continue
        assert event["event_time"] >= last_time.get(event["subscription_id"], ""), "per-subscription order"
        last_time[event["subscription_id"]] = event["event_time"]
        if event["event_type"] == "canceled":
            assert event["effective_date"] is not None
            assert event["cancel_reason"]
            assert event["effective_date"] >= event["event_time"][:10]
            reasons[event["cancel_reason"]] += 1
        if event["event_type"] == "plan_changed":
            assert event["change_kind"] in {"upgrade", "downgrade", "quantity_change"}
    assert {"trial_expired", "payment_failed"} <= set(reasons)


def test_invoices_are_keyed_to_billing_periods() -> None:
    paid_per_invoice: Counter[str] = Counter()
    # Not "seen before": a late invoice_paid may legitimately arrive after its refund.
    paid_payments = {event["payment_id"] for _, event in _good() if event["event_type"] == "invoice_paid"}
    for family, event in _good():
        if family is not Family.PAYMENT:
            continue
        start, end = date.fromisoformat(event["service_period_start"]), date.fromisoformat(event["service_period_end"])
        assert start <= end
        assert (end - start).days + 1 in range(28, 2 * 366 + 1)
        if event["event_type"] == "invoice_paid":
            paid_per_invoice[event["invoice_id"]] += 1
            assert event["event_time"][:10] >= event["service_period_start"]
        if event["event_type"] in ("refunded", "chargeback"):
            assert event["payment_id"] in paid_payments
        if event["event_type"] == "payment_failed":
            assert event["failure_reason"]
    assert set(paid_per_invoice.values()) == {1}


def test_usage_has_two_metrics_and_weekly_seasonality() -> None:
    per_weekday: dict[bool, list[int]] = defaultdict(list)
    metrics: Counter[tuple[str, str]] = Counter()
    for family, event in _good():
        if family is Family.USAGE:
            metrics[(event["metric"], event["unit"])] += 1
            if event["metric"] == "api_calls":
                is_weekend = date.fromisoformat(event["usage_date"]).weekday() >= 5
                per_weekday[is_weekend].append(event["quantity"])
    assert set(metrics) == {("api_calls", "calls"), ("seats_active", "seats")}
    weekday_mean = sum(per_weekday[False]) / len(per_weekday[False])
    weekend_mean = sum(per_weekday[True]) / len(per_weekday[True])
    assert weekday_mean > 2 * weekend_mean


def test_costs_cover_every_region_category_and_month() -> None:
    truth = small_result().ground_truth
    costs = {
        (event["region_id"], event["category"], event["period_start"])
        for family, event in _good()
        if family is Family.OPERATIONAL_COST
    }
    regions, categories = len(small_result().reference["regions"]), len(small_result().reference["cost_categories"])
    assert len(costs) == regions * categories * truth["generator"]["params"]["months"]
