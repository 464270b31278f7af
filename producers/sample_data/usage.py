"""Daily metered usage for every trialing or active subscription.

Usage follows the week (weekdays busy, weekends quiet), ramps up over a customer's first
months, and scales with seats and plan. Usage for day D is reported early on D+1 (daily
aggregation). With `every_n_days` > 1 each subscription reports every n-th day, phase-shifted
by customer so all weekdays stay represented. Bodies are compact tuples, expanded to JSON by
`EventFactory`, because usage is ~90 % of all events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from platform_common.topics import Family
from producers.sample_data.customers import Customer
from producers.sample_data.lifecycle import Draft
from producers.sample_data.money import Segment
from producers.sample_data.randomness import rng_for
from producers.sample_data.timeutil import EPOCH_ORDINAL, MICROS_PER_DAY, MICROS_PER_SECOND

METRICS: tuple[tuple[str, str], ...] = (("api_calls", "calls"), ("seats_active", "seats"))
API_CALLS, SEATS_ACTIVE = 0, 1
WEEKDAY_FACTOR = (1.0, 1.05, 1.05, 1.0, 0.9, 0.35, 0.25)  # Monday .. Sunday
NON_BILLABLE_SHARE = 0.01
RAMP_UP_DAYS = 120
USAGE_STATUSES = frozenset({"trialing", "active"})

UsageBody = tuple[int, int, int, int, bool]  # customer index, metric, quantity, day ordinal, billable


def generate_usage(
    seed: int,
    customers: Iterable[Customer],
    segments: dict[int, list[Segment]],
    end: date,
    every_n_days: int,
    drafts: list[Draft],
) -> dict[tuple[str, int], int]:
    """Append usage drafts; returns api calls per (region_id, year*12+month-1) for costs."""
    calls_by_region_month: dict[tuple[str, int], int] = defaultdict(int)
    end_ordinal = end.toordinal()
    for customer in customers:
        rng = rng_for(seed, "usage", customer.index)
        random = rng.random
        phase = customer.index % every_n_days
        report_offset = 5 * 60 * MICROS_PER_SECOND + (customer.index * 7919) % (2 * 3600) * MICROS_PER_SECOND
        signup = customer.signup_date.toordinal()
        region_id = customer.region.region_id
        for segment in segments.get(customer.index, ()):
            if segment.status not in USAGE_STATUSES:
                continue
            seats = segment.terms.quantity
            per_seat = segment.terms.plan.tier.api_calls_per_seat * (0.6 if segment.status == "trialing" else 1.0)
            first = segment.start.toordinal()
            first += -(first + phase) % every_n_days
            last = min(segment.end.toordinal(), end_ordinal - 1)  # reported the next day
            for ordinal in range(first, last, every_n_days):
                weekday = WEEKDAY_FACTOR[(ordinal - 1) % 7]  # date.fromordinal(1) is a Monday
                ramp = min(1.0, 0.3 + (ordinal - signup) / RAMP_UP_DAYS)
                calls = int(seats * per_seat * weekday * ramp * (0.6 + 0.8 * random()))
                active_share = (0.5 + 0.45 * random()) if weekday > 0.5 else (0.1 + 0.25 * random())
                active_seats = min(seats, round(seats * active_share))
                is_billable = random() >= NON_BILLABLE_SHARE
                micros = (ordinal + 1 - EPOCH_ORDINAL) * MICROS_PER_DAY + report_offset + int(random() * 1e6)
                index = customer.index
                drafts.append((micros, Family.USAGE, "usage_recorded", (index, API_CALLS, calls, ordinal, is_billable)))
                drafts.append(
                    (
                        micros + 1,
                        Family.USAGE,
                        "usage_recorded",
                        (index, SEATS_ACTIVE, active_seats, ordinal, is_billable),
                    )
                )
                day = date.fromordinal(ordinal)
                calls_by_region_month[(region_id, day.year * 12 + day.month - 1)] += calls * every_n_days
    return dict(calls_by_region_month)
