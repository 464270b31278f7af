"""Business rules on one event, beyond its contract: money, quantities, time, references.

Stateless per event (the state-dependent rules — subscriptions, duplicates, watermarks — live
in `core`). Each rule reports a `Finding` with a stable code, a message and the field path.

Decisions where the contract and the brief differ: amounts are magnitudes in every family
(refunds and chargebacks carry a positive amount; the event type gives the direction), so a
negative amount is always out of range; a usage day with zero usage is a fact the contract
allows (`quantity >= 0`), so only subscription seat counts must be > 0.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from platform_common.topics import Family
from stream_processors.currencies import ISO_4217_CODES
from stream_processors.reasons import Finding, QuarantineReason
from stream_processors.reference import ReferenceData

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROS_PER_SECOND = 1_000_000

_PERIODS = {
    Family.PAYMENT: ("service_period_start", "service_period_end"),
    Family.OPERATIONAL_COST: ("period_start", "period_end"),
}


def micros(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime, exactly (no float on the way)."""
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * MICROS_PER_SECOND + delta.microseconds


def check_rules(
    family: Family,
    record: dict[str, Any],
    event_us: int,
    now_us: int,
    clock_skew_us: int,
    reference: ReferenceData,
    already: list[Finding],
) -> list[Finding]:
    """Append the findings of the business rules to `already` (contract findings) and return it."""
    flagged = {finding.field for finding in already} if already else set()
    findings = already
    currency = record.get("currency")
    if isinstance(currency, str) and "currency" not in flagged and currency not in ISO_4217_CODES:
        findings.append(Finding(QuarantineReason.INVALID_CURRENCY, f"{currency!r} is not an ISO-4217 code", "currency"))
    if family is Family.SUBSCRIPTION and "quantity" not in flagged and record["quantity"] <= 0:
        findings.append(Finding(QuarantineReason.OUT_OF_RANGE, f"must be > 0, got {record['quantity']}", "quantity"))
    if event_us > now_us + clock_skew_us:
        ahead_s = (event_us - now_us) // MICROS_PER_SECOND
        findings.append(
            Finding(
                QuarantineReason.FUTURE_EVENT_TIME,
                f"{ahead_s} s in the future (clock-skew allowance {clock_skew_us // MICROS_PER_SECOND} s)",
                "event_time",
            )
        )
    period = _PERIODS.get(family)
    if period is not None:
        start, end = record[period[0]], record[period[1]]
        if isinstance(start, date) and isinstance(end, date) and end < start:
            findings.append(Finding(QuarantineReason.INVALID_PERIOD, f"ends {end} before it starts {start}", period[1]))
    if reference.checked:
        _check_references(family, record, reference, findings)
    return findings


def _check_references(
    family: Family,
    record: dict[str, Any],
    reference: ReferenceData,
    findings: list[Finding],
) -> None:
    region = record.get("region_id")
    if isinstance(region, str) and region and region not in reference.regions:
        findings.append(Finding(QuarantineReason.UNKNOWN_REGION, f"unknown region {region!r}", "region_id"))
    if family is not Family.SUBSCRIPTION:
        return
    plan = record["plan_id"]
    if plan not in reference.plans:
        if plan:
            findings.append(Finding(QuarantineReason.UNKNOWN_PLAN, f"unknown plan {plan!r}", "plan_id"))
        return
    plan_currency = reference.plans[plan]
    currency = record["currency"]
    flagged = any(finding.field == "currency" for finding in findings)
    if plan_currency and currency != plan_currency and not flagged:
        findings.append(
            Finding(
                QuarantineReason.INVALID_CURRENCY,
                f"{currency} differs from plan {plan!r}'s currency {plan_currency}",
                "currency",
            )
        )
