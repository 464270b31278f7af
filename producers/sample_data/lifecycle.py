"""One customer's story: trial, activation, renewals, changes, pauses, churn, reactivation.

Every state change is decided at a billing-period boundary and announced before it (a
plan_changed / paused / canceled event carries the boundary as `effective_date`), except
involuntary churn (dunning gives up) and trial expiry, which are effective on the day they
happen. A state change exists only if its event was emitted inside the window, so the status
segments recorded here (the ground truth for MRR and active counts) can always be derived
from the good events alone.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from platform_common.topics import Family
from producers.sample_data.customers import Customer
from producers.sample_data.money import Segment, Terms
from producers.sample_data.payments import Billing
from producers.sample_data.randomness import between, chance, pick, rng_for
from producers.sample_data.reference import PriceBook
from producers.sample_data.timeutil import (
    MICROS_PER_DAY,
    MICROS_PER_HOUR,
    MICROS_PER_SECOND,
    add_months,
    date_text,
    day_micros,
)

Draft = tuple[int, Family, str, Any]  # (event micros, family, event_type, body)

TRIAL_DAYS = 14
TRIAL_CONVERSION = {"smb": 0.55, "mid_market": 0.7, "enterprise": 0.8}
# Chance per month that a billing period ends with the decision; compounded over the period.
MONTHLY_DECISIONS = {
    "smb": {"cancel": 0.03, "upgrade": 0.02, "downgrade": 0.008, "quantity": 0.03, "pause": 0.012},
    "mid_market": {"cancel": 0.015, "upgrade": 0.015, "downgrade": 0.006, "quantity": 0.05, "pause": 0.004},
    "enterprise": {"cancel": 0.007, "upgrade": 0.008, "downgrade": 0.004, "quantity": 0.06, "pause": 0.0},
}
CANCEL_REASONS = ("too_expensive", "switched_competitor", "no_longer_needed", "missing_features")
REACTIVATION = {"voluntary": 0.12, "payment_failed": 0.05}
RESUME_SHARE = 0.85
MAX_REACTIVATIONS = 2


class Lifecycle:
    """Simulates one customer; results land in `drafts` and `segments`."""

    def __init__(self, customer: Customer, seed: int, end: date, book: PriceBook) -> None:
        self.customer = customer
        self.book = book
        self.rng = rng_for(seed, "lifecycle", customer.index)
        self.end = end
        self.end_micros = day_micros(end)
        self.drafts: list[Draft] = []
        self.segments: list[Segment] = []
        self.billing = Billing(customer, self.rng, self.end_micros, self.drafts)

    def run(self) -> None:
        customer, rng = self.customer, self.rng
        terms = customer.terms
        self._sub(customer.signup_micros, "created", terms)
        start = customer.signup_date
        if customer.wants_trial:
            trial_end = start + timedelta(days=TRIAL_DAYS)
            self._sub(
                customer.signup_micros + between(rng, 1, 5) * MICROS_PER_SECOND,
                "trial_started",
                terms,
                trial_end_date=trial_end,
            )
            decided = day_micros(trial_end) + between(rng, 0, 2 * MICROS_PER_HOUR)
            if decided >= self.end_micros:
                self._segment(start, self.end, "trialing", terms)
                return
            self._segment(start, trial_end, "trialing", terms)
            if not chance(rng, TRIAL_CONVERSION[customer.segment]):
                self._sub(
                    decided,
                    "canceled",
                    terms,
                    effective_date=trial_end,
                    cancel_reason="trial_expired",
                    trial_end_date=trial_end,
                )
                return
            self._sub(decided, "trial_converted", terms, trial_end_date=trial_end)
            start = trial_end
        else:
            self._sub(customer.signup_micros + between(rng, 1, 5) * MICROS_PER_SECOND, "activated", terms)
        self._active_from(start, terms.evolve(discount_start=start), reactivations=0)

    def _active_from(self, anchor: date, terms: Terms, reactivations: int) -> None:
        rng, end = self.rng, self.end
        segment_start, period = anchor, 0
        while True:
            months = terms.plan.tier.months_per_period
            period_start = add_months(anchor, period * months)
            boundary = add_months(anchor, (period + 1) * months)
            if period_start >= end:
                self._segment(segment_start, end, "active", terms)
                return
            churned_on = self.billing.bill(period_start, boundary, terms)
            if churned_on is not None:
                self._sub_churn(churned_on, terms)
                self._segment(segment_start, min(churned_on, end), "active", terms)
                if churned_on < end:
                    self._maybe_reactivate(churned_on, terms, "payment_failed", reactivations)
                return
            decided = day_micros(period_start) + between(
                rng, MICROS_PER_DAY, (boundary - period_start).days * MICROS_PER_DAY - MICROS_PER_DAY
            )
            if decided >= self.end_micros:
                self._segment(segment_start, end, "active", terms)
                return
            action = self._decide(terms)
            if action == "continue":
                period += 1
                continue
            self._segment(segment_start, min(boundary, end), "active", terms)
            if action == "cancel":
                self._sub(
                    decided,
                    "canceled",
                    terms,
                    effective_date=boundary,
                    cancel_reason=pick(rng, CANCEL_REASONS, (35, 25, 25, 15)),
                )
                if boundary < end:
                    self._maybe_reactivate(boundary, terms, "voluntary", reactivations)
                return
            if action == "pause":
                self._sub(decided, "paused", terms, effective_date=boundary)
                resumed_on = self._pause(boundary, terms)
                if resumed_on is None:
                    return
                anchor, period, segment_start = resumed_on, 0, resumed_on
                continue
            changed, kind = self._change(terms, action)
            self._sub(decided, "plan_changed", changed, change_kind=kind, effective_date=boundary)
            if boundary >= end:
                return
            if changed.plan.tier.months_per_period != months:
                anchor, period = boundary, 0
            else:
                period += 1
            segment_start, terms = boundary, changed

    def _sub_churn(self, churned_on: date, terms: Terms) -> None:
        micros = day_micros(churned_on) + between(self.rng, 6 * MICROS_PER_HOUR, 20 * MICROS_PER_HOUR)
        if micros >= self.end_micros:
            return
        self._sub(micros, "canceled", terms, effective_date=churned_on, cancel_reason="payment_failed")

    def _pause(self, boundary: date, terms: Terms) -> date | None:
        """Paused from `boundary`; returns the resume date, or None if the story ends."""
        rng, end = self.rng, self.end
        if boundary >= end:
            return None
        if chance(rng, RESUME_SHARE):
            resumed_on = boundary + timedelta(days=between(rng, 30, 90))
            micros = day_micros(resumed_on) + between(rng, 8 * MICROS_PER_HOUR, 18 * MICROS_PER_HOUR)
            if micros >= self.end_micros:
                self._segment(boundary, end, "paused", terms)
                return None
            self._segment(boundary, resumed_on, "paused", terms)
            self._sub(micros, "resumed", terms)
            return resumed_on
        canceled_on = boundary + timedelta(days=between(rng, 20, 80))
        micros = day_micros(canceled_on) + between(rng, 8 * MICROS_PER_HOUR, 18 * MICROS_PER_HOUR)
        if micros >= self.end_micros:
            self._segment(boundary, end, "paused", terms)
            return None
        self._segment(boundary, canceled_on, "paused", terms)
        self._sub(micros, "canceled", terms, effective_date=canceled_on, cancel_reason="did_not_resume")
        return None

    def _maybe_reactivate(self, canceled_on: date, terms: Terms, why: str, reactivations: int) -> None:
        rng = self.rng
        if reactivations >= MAX_REACTIVATIONS or not chance(rng, REACTIVATION[why]):
            return
        reactivated_on = canceled_on + timedelta(days=between(rng, 30, 240))
        micros = day_micros(reactivated_on) + between(rng, 8 * MICROS_PER_HOUR, 20 * MICROS_PER_HOUR)
        if micros >= self.end_micros:
            return
        fresh = Terms(terms.plan, terms.quantity)  # a new term: promotions do not come back
        self._sub(micros, "reactivated", fresh)
        self._active_from(reactivated_on, fresh, reactivations + 1)

    def _decide(self, terms: Terms) -> str:
        months = terms.plan.tier.months_per_period
        threshold, running = self.rng.random(), 0.0
        for action, monthly in MONTHLY_DECISIONS[self.customer.segment].items():
            if action == "pause" and terms.plan.tier.billing_interval != "month":
                continue
            running += 1 - (1 - monthly) ** months
            if threshold < running:
                return action
        return "continue"

    def _change(self, terms: Terms, action: str) -> tuple[Terms, str]:
        rng = self.rng
        if action in ("upgrade", "downgrade"):
            plan = self.book.neighbour(terms.plan, 1 if action == "upgrade" else -1)
            if plan is not None:
                return terms.evolve(plan=plan), action
        step = between(rng, 1, max(1, terms.quantity * 3 // 10))
        quantity = terms.quantity + step if chance(rng, 0.65) else max(1, terms.quantity - step)
        if quantity == terms.quantity:
            quantity += 1
        return terms.evolve(quantity=quantity), "quantity_change"

    def _segment(self, start: date, end: date, status: str, terms: Terms) -> None:
        if start < end:
            self.segments.append(Segment(start, end, status, terms))

    def _sub(
        self,
        micros: int,
        event_type: str,
        terms: Terms,
        *,
        change_kind: str | None = None,
        effective_date: date | None = None,
        cancel_reason: str | None = None,
        trial_end_date: date | None = None,
    ) -> None:
        if micros >= self.end_micros:
            return
        customer, plan = self.customer, terms.plan
        self.drafts.append(
            (
                micros,
                Family.SUBSCRIPTION,
                event_type,
                {
                    "subscription_id": customer.subscription_id,
                    "customer_id": customer.customer_id,
                    "plan_id": plan.plan_id,
                    "billing_interval": plan.tier.billing_interval,
                    "billing_interval_count": plan.tier.interval_count,
                    "quantity": terms.quantity,
                    "unit_price_minor": plan.unit_price_minor,
                    "currency": plan.currency,
                    "discount": None if terms.discount is None else terms.discount.to_json(),
                    "region_id": customer.region.region_id,
                    "change_kind": change_kind,
                    "effective_date": None if effective_date is None else date_text(effective_date),
                    "cancel_reason": cancel_reason,
                    "trial_end_date": None if trial_end_date is None else date_text(trial_end_date),
                    "customer_segment": customer.segment,
                    "sales_channel": customer.sales_channel,
                },
            )
        )
