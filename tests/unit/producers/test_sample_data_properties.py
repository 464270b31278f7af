"""Invariants that must hold for any parameters, not just the hand-picked ones."""

from __future__ import annotations

from collections import Counter
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from producers.sample_data import BadKind, GenerationParams, generate
from schemas import ContractViolation, validate_event
from tests.unit.producers.sample_data_replay import good_events, month_end_metrics

params_strategy = st.builds(
    GenerationParams,
    customers=st.integers(min_value=1, max_value=40),
    months=st.integers(min_value=1, max_value=8),
    start_date=st.sampled_from([date(2022, 11, 1), date(2024, 1, 1), date(2024, 2, 1)]),
    seed=st.integers(min_value=0, max_value=2**32),
    bad_record_share=st.sampled_from([0.0, 0.01, 0.2]),
    late_share=st.sampled_from([0.0, 0.1]),
    usage_every_n_days=st.integers(min_value=1, max_value=9),
    bad_kinds=st.lists(st.sampled_from(list(BadKind)), min_size=1, max_size=5, unique=True).map(tuple),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params_strategy)
def test_ground_truth_is_consistent_with_the_stream(params: GenerationParams) -> None:
    result = generate(params)
    truth = result.ground_truth
    events = list(result.events())
    good = good_events(events, truth)
    assert len(events) == truth["counts"]["sent_total"] == truth["counts"]["good_total"] + truth["bad_records"]["total"]
    assert len(good) == truth["counts"]["good_total"]
    assert Counter(family.value for family, _ in good) == Counter(
        {family: count for family, count in truth["counts"]["good_by_family"].items() if count}
    )
    for kind, count in truth["bad_records"]["by_kind"].items():
        assert BadKind(kind) in params.bad_kinds
        assert count <= truth["bad_records"]["requested_by_kind"][kind]
    window_end = truth["window"]["end_date_exclusive"]
    for family, event in good:
        record = validate_event(family, event)
        assert record["event_time"].date().isoformat() < window_end
    rejected_ids = set(truth["bad_records"]["event_ids_by_kind"].get("missing_field", []))
    for family, event in events:
        if event.get("event_id") in rejected_ids:
            try:
                validate_event(family, event)
            except ContractViolation:
                continue
            raise AssertionError("a missing-field record passed the contract")
    days = [date.fromisoformat(item["date"]) for item in truth["month_ends"]]
    expected = [
        {key: value for key, value in item.items() if key != "active_by_region"} for item in truth["month_ends"]
    ]
    assert month_end_metrics(good, days) == expected
