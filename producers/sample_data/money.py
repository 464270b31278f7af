"""Invoice and MRR arithmetic: integers only, one rounding rule, written down once.

Rules (also embedded in ground_truth.json so warehouse tests can cite them):

* gross per billing period = unit_price_minor x quantity.
* discount per billing period: percent -> round_half_even(gross x basis_points / 10000);
  amount -> min(amount_minor, gross). A discount lasts `duration_months` calendar months from
  the activation date (activated / trial_converted), forever when null.
* an invoice for the period starting P is discounted when the discount is active on P.
* MRR of a subscription on day D = round_half_even((gross - discount active on D) /
  months_per_period) where months_per_period = interval_count for monthly plans and
  12 x interval_count for annual and multi-year plans; 0 unless the subscription is active
  on D (trialing, paused and canceled contribute 0; cancellation counts from its effective
  date). MRR per currency is the sum of the per-subscription, already rounded values.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from producers.sample_data.reference import Plan
from producers.sample_data.timeutil import add_months

BASIS_POINTS = 10_000


def div_round_half_even(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, ties to even (banker's)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


@dataclass(frozen=True, slots=True)
class Discount:
    kind: str  # amount | percent
    amount_minor: int | None
    percent_basis_points: int | None
    duration_months: int | None

    def off(self, gross: int) -> int:
        if self.kind == "percent":
            return div_round_half_even(gross * (self.percent_basis_points or 0), BASIS_POINTS)
        return min(self.amount_minor or 0, gross)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "amount_minor": self.amount_minor,
            "percent_basis_points": self.percent_basis_points,
            "duration_months": self.duration_months,
        }


@dataclass(frozen=True, slots=True)
class Terms:
    """What a subscription is contracted for at a point in time."""

    plan: Plan
    quantity: int
    discount: Discount | None = None
    discount_start: date | None = None

    @property
    def gross(self) -> int:
        return self.plan.unit_price_minor * self.quantity

    def discount_active(self, day: date) -> bool:
        if self.discount is None or self.discount_start is None or day < self.discount_start:
            return False
        months = self.discount.duration_months
        return months is None or day < add_months(self.discount_start, months)

    def period_charge(self, period_start: date) -> int:
        """Invoice amount for the billing period starting on `period_start`."""
        gross = self.gross
        if self.discount is not None and self.discount_active(period_start):
            return gross - self.discount.off(gross)
        return gross

    def mrr_on(self, day: date) -> int:
        """Normalised monthly recurring revenue on `day`, assuming the subscription is active."""
        gross = self.gross
        if self.discount is not None and self.discount_active(day):
            gross -= self.discount.off(gross)
        return div_round_half_even(gross, self.plan.tier.months_per_period)

    def evolve(self, **changes: Any) -> Terms:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Segment:
    """[start, end) in which a subscription had one status and one set of terms."""

    start: date
    end: date
    status: str  # trialing | active | paused
    terms: Terms
