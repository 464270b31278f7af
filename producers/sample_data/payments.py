"""Invoices and their payment outcomes for one customer.

One invoice per billing period, raised on the period's first day. Most are paid within hours;
some fail, and dunning either recovers them a few days later (same invoice, new payment) or
gives up, which churns the subscription. A few paid invoices are later refunded (fully or
partly) or charged back.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from platform_common.topics import Family
from producers.sample_data.customers import Customer
from producers.sample_data.money import Terms
from producers.sample_data.randomness import between, chance, pick
from producers.sample_data.timeutil import (
    MICROS_PER_DAY,
    MICROS_PER_HOUR,
    MICROS_PER_SECOND,
    date_text,
    day_micros,
    micros_date,
)

PAYMENT_FAILURE = 0.04
DUNNING_RECOVERY = 0.65
REFUND = 0.012
CHARGEBACK = 0.0025
FAILURE_REASONS = ("insufficient_funds", "card_declined", "card_expired", "do_not_honor")


class Billing:
    def __init__(
        self, customer: Customer, rng: random.Random, end_micros: int, drafts: list[tuple[int, Family, str, Any]]
    ) -> None:
        self.customer = customer
        self.rng = rng
        self.end_micros = end_micros
        self.drafts = drafts
        self.invoices = 0
        self.payments = 0
        self.method = _payment_method(customer, rng)

    def bill(self, period_start: date, boundary: date, terms: Terms) -> date | None:
        """Invoice the period [period_start, boundary); returns the churn date if dunning fails."""
        rng = self.rng
        amount = terms.period_charge(period_start)
        self.invoices += 1
        invoice_id = f"in_{self.customer.index + 1:06d}_{self.invoices:03d}"
        period = (date_text(period_start), date_text(boundary - timedelta(days=1)))
        attempt = day_micros(period_start) + between(rng, 60 * MICROS_PER_SECOND, 6 * MICROS_PER_HOUR)
        if chance(rng, PAYMENT_FAILURE):
            reason = pick(rng, FAILURE_REASONS, (40, 30, 20, 10))
            self._payment(attempt, "payment_failed", self._next_payment_id(), amount, invoice_id, terms, period, reason)
            if not chance(rng, DUNNING_RECOVERY):
                return micros_date(attempt + between(rng, 8, 14) * MICROS_PER_DAY)
            attempt += between(rng, 3, 7) * MICROS_PER_DAY + between(rng, 0, 4 * MICROS_PER_HOUR)
        payment_id = self._next_payment_id()
        self._payment(attempt, "invoice_paid", payment_id, amount, invoice_id, terms, period, None)
        if amount > 0 and chance(rng, REFUND):
            refunded = amount if chance(rng, 0.7) else max(1, amount * between(rng, 10, 90) // 100)
            self._payment(
                attempt + between(rng, 1, 25) * MICROS_PER_DAY,
                "refunded",
                payment_id,
                refunded,
                invoice_id,
                terms,
                period,
                None,
            )
        elif amount > 0 and chance(rng, CHARGEBACK):
            self._payment(
                attempt + between(rng, 20, 75) * MICROS_PER_DAY,
                "chargeback",
                payment_id,
                amount,
                invoice_id,
                terms,
                period,
                None,
            )
        return None

    def _next_payment_id(self) -> str:
        self.payments += 1
        return f"py_{self.customer.index + 1:06d}_{self.payments:04d}"

    def _payment(
        self,
        micros: int,
        event_type: str,
        payment_id: str,
        amount: int,
        invoice_id: str,
        terms: Terms,
        period: tuple[str, str],
        failure_reason: str | None,
    ) -> None:
        if micros >= self.end_micros:
            return
        customer = self.customer
        self.drafts.append(
            (
                micros,
                Family.PAYMENT,
                event_type,
                {
                    "payment_id": payment_id,
                    "invoice_id": invoice_id,
                    "subscription_id": customer.subscription_id,
                    "customer_id": customer.customer_id,
                    "amount_minor": amount,
                    "currency": terms.plan.currency,
                    "service_period_start": period[0],
                    "service_period_end": period[1],
                    "region_id": customer.region.region_id,
                    "failure_reason": failure_reason,
                    "payment_method": self.method,
                },
            )
        )


def _payment_method(customer: Customer, rng: random.Random) -> str:
    if customer.segment == "enterprise" and chance(rng, 0.6):
        return "wire"
    if customer.region.currency == "EUR" and chance(rng, 0.4):
        return "sepa_debit"
    if customer.region.currency == "USD" and chance(rng, 0.15):
        return "ach"
    return "card"
