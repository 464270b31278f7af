"""Monthly operational costs per region and category, driven by the simulated business.

Costs move with what the business does, so margin analysis finds real signal: hosting with
API traffic and customers, support with active customers, payment processing with the money
collected (2.9 % + a fixed fee per invoice), third-party tooling roughly flat. Each cost is
booked in the region's currency at the end of its month.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from platform_common.topics import Family
from producers.sample_data.lifecycle import Draft
from producers.sample_data.randomness import between, rng_for
from producers.sample_data.reference import COST_CATEGORIES, REGIONS
from producers.sample_data.timeutil import (
    MICROS_PER_HOUR,
    MICROS_PER_SECOND,
    add_months,
    date_text,
    day_micros,
    micros_date,
)


def month_key(day: date) -> int:
    return day.year * 12 + day.month - 1


def generate_costs(
    seed: int,
    start: date,
    months: int,
    payment_drafts: list[Draft],
    calls_by_region_month: dict[tuple[str, int], int],
    active_by_region_month: dict[tuple[str, int], int],
) -> list[Draft]:
    """`active_by_region_month`: active subscriptions per region at each month end."""
    rng = rng_for(seed, "costs")
    collected: dict[tuple[str, int], int] = defaultdict(int)
    invoices: dict[tuple[str, int], int] = defaultdict(int)
    for micros, _, event_type, payment in payment_drafts:
        if event_type == "invoice_paid":
            key = (payment["region_id"], month_key(micros_date(micros)))
            collected[key] += payment["amount_minor"]
            invoices[key] += 1
    drafts: list[Draft] = []
    for offset in range(months):
        month_start = add_months(start, offset)
        month_last = add_months(month_start, 1) - timedelta(days=1)
        key_month = month_key(month_start)
        for region_number, region in enumerate(REGIONS):
            key = (region.region_id, key_month)
            scale = region.acquisition_weight
            active = active_by_region_month.get(key, 0)
            amounts = {
                "infrastructure": 2_000 * scale + calls_by_region_month.get(key, 0) * 3 // 10_000 + 120 * active,
                "support": 1_500 * scale + 350 * active,
                "payment_processing": collected[key] * 29 // 1000 + 30 * invoices[key],
                "third_party": 1_200 * scale * between(rng, 90, 110) // 100,
            }
            for category_number, (category, details) in enumerate(COST_CATEGORIES.items()):
                micros = (
                    day_micros(month_last)
                    + 18 * MICROS_PER_HOUR
                    + (region_number * 7 + category_number) * 60 * MICROS_PER_SECOND
                )
                body: dict[str, Any] = {
                    "category": category,
                    "vendor": details["vendor"],
                    "region_id": region.region_id,
                    "amount_minor": amounts[category],
                    "currency": region.currency,
                    "period_start": date_text(month_start),
                    "period_end": date_text(month_last),
                    "cost_center": details["cost_center"],
                }
                drafts.append((micros, Family.OPERATIONAL_COST, "cost_incurred", body))
    return drafts
