"""De-duplication, event time, parking, state transitions and state persistence of the core."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from platform_common.topics import Family
from stream_processors.core import EventProcessor
from stream_processors.quarantine import REPLAY_HEADER
from stream_processors.reasons import QuarantineReason
from tests.unit.stream_processors.factory import (
    BASE,
    NOW_US,
    encode,
    payment,
    raw,
    subscription,
    usage,
)

DAY_US = 86_400_000_000


def kinds(outcomes) -> list[str]:
    return [outcome.kind for outcome in outcomes]


def test_exact_duplicate_is_dropped_and_counted(processor: EventProcessor) -> None:
    event = usage()
    value = encode(Family.USAGE, event)
    assert kinds(processor.process(raw(Family.USAGE, value, 0), NOW_US)) == ["clean"]
    # A re-send through another gateway: other metadata, same business fact.
    resent = {**event, "metadata": {"producer": "gateway-2", "received_at": None, "trace_id": "t-1"}}
    assert kinds(processor.process(raw(Family.USAGE, encode(Family.USAGE, resent), 1), NOW_US)) == ["duplicate"]
    counts = processor.state(0).counts[Family.USAGE]
    assert (counts.raw, counts.clean, counts.duplicate) == (2, 1, 1)


def test_conflicting_duplicate_is_quarantined_and_first_one_wins(processor: EventProcessor) -> None:
    first = usage(event_id="u-1")
    processor.process(raw(Family.USAGE, encode(Family.USAGE, first), 0), NOW_US)
    outcome = processor.process(raw(Family.USAGE, encode(Family.USAGE, {**first, "quantity": 7}), 1), NOW_US)[0]
    assert outcome.reason is QuarantineReason.CONFLICTING_DUPLICATE
    # The first version stays the accepted one: sending it again is still an exact duplicate.
    assert kinds(processor.process(raw(Family.USAGE, encode(Family.USAGE, first), 2), NOW_US)) == ["duplicate"]


def test_same_event_id_in_another_family_is_not_a_duplicate(processor: EventProcessor) -> None:
    processor.process(raw(Family.USAGE, encode(Family.USAGE, usage(event_id="shared")), 0), NOW_US)
    outcomes = processor.process(
        raw(Family.SUBSCRIPTION, encode(Family.SUBSCRIPTION, subscription(event_id="shared")), 0), NOW_US
    )
    assert kinds(outcomes) == ["clean"]


def test_quarantined_event_is_not_seen_so_its_fixed_replay_passes_once(processor: EventProcessor) -> None:
    bad = subscription(plan_id="legacy-0001-usd", event_id="s-1")
    assert processor.process(raw(Family.SUBSCRIPTION, encode(Family.SUBSCRIPTION, bad), 0), NOW_US)[0].reason is (
        QuarantineReason.UNKNOWN_PLAN
    )
    fixed = encode(Family.SUBSCRIPTION, {**bad, "plan_id": "growth-monthly-usd"})
    replay = ((REPLAY_HEADER, b"q-1"),)
    assert kinds(processor.process(raw(Family.SUBSCRIPTION, fixed, 1, headers=replay), NOW_US)) == ["clean"]
    assert kinds(processor.process(raw(Family.SUBSCRIPTION, fixed, 2, headers=replay), NOW_US)) == ["duplicate"]


def test_reprocessing_the_same_message_re_emits_it(processor: EventProcessor) -> None:
    """After a crash under at-least-once the message that was emitted is met again: never lost."""
    value = encode(Family.USAGE, usage())
    assert kinds(processor.process(raw(Family.USAGE, value, 5), NOW_US)) == ["clean"]
    assert kinds(processor.process(raw(Family.USAGE, value, 5), NOW_US)) == ["clean"]
    assert kinds(processor.process(raw(Family.USAGE, value, 6), NOW_US)) == ["duplicate"]


def test_dedupe_window_expires(processor: EventProcessor) -> None:
    value = encode(Family.USAGE, usage())
    processor.process(raw(Family.USAGE, value, 0), NOW_US)
    later = NOW_US + processor.config.dedupe_retention_us + 2 * 3_600_000_000
    assert processor.state(0).seen.expire(later) == 1
    # Outside the window the id is forgotten; the event is then judged on event time alone.
    assert processor.process(raw(Family.USAGE, value, 1), later)[0].kind == "clean"


def test_late_events_pass_flagged_and_too_late_ones_are_quarantined(processor: EventProcessor) -> None:
    processor.process(raw(Family.USAGE, encode(Family.USAGE, usage()), 0), NOW_US)
    within_lateness = processor.process(
        raw(Family.USAGE, encode(Family.USAGE, usage(at=BASE - timedelta(minutes=30))), 1), NOW_US
    )[0]
    assert (within_lateness.kind, within_lateness.late) == ("clean", False)
    late = processor.process(raw(Family.USAGE, encode(Family.USAGE, usage(at=BASE - timedelta(days=10))), 2), NOW_US)[0]
    assert (late.kind, late.late) == ("clean", True)
    at_edge = BASE - timedelta(hours=1, days=35) + timedelta(seconds=1)
    assert processor.process(raw(Family.USAGE, encode(Family.USAGE, usage(at=at_edge)), 3), NOW_US)[0].late
    too_late = processor.process(
        raw(Family.USAGE, encode(Family.USAGE, usage(at=BASE - timedelta(days=36, hours=1))), 4), NOW_US
    )
    assert too_late[0].reason is QuarantineReason.TOO_LATE
    assert processor.state(0).counts[Family.USAGE].late == 2


def test_watermarks_are_per_family(processor: EventProcessor) -> None:
    processor.process(raw(Family.USAGE, encode(Family.USAGE, usage()), 0), NOW_US)
    old_cost: dict[str, Any] = {"at": BASE - timedelta(days=20)}
    from tests.unit.stream_processors.factory import cost

    outcome = processor.process(
        raw(Family.OPERATIONAL_COST, encode(Family.OPERATIONAL_COST, cost(**old_cost)), 0), NOW_US
    )[0]
    assert (outcome.kind, outcome.late) == ("clean", False)


def test_payment_waits_for_its_subscription_then_passes(processor: EventProcessor) -> None:
    pay = processor.process(raw(Family.PAYMENT, encode(Family.PAYMENT, payment()), 0), NOW_US)
    assert kinds(pay) == ["parked"]
    assert processor.state(0).counts[Family.PAYMENT].parked == 1
    created = processor.process(raw(Family.SUBSCRIPTION, encode(Family.SUBSCRIPTION, subscription()), 0), NOW_US + 1000)
    assert kinds(created) == ["clean", "clean"]
    released = created[1]
    assert (released.event.family, released.arrival) == (Family.PAYMENT, False)
    counts = processor.state(0).counts[Family.PAYMENT]
    assert (counts.raw, counts.clean, counts.parked) == (1, 1, 0)
    assert processor.state(0).parked == {}


def test_plan_change_waits_for_its_subscription(processor: EventProcessor) -> None:
    change = subscription("plan_changed", at=BASE + timedelta(hours=1))
    assert kinds(processor.process(raw(Family.SUBSCRIPTION, encode(Family.SUBSCRIPTION, change), 1), NOW_US)) == [
        "parked"
    ]
    created = processor.process(raw(Family.SUBSCRIPTION, encode(Family.SUBSCRIPTION, subscription()), 2), NOW_US)
    assert kinds(created) == ["clean", "clean"]
    assert processor.state(0).subscriptions["sub-1"][0] == "created"


def test_expired_parked_event_whose_subscription_arrived_meanwhile_is_released(processor: EventProcessor) -> None:
    processor.process(raw(Family.PAYMENT, encode(Family.PAYMENT, payment(subscription_id="sub-9")), 0), NOW_US)
    state = processor.state(0)
    state.set_subscription("sub-9", "active", 0)  # e.g. restored from the changelog meanwhile
    outcomes = processor.expire_parked(0, NOW_US + processor.config.subscription_grace_us)
    assert kinds(outcomes) == ["clean"]


def test_state_transitions(processor: EventProcessor) -> None:
    def send(event_type: str, hours: int, offset: int) -> str | None:
        value = encode(Family.SUBSCRIPTION, subscription(event_type, at=BASE + timedelta(hours=hours)))
        outcome = processor.process(raw(Family.SUBSCRIPTION, value, offset), NOW_US)[0]
        return outcome.kind if outcome.reason is None else str(outcome.reason)

    assert send("created", 0, 0) == "clean"
    assert send("resumed", 1, 1) == "invalid_state_transition"  # not paused
    assert send("activated", 2, 2) == "clean"
    assert send("paused", 3, 3) == "clean"
    assert send("resumed", 4, 4) == "clean"
    assert send("reactivated", 5, 5) == "invalid_state_transition"  # not canceled
    assert send("canceled", 6, 6) == "clean"
    assert send("paused", 7, 7) == "invalid_state_transition"
    assert send("plan_changed", 5, 8) == "clean"  # older than the cancellation: cannot be judged
    assert send("reactivated", 9, 9) == "clean"
    assert send("plan_changed", 10, 10) == "clean"
    assert processor.state(0).subscriptions["sub-1"][0] == "active"


def test_state_survives_a_changelog_round_trip(processor: EventProcessor, codec, contract) -> None:
    processor.process(raw(Family.SUBSCRIPTION, encode(Family.SUBSCRIPTION, subscription()), 0), NOW_US)
    dup = encode(Family.USAGE, usage())
    processor.process(raw(Family.USAGE, dup, 1), NOW_US)
    processor.process(raw(Family.PAYMENT, encode(Family.PAYMENT, payment(subscription_id="sub-2")), 2), NOW_US)
    blob, records = processor.state(0).drain(0, NOW_US)
    assert blob is not None

    restored = EventProcessor(codec, contract, processor.config, processor.reference)
    restored.state(0).seen.load_blob(blob)
    for key, value in records:
        restored.state(0).apply(key, value)
    state = restored.state(0)
    assert state.subscriptions == processor.state(0).subscriptions
    assert state.watermarks == processor.state(0).watermarks
    assert state.counts == processor.state(0).counts
    assert set(state.parked) == set(processor.state(0).parked)
    assert kinds(restored.process(raw(Family.USAGE, dup, 3), NOW_US)) == ["duplicate"]
    # The parked payment is still released by its subscription after the restart.
    created = encode(Family.SUBSCRIPTION, subscription(subscription_id="sub-2", event_id="s-2"))
    assert kinds(restored.process(raw(Family.SUBSCRIPTION, created, 4), NOW_US)) == ["clean", "clean"]
    _, after = state.drain(0, NOW_US)
    assert (b"p|" + b"events.payment.raw:0:2", None) in after  # tombstone for the released payment


def test_partitions_are_independent_and_can_be_dropped(processor: EventProcessor) -> None:
    value = encode(Family.USAGE, usage())
    processor.process(raw(Family.USAGE, value, 0, partition=1), NOW_US)
    assert kinds(processor.process(raw(Family.USAGE, value, 0, partition=2), NOW_US)) == ["clean"]
    processor.retain({2})
    assert set(processor.partitions) == {2}


def test_reprocessed_messages_are_emitted_again_but_never_recounted(processor: EventProcessor) -> None:
    """After a crash the state may be ahead of the committed offsets (at-least-once)."""
    good = encode(Family.USAGE, usage())
    bad = encode(Family.USAGE, usage(region_id="mars"))
    messages = [(good, 0), (good, 1), (bad, 2)]
    first = [processor.process(raw(Family.USAGE, value, offset), NOW_US)[0].kind for value, offset in messages]
    again = [processor.process(raw(Family.USAGE, value, offset), NOW_US)[0].kind for value, offset in messages]
    assert first == again == ["clean", "duplicate", "quarantined"]
    counts = processor.state(0).counts[Family.USAGE]
    assert (counts.raw, counts.clean, counts.duplicate, counts.quarantined_total) == (3, 1, 1, 1)
    assert counts.next_offset == 3


def test_redelivered_outcomes_are_marked_not_counted(processor: EventProcessor) -> None:
    value = encode(Family.USAGE, usage())
    assert processor.process(raw(Family.USAGE, value, 0), NOW_US)[0].counted
    assert not processor.process(raw(Family.USAGE, value, 0), NOW_US)[0].counted
