"""Who signs up, when, where, and on what.

Signups grow ~4 % a month with a yearly cycle (strong in Q1, weak in August and December) and
happen mostly on weekdays in business hours. Customers are numbered in signup order so ids
read chronologically.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date

from producers.sample_data.money import Discount, Terms
from producers.sample_data.randomness import between, chance, pick, rng_for
from producers.sample_data.reference import PriceBook, Region
from producers.sample_data.timeutil import (
    MICROS_PER_HOUR,
    add_months,
    day_micros,
    micros_date,
)

MONTHLY_GROWTH = 0.04
SEASONAL_AMPLITUDE = 0.2
SEASONAL_PEAK_MONTH = 3
SEGMENTS = ("smb", "mid_market", "enterprise")
SEGMENT_WEIGHTS = (68, 24, 8)
TIER_WEIGHTS = {
    "smb": {"starter-monthly": 65, "growth-monthly": 30, "growth-annual": 5},
    "mid_market": {"starter-monthly": 10, "growth-monthly": 45, "growth-annual": 40, "enterprise-annual": 5},
    "enterprise": {"growth-annual": 15, "enterprise-annual": 45, "enterprise-2y": 40},
}
SEATS = {"smb": (1, 5), "mid_market": (5, 40), "enterprise": (25, 250)}
CHANNELS = {
    "smb": (("self_serve", 85), ("partner", 15)),
    "mid_market": (("self_serve", 40), ("sales_led", 45), ("partner", 15)),
    "enterprise": (("sales_led", 90), ("partner", 10)),
}
# Share of self-serve signups on monthly plans that start with a trial.
TRIAL_SHARE = {"smb": 0.75, "mid_market": 0.5, "enterprise": 0.0}


@dataclass(frozen=True, slots=True)
class Customer:
    index: int
    customer_id: str
    subscription_id: str
    region: Region
    segment: str
    sales_channel: str
    signup_micros: int
    signup_date: date
    wants_trial: bool
    terms: Terms  # initial terms; discount_start is set at activation


def signups_per_month(customers: int, start: date, months: int) -> list[int]:
    """Split `customers` over the months (largest-remainder, so the total is exact)."""
    weights = []
    for offset in range(months):
        month = add_months(start, offset).month
        seasonal = 1 + SEASONAL_AMPLITUDE * math.cos(2 * math.pi * (month - SEASONAL_PEAK_MONTH) / 12)
        weights.append(math.exp(MONTHLY_GROWTH * offset) * seasonal)
    total = sum(weights)
    exact = [customers * weight / total for weight in weights]
    counts = [int(value) for value in exact]
    by_remainder = sorted(range(months), key=lambda index: (counts[index] - exact[index], index))
    for index in by_remainder[: customers - sum(counts)]:
        counts[index] += 1
    return counts


def acquire(seed: int, customers: int, start: date, months: int, book: PriceBook) -> list[Customer]:
    rng = rng_for(seed, "acquisition")
    signups: list[int] = []
    for offset, count in enumerate(signups_per_month(customers, start, months)):
        month_start = add_months(start, offset)
        days = (add_months(month_start, 1) - month_start).days
        for _ in range(count):
            day = month_start.toordinal() + between(rng, 0, days - 1)
            while date.fromordinal(day).weekday() >= 5 and chance(rng, 0.7):
                day = month_start.toordinal() + between(rng, 0, days - 1)
            micros = day_micros(date.fromordinal(day)) + between(rng, 7 * MICROS_PER_HOUR, 21 * MICROS_PER_HOUR)
            signups.append(micros)
    signups.sort()
    return [_customer(seed, index, micros, book) for index, micros in enumerate(signups)]


def _customer(seed: int, index: int, signup_micros: int, book: PriceBook) -> Customer:
    rng = rng_for(seed, "customer", index)
    regions = list(book.regions.values())
    region = pick(rng, regions, [region.acquisition_weight for region in regions])
    segment = pick(rng, SEGMENTS, SEGMENT_WEIGHTS)
    tiers = TIER_WEIGHTS[segment]
    plan = book.plan(pick(rng, list(tiers), list(tiers.values())), region.currency)
    low, high = SEATS[segment]
    quantity = low + int((high - low + 1) * rng.random() ** 2)  # most customers are small
    channels = CHANNELS[segment]
    channel = pick(rng, [name for name, _ in channels], [weight for _, weight in channels])
    is_trial_tier = plan.tier.billing_interval == "month"
    wants_trial = is_trial_tier and channel == "self_serve" and chance(rng, TRIAL_SHARE[segment])
    terms = Terms(plan, quantity, _discount(rng, plan.unit_price_minor * quantity))
    number = index + 1
    return Customer(
        index=index,
        customer_id=f"cus_{number:06d}",
        subscription_id=f"sub_{number:06d}",
        region=region,
        segment=segment,
        sales_channel=channel,
        signup_micros=signup_micros,
        signup_date=micros_date(signup_micros),
        wants_trial=wants_trial,
        terms=terms,
    )


def _discount(rng: random.Random, gross: int) -> Discount | None:
    if not chance(rng, 0.25):
        return None
    duration = pick(rng, (3, 6, 12, None), (30, 30, 25, 15))
    if chance(rng, 0.7):
        basis_points = pick(rng, (1000, 1500, 2000, 2500, 5000), (30, 20, 25, 15, 10))
        return Discount("percent", None, basis_points, duration)
    amount = max(100, gross * between(rng, 5, 20) // 100 // 100 * 100)
    return Discount("amount", amount, None, duration)
