"""The price book and regions the generated business runs on.

Written out as `reference.json` so the stream processor can check plan and region ids
against known references (an unknown plan is one of the injected faults). Prices are integer
minor units per unit (seat) per billing period, in the region's currency: a price book per
currency, as real SaaS companies keep, rather than FX conversion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Region:
    region_id: str
    name: str
    currency: str
    acquisition_weight: int  # relative share of new customers


@dataclass(frozen=True)
class Tier:
    """A plan independent of currency; `rank` orders tiers for upgrades and downgrades."""

    tier_id: str
    name: str
    billing_interval: str  # month | year | multi_year
    interval_count: int
    rank: int
    prices_minor: dict[str, int]
    api_calls_per_seat: int  # typical weekday usage, drives the usage generator

    @property
    def months_per_period(self) -> int:
        """Months one billing period covers: the MRR divisor."""
        return self.interval_count if self.billing_interval == "month" else 12 * self.interval_count


@dataclass(frozen=True)
class Plan:
    plan_id: str
    tier: Tier
    currency: str
    unit_price_minor: int

    def to_json(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "name": f"{self.tier.name} ({self.currency})",
            "tier_id": self.tier.tier_id,
            "billing_interval": self.tier.billing_interval,
            "interval_count": self.tier.interval_count,
            "months_per_period": self.tier.months_per_period,
            "unit_price_minor": self.unit_price_minor,
            "currency": self.currency,
        }


REGIONS: tuple[Region, ...] = (
    Region("na", "North America", "USD", 38),
    Region("emea", "Europe, Middle East & Africa", "EUR", 24),
    Region("uki", "United Kingdom & Ireland", "GBP", 10),
    Region("apac", "Asia Pacific", "USD", 16),
    Region("latam", "Latin America", "USD", 12),
)

TIERS: tuple[Tier, ...] = (
    Tier("starter-monthly", "Starter monthly", "month", 1, 0, {"USD": 2_900, "EUR": 2_700, "GBP": 2_400}, 60),
    Tier("growth-monthly", "Growth monthly", "month", 1, 1, {"USD": 7_900, "EUR": 7_300, "GBP": 6_500}, 180),
    Tier("growth-annual", "Growth annual", "year", 1, 2, {"USD": 79_000, "EUR": 73_000, "GBP": 65_000}, 180),
    Tier("enterprise-annual", "Enterprise annual", "year", 1, 3, {"USD": 150_000, "EUR": 138_000, "GBP": 123_000}, 450),
    Tier(
        "enterprise-2y", "Enterprise 2-year", "multi_year", 2, 4, {"USD": 276_000, "EUR": 254_400, "GBP": 226_800}, 450
    ),
)

COST_CATEGORIES: dict[str, dict[str, str]] = {
    # category -> vendor per currency zone, and the finance cost center it books to
    "infrastructure": {"vendor": "aws", "cost_center": "cogs-hosting"},
    "support": {"vendor": "helpdesk-bpo", "cost_center": "cogs-support"},
    "payment_processing": {"vendor": "stripe", "cost_center": "cogs-payments"},
    "third_party": {"vendor": "datadog", "cost_center": "opex-rnd"},
}


class PriceBook:
    """Lookup of plans by tier and currency."""

    def __init__(self) -> None:
        self.regions = {region.region_id: region for region in REGIONS}
        self.tiers = {tier.tier_id: tier for tier in TIERS}
        self.tiers_by_rank = sorted(TIERS, key=lambda tier: tier.rank)
        self.plans: dict[tuple[str, str], Plan] = {}
        for tier in TIERS:
            for currency, price in tier.prices_minor.items():
                plan = Plan(f"{tier.tier_id}-{currency.lower()}", tier, currency, price)
                self.plans[(tier.tier_id, currency)] = plan

    def plan(self, tier_id: str, currency: str) -> Plan:
        return self.plans[(tier_id, currency)]

    def neighbour(self, plan: Plan, step: int) -> Plan | None:
        """The plan `step` ranks up (+1) or down (-1) in the same currency, if any."""
        rank = plan.tier.rank + step
        if not 0 <= rank < len(self.tiers_by_rank):
            return None
        return self.plan(self.tiers_by_rank[rank].tier_id, plan.currency)

    def to_json(self) -> dict[str, Any]:
        return {
            "regions": [
                {"region_id": region.region_id, "name": region.name, "currency": region.currency} for region in REGIONS
            ],
            "plans": [plan.to_json() for plan in self.plans.values()],
            "currencies": sorted({region.currency for region in REGIONS}),
            "cost_categories": [{"category": name, **details} for name, details in COST_CATEGORIES.items()],
        }
