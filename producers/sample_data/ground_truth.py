"""The answers a correct pipeline must reproduce, computed from the simulation itself.

Everything here covers good events only: injected bad records are listed (so quarantine can
be checked) but contribute nothing. Late events are good events and are included. Month-end
figures come from the status segments of the simulation, not from re-reading events, so a
warehouse that replays the events correctly must arrive at the same numbers.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from platform_common.topics import Family
from producers.sample_data.customers import Customer
from producers.sample_data.lifecycle import Draft
from producers.sample_data.money import Segment
from producers.sample_data.timeutil import date_text, micros_date

RULES = {
    "mrr": (
        "Per subscription on month-end day D (state after all changes effective on or before D): "
        "0 unless status is active (trialing, paused, canceled contribute 0; cancellation counts "
        "from effective_date). gross = unit_price_minor * quantity per billing period; "
        "discount: percent -> round_half_even(gross * percent_basis_points / 10000), amount -> "
        "min(amount_minor, gross), applied while active on D: duration_months calendar months "
        "from the activation date (activated/trial_converted), forever when null. "
        "MRR = round_half_even((gross - discount) / months_per_period), months_per_period = "
        "billing_interval_count for month, 12 * billing_interval_count for year and multi_year. "
        "Currency totals sum the per-subscription rounded values."
    ),
    "effective_date": (
        "A subscription event takes effect on effective_date when present, else on the UTC date "
        "of event_time; among events effective the same day, the later event_time wins."
    ),
    "active_subscriptions": "Subscriptions whose status on D is active (not trialing, not paused).",
    "money": "Sums of amount_minor of good payment/cost events, per currency; by_month uses the UTC "
    "month of event_time.",
    "duplicates": "An event_id is a fact once: the first message with an id is the good one; a "
    "later identical message is an exact duplicate, a later different one a conflict.",
    "late_events": "Late events are good events delivered days after newer ones; they are included "
    "in every total here.",
}
EXPECTED_HANDLING = {
    "missing_field": "rejected by contract validation (code missing)",
    "negative_amount": "rejected by contract validation (code out_of_range)",
    "unknown_plan": "passes the contract; quarantined by the reference-data check",
    "exact_duplicate": "dropped by event_id deduplication",
    "conflicting_duplicate": "quarantined: same event_id as an earlier event, different payload",
}


@dataclass
class MonthEnd:
    day: date
    status_counts: Counter[str] = field(default_factory=Counter)
    active_by_region: Counter[str] = field(default_factory=Counter)
    mrr_by_currency: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "date": date_text(self.day),
            "active_subscriptions": self.status_counts["active"],
            "trialing_subscriptions": self.status_counts["trialing"],
            "paused_subscriptions": self.status_counts["paused"],
            "active_by_region": dict(sorted(self.active_by_region.items())),
            "mrr_minor_by_currency": dict(sorted(self.mrr_by_currency.items())),
        }


def month_end_stats(customers: list[Customer], segments: dict[int, list[Segment]], days: list[date]) -> list[MonthEnd]:
    stats = [MonthEnd(day) for day in days]
    for customer in customers:
        for segment in segments.get(customer.index, ()):
            for position in range(bisect_left(days, segment.start), bisect_left(days, segment.end)):
                month = stats[position]
                month.status_counts[segment.status] += 1
                if segment.status == "active":
                    month.active_by_region[customer.region.region_id] += 1
                    month.mrr_by_currency[segment.terms.plan.currency] += segment.terms.mrr_on(month.day)
    return stats


def money_totals(good: list[Draft]) -> dict[str, Any]:
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    by_month: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for micros, family, event_type, body in good:
        if family is Family.PAYMENT or family is Family.OPERATIONAL_COST:
            name = "costs" if family is Family.OPERATIONAL_COST else event_type
            totals[name][body["currency"]] += body["amount_minor"]
            by_month[date_text(micros_date(micros))[:7]][name][body["currency"]] += body["amount_minor"]
    paid, refunded, charged_back = (totals[name] for name in ("invoice_paid", "refunded", "chargeback"))
    net = Counter({currency: paid[currency] - refunded[currency] - charged_back[currency] for currency in paid})
    return {
        "invoice_paid_minor_by_currency": _sorted(paid),
        "refunded_minor_by_currency": _sorted(refunded),
        "chargeback_minor_by_currency": _sorted(charged_back),
        "payment_failed_minor_by_currency": _sorted(totals["payment_failed"]),
        "net_collected_minor_by_currency": _sorted(net),
        "costs_minor_by_currency": _sorted(totals["costs"]),
        "by_month": {
            month: {name: _sorted(values) for name, values in sorted(kinds.items())}
            for month, kinds in sorted(by_month.items())
        },
    }


def event_counts(good: list[Draft]) -> dict[str, Any]:
    by_type: dict[str, Counter[str]] = defaultdict(Counter)
    for _, family, event_type, _ in good:
        by_type[family.value][event_type] += 1
    by_family = {family.value: sum(by_type[family.value].values()) for family in Family}
    return {
        "good_total": len(good),
        "good_by_family": by_family,
        "good_by_family_event_type": {family.value: dict(sorted(by_type[family.value].items())) for family in Family},
        "expected_clean_by_family": dict(by_family),
    }


def _sorted(values: Counter[str]) -> dict[str, int]:
    return {key: int(values[key]) for key in sorted(values)}
