"""The ground truth must equal what a correct pipeline derives from the good events."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

from platform_common.topics import Family
from producers.sample_data import BadKind
from tests.unit.producers.sample_data_fixtures import SMALL, small_events, small_result
from tests.unit.producers.sample_data_replay import good_events, month_end_metrics


def test_counts_equal_the_generated_good_events() -> None:
    truth = small_result().ground_truth
    good = good_events(small_events(), truth)
    counts = truth["counts"]
    by_type: dict[str, Counter[str]] = defaultdict(Counter)
    for family, event in good:
        by_type[family.value][event["event_type"]] += 1
    assert counts["good_total"] == len(good)
    assert counts["good_by_family_event_type"] == {family: dict(types) for family, types in by_type.items()}
    assert counts["good_by_family"] == {family: sum(types.values()) for family, types in by_type.items()}
    assert counts["expected_clean_by_family"] == counts["good_by_family"]
    assert counts["sent_total"] == len(small_events()) == len(small_result())
    assert counts["sent_by_family"] == dict(Counter(family.value for family, _ in small_events()))


def test_injected_bad_records_are_counted_as_configured() -> None:
    truth = small_result().ground_truth["bad_records"]
    good_total = small_result().ground_truth["counts"]["good_total"]
    expected_total = round(SMALL.bad_record_share * good_total)
    assert truth["total"] == expected_total == sum(truth["by_kind"].values())
    assert set(truth["by_kind"]) == {kind.value for kind in BadKind}
    assert max(truth["by_kind"].values()) - min(truth["by_kind"].values()) <= 1
    assert truth["by_kind"] == truth["requested_by_kind"]
    for kind, ids in truth["event_ids_by_kind"].items():
        assert len(ids) == truth["by_kind"][kind] == sum(truth["by_kind_family"][kind].values())
    sent = Counter(family.value for family, _ in small_events())
    assert sum(sent.values()) == good_total + expected_total


def test_bad_records_look_as_documented() -> None:
    truth = small_result().ground_truth
    ids = {kind: set(values) for kind, values in truth["bad_records"]["event_ids_by_kind"].items()}
    plans = {plan["plan_id"] for plan in small_result().reference["plans"]}
    first: dict[str, dict[str, object]] = {}
    found: Counter[str] = Counter()
    for _, event in small_events():
        event_id = str(event.get("event_id"))
        if event_id in ids["missing_field"]:
            found["missing_field"] += 1
        elif event_id in ids["negative_amount"]:
            assert event["event_type"] == "invoice_paid"
            assert event["amount_minor"] < 0
            found["negative_amount"] += 1
        elif event_id in ids["unknown_plan"]:
            assert event["plan_id"] not in plans
            found["unknown_plan"] += 1
        elif event_id in first:
            kind = "exact_duplicate" if event == first[event_id] else "conflicting_duplicate"
            assert event_id in ids[kind]
            found[kind] += 1
        else:
            first[event_id] = event
    assert dict(found) == truth["bad_records"]["by_kind"]


def test_late_events_arrive_days_after_newer_events() -> None:
    truth = small_result().ground_truth
    late = set(truth["late_events"]["event_ids"])
    good_total = truth["counts"]["good_total"]
    assert truth["late_events"]["count"] == len(late) == round(SMALL.late_share * good_total)
    assert truth["late_events"]["included_in_totals"] is True
    assert "subscription" not in truth["late_events"]["by_family"]
    window_end = datetime.fromisoformat(truth["window"]["end_date_exclusive"]).replace(tzinfo=UTC)
    newest_seen = datetime.min.replace(tzinfo=UTC)
    checked: set[str] = set()
    for _, event in small_events():
        if "event_time" not in event:  # an injected missing-field record
            continue
        event_time = datetime.fromisoformat(event["event_time"])
        if event["event_id"] in late and event["event_id"] not in checked:
            checked.add(event["event_id"])
            if event_time + timedelta(days=SMALL.late_min_days) < window_end:
                assert newest_seen - event_time >= timedelta(days=SMALL.late_min_days - 1)
        newest_seen = max(newest_seen, event_time)
    assert checked == late


def test_month_end_mrr_and_active_counts_match_a_replay_of_the_events() -> None:
    truth = small_result().ground_truth
    days = [date.fromisoformat(item["date"]) for item in truth["month_ends"]]
    assert len(days) == SMALL.months
    replayed = month_end_metrics(good_events(small_events(), truth), days)
    expected = [
        {key: value for key, value in item.items() if key != "active_by_region"} for item in truth["month_ends"]
    ]
    assert replayed == expected
    assert truth["month_ends"][-1]["active_subscriptions"] > 0
    assert len(truth["month_ends"][-1]["mrr_minor_by_currency"]) >= 2
    for item in truth["month_ends"]:
        assert sum(item["active_by_region"].values()) == item["active_subscriptions"]


def test_money_totals_match_the_good_events() -> None:
    truth = small_result().ground_truth
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    for family, event in good_events(small_events(), truth):
        if family is Family.PAYMENT:
            totals[event["event_type"]][event["currency"]] += event["amount_minor"]
        elif family is Family.OPERATIONAL_COST:
            totals["costs"][event["currency"]] += event["amount_minor"]
    money = truth["money"]
    assert money["invoice_paid_minor_by_currency"] == dict(sorted(totals["invoice_paid"].items()))
    assert money["refunded_minor_by_currency"] == dict(sorted(totals["refunded"].items()))
    assert money["chargeback_minor_by_currency"] == dict(sorted(totals["chargeback"].items()))
    assert money["costs_minor_by_currency"] == dict(sorted(totals["costs"].items()))
    for currency, paid in money["invoice_paid_minor_by_currency"].items():
        net = paid - totals["refunded"][currency] - totals["chargeback"][currency]
        assert money["net_collected_minor_by_currency"][currency] == net
    by_month: Counter[str] = Counter()
    for month in money["by_month"].values():
        by_month.update(month.get("invoice_paid", {}))
    assert dict(sorted(by_month.items())) == money["invoice_paid_minor_by_currency"]
    assert {"USD", "EUR"} <= set(money["invoice_paid_minor_by_currency"])
    for values in money.values():
        for amount in values.values() if isinstance(values, dict) else []:
            assert isinstance(amount, int | dict)
