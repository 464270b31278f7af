"""One test per quarantine reason code, through the pure processing core."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from platform_common.topics import Family
from stream_processors.core import EventProcessor, Outcome
from stream_processors.reasons import QuarantineReason
from tests.unit.stream_processors.factory import (
    BASE,
    NOW_US,
    encode,
    encode_unchecked,
    payment,
    raw,
    subscription,
    usage,
)

Case = Callable[[EventProcessor], list[Outcome]]
HOUR_US = 3_600_000_000


def _send(
    processor: EventProcessor, family: Family, value: bytes | None, offset: int = 0, now_us: int = NOW_US
) -> list[Outcome]:
    return processor.process(raw(family, value, offset), now_us)


def _with_subscription(processor: EventProcessor) -> None:
    outcomes = _send(processor, Family.SUBSCRIPTION, encode(Family.SUBSCRIPTION, subscription()), offset=0)
    assert outcomes[0].kind == "clean"


def undecodable(p: EventProcessor) -> list[Outcome]:
    return _send(p, Family.USAGE, b"\xc3\x01 not avro at all")


def wrong_family(p: EventProcessor) -> list[Outcome]:
    return _send(p, Family.USAGE, encode(Family.PAYMENT, payment()))


def schema_violation(p: EventProcessor) -> list[Outcome]:
    return _send(p, Family.USAGE, encode_unchecked(Family.USAGE, usage(), event_id="x" * 200))


def missing_field(p: EventProcessor) -> list[Outcome]:
    _with_subscription(p)
    value = encode_unchecked(Family.PAYMENT, payment("payment_failed"), failure_reason=None)
    return _send(p, Family.PAYMENT, value)


def out_of_range(p: EventProcessor) -> list[Outcome]:
    _with_subscription(p)
    return _send(p, Family.PAYMENT, encode_unchecked(Family.PAYMENT, payment(), amount_minor=-500))


def invalid_currency(p: EventProcessor) -> list[Outcome]:
    return _send(p, Family.USAGE, encode(Family.USAGE, usage()), offset=1) and _send(
        p, Family.PAYMENT, encode(Family.PAYMENT, payment(currency="XYZ")), offset=2
    )


def future_event_time(p: EventProcessor) -> list[Outcome]:
    ahead = BASE + timedelta(days=1, hours=1)
    return _send(p, Family.USAGE, encode(Family.USAGE, usage(at=ahead)))


def invalid_period(p: EventProcessor) -> list[Outcome]:
    _with_subscription(p)
    value = encode(Family.PAYMENT, payment(service_period_start="2024-03-31", service_period_end="2024-03-01"))
    return _send(p, Family.PAYMENT, value)


def unknown_plan(p: EventProcessor) -> list[Outcome]:
    return _send(p, Family.SUBSCRIPTION, encode(Family.SUBSCRIPTION, subscription(plan_id="legacy-0001-usd")))


def unknown_region(p: EventProcessor) -> list[Outcome]:
    return _send(p, Family.USAGE, encode(Family.USAGE, usage(region_id="mars")))


def unknown_subscription(p: EventProcessor) -> list[Outcome]:
    parked = _send(p, Family.PAYMENT, encode(Family.PAYMENT, payment(subscription_id="sub-404")))
    assert [outcome.kind for outcome in parked] == ["parked"]
    assert p.expire_parked(0, NOW_US + p.config.subscription_grace_us - 1) == []
    return p.expire_parked(0, NOW_US + p.config.subscription_grace_us)


def invalid_state_transition(p: EventProcessor) -> list[Outcome]:
    _with_subscription(p)
    canceled = subscription("canceled", at=BASE + timedelta(hours=1))
    assert _send(p, Family.SUBSCRIPTION, encode(Family.SUBSCRIPTION, canceled), offset=1)[0].kind == "clean"
    changed = subscription("plan_changed", at=BASE + timedelta(hours=2))
    return _send(p, Family.SUBSCRIPTION, encode(Family.SUBSCRIPTION, changed), offset=2)


def conflicting_duplicate(p: EventProcessor) -> list[Outcome]:
    first = usage(event_id="usage-1")
    assert _send(p, Family.USAGE, encode(Family.USAGE, first), offset=1)[0].kind == "clean"
    return _send(p, Family.USAGE, encode(Family.USAGE, {**first, "quantity": 121}), offset=2)


def too_late(p: EventProcessor) -> list[Outcome]:
    assert _send(p, Family.USAGE, encode(Family.USAGE, usage()), offset=1)[0].kind == "clean"
    return _send(p, Family.USAGE, encode(Family.USAGE, usage(at=BASE - timedelta(days=40))), offset=2)


class _BrokenContract:
    def check(self, subject: str, record: object) -> list[object]:
        raise ZeroDivisionError("a bug")


def processing_error(p: EventProcessor) -> list[Outcome]:
    p.contract = _BrokenContract()  # type: ignore[assignment]
    return _send(p, Family.USAGE, encode(Family.USAGE, usage()))


CASES: dict[QuarantineReason, tuple[Case, str]] = {
    QuarantineReason.UNDECODABLE: (undecodable, ""),
    QuarantineReason.WRONG_FAMILY: (wrong_family, ""),
    QuarantineReason.SCHEMA_VIOLATION: (schema_violation, "event_id"),
    QuarantineReason.MISSING_FIELD: (missing_field, "failure_reason"),
    QuarantineReason.OUT_OF_RANGE: (out_of_range, "amount_minor"),
    QuarantineReason.INVALID_CURRENCY: (invalid_currency, "currency"),
    QuarantineReason.FUTURE_EVENT_TIME: (future_event_time, "event_time"),
    QuarantineReason.INVALID_PERIOD: (invalid_period, "service_period_end"),
    QuarantineReason.UNKNOWN_PLAN: (unknown_plan, "plan_id"),
    QuarantineReason.UNKNOWN_REGION: (unknown_region, "region_id"),
    QuarantineReason.UNKNOWN_SUBSCRIPTION: (unknown_subscription, "subscription_id"),
    QuarantineReason.INVALID_STATE_TRANSITION: (invalid_state_transition, "event_type"),
    QuarantineReason.CONFLICTING_DUPLICATE: (conflicting_duplicate, "event_id"),
    QuarantineReason.TOO_LATE: (too_late, "event_time"),
    QuarantineReason.PROCESSING_ERROR: (processing_error, ""),
}


def test_every_reason_code_has_a_case() -> None:
    assert set(CASES) == set(QuarantineReason)


@pytest.mark.parametrize("reason", list(QuarantineReason), ids=str)
def test_reason_code(processor: EventProcessor, reason: QuarantineReason) -> None:
    case, field = CASES[reason]
    outcomes = case(processor)
    assert len(outcomes) == 1
    outcome = outcomes[0]
    assert outcome.kind == "quarantined"
    assert outcome.reason is reason
    assert outcome.findings[0].field == field
    assert outcome.findings[0].message
    counts = processor.state(0).counts[outcome.event.family]
    assert counts.quarantined.get(reason.value) == 1
    assert all(state.counts[family].balanced for state in processor.partitions.values() for family in Family)


def test_all_findings_are_reported(processor: EventProcessor) -> None:
    value = encode_unchecked(Family.PAYMENT, payment(), amount_minor=-1, currency="usd", source="")
    outcome = processor.process(raw(Family.PAYMENT, value, 0), NOW_US)[0]
    assert {(finding.code, finding.field) for finding in outcome.findings} == {
        (QuarantineReason.OUT_OF_RANGE, "amount_minor"),
        (QuarantineReason.INVALID_CURRENCY, "currency"),
        (QuarantineReason.MISSING_FIELD, "source"),
    }


def test_currency_must_match_the_plan(processor: EventProcessor) -> None:
    value = encode(Family.SUBSCRIPTION, subscription(currency="EUR"))
    outcome = processor.process(raw(Family.SUBSCRIPTION, value, 0), NOW_US)[0]
    assert outcome.reason is QuarantineReason.INVALID_CURRENCY
    assert "growth-monthly-usd" in outcome.findings[0].message


def test_nested_rules_are_checked(processor: EventProcessor) -> None:
    discount = {"kind": "percent", "amount_minor": None, "percent_basis_points": 12000, "duration_months": None}
    value = encode_unchecked(Family.SUBSCRIPTION, subscription(), discount=discount)
    outcome = processor.process(raw(Family.SUBSCRIPTION, value, 0), NOW_US)[0]
    assert (outcome.reason, outcome.findings[0].field) == (
        QuarantineReason.OUT_OF_RANGE,
        "discount.percent_basis_points",
    )


def test_zero_usage_is_a_fact_but_zero_seats_is_not(processor: EventProcessor) -> None:
    zero_usage = processor.process(raw(Family.USAGE, encode(Family.USAGE, usage(quantity=0)), 0), NOW_US)[0]
    assert zero_usage.kind == "clean"
    value = encode_unchecked(Family.SUBSCRIPTION, subscription(), quantity=0)
    outcome = processor.process(raw(Family.SUBSCRIPTION, value, 1), NOW_US)[0]
    assert (outcome.reason, outcome.findings[0].field) == (QuarantineReason.OUT_OF_RANGE, "quantity")


def test_unchecked_references_accept_any_plan(codec, contract) -> None:
    lenient = EventProcessor(codec, contract)
    value = encode(Family.SUBSCRIPTION, subscription(plan_id="anything", region_id="anywhere"))
    assert lenient.process(raw(Family.SUBSCRIPTION, value, 0), NOW_US)[0].kind == "clean"
