"""Hand-written events for the MRR rule scenario; every expected number is worked out in the test."""

from __future__ import annotations

import itertools
from typing import Any

_ids = itertools.count(1)

PLANS: dict[str, tuple[str, int, int, str]] = {
    # plan_id: (billing_interval, interval count, unit price, currency)
    "growth-annual-usd": ("year", 1, 79_000, "USD"),
    "growth-monthly-eur": ("month", 1, 7_300, "EUR"),
    "starter-monthly-usd": ("month", 1, 2_900, "USD"),
    "growth-monthly-usd": ("month", 1, 7_900, "USD"),
    "growth-monthly-gbp": ("month", 1, 6_500, "GBP"),
    "tiny-2y-usd": ("multi_year", 2, 60, "USD"),
}
REGION_OF = {"USD": "na", "EUR": "emea", "GBP": "uki"}


def envelope(event_type: str, at: str, event_id: str | None = None) -> dict[str, Any]:
    return {
        "event_id": event_id or f"evt-{next(_ids):05d}",
        "event_type": event_type,
        "event_time": at,
        "source": "test",
        "schema_version": 2,
        "metadata": {"producer": "warehouse-tests"},
    }


def sub(
    event_type: str, at: str, customer: str, plan: str, quantity: int = 1, **extra: Any
) -> tuple[str, dict[str, Any]]:
    interval, count, price, currency = PLANS[plan]
    return "subscription", {
        **envelope(event_type, at, extra.pop("event_id", None)),
        "subscription_id": f"sub-{customer}",
        "customer_id": f"cus-{customer}",
        "plan_id": plan,
        "billing_interval": interval,
        "billing_interval_count": count,
        "quantity": quantity,
        "unit_price_minor": price,
        "currency": currency,
        "region_id": REGION_OF[currency],
        "customer_segment": "smb",
        **extra,
    }


def pay(
    event_type: str, at: str, customer: str, amount: int, currency: str, period: tuple[str, str], **extra: Any
) -> tuple[str, dict[str, Any]]:
    invoice = extra.pop("invoice_id", f"in-{customer}-{period[0]}")
    return "payment", {
        **envelope(event_type, at, extra.pop("event_id", None)),
        "payment_id": extra.pop("payment_id", f"py-{customer}-{at}"),
        "invoice_id": invoice,
        "subscription_id": f"sub-{customer}",
        "customer_id": f"cus-{customer}",
        "amount_minor": amount,
        "currency": currency,
        "service_period_start": period[0],
        "service_period_end": period[1],
        "region_id": REGION_OF[currency],
        **extra,
    }


def usage(at: str, customer: str, day: str, quantity: int, **extra: Any) -> tuple[str, dict[str, Any]]:
    return "usage", {
        **envelope("usage_recorded", at, extra.pop("event_id", None)),
        "customer_id": f"cus-{customer}",
        "subscription_id": f"sub-{customer}",
        "metric": "api_calls",
        "quantity": quantity,
        "unit": "calls",
        "usage_date": day,
        "region_id": extra.pop("region_id", "na"),
        "is_billable": extra.pop("is_billable", True),
    }


def cost(at: str, amount: int, currency: str, period: tuple[str, str], **extra: Any) -> tuple[str, dict[str, Any]]:
    return "operational_cost", {
        **envelope("cost_incurred", at, extra.pop("event_id", None)),
        "category": "infrastructure",
        "vendor": "aws",
        "region_id": REGION_OF[currency],
        "amount_minor": amount,
        "currency": currency,
        "period_start": period[0],
        "period_end": period[1],
        "cost_center": "cogs-hosting",
    }


def scenario() -> list[tuple[str, dict[str, Any]]]:
    """A: annual, 20 % off for 3 months. B: EUR trial, pause, resume. C: past due beyond grace.
    D: GBP cancel at a later effective date, reactivation. E: upgrade to another plan.
    F: 2-year plan whose MRR is an exact half (rounded to even)."""
    discount = {"kind": "percent", "amount_minor": None, "percent_basis_points": 2000, "duration_months": 3}
    return [
        sub("created", "2024-01-02T09:00:00Z", "C", "starter-monthly-usd", 3),
        sub("activated", "2024-01-02T09:00:05Z", "C", "starter-monthly-usd", 3),
        pay("invoice_paid", "2024-01-02T10:00:00Z", "C", 8_700, "USD", ("2024-01-02", "2024-02-01")),
        sub("created", "2024-01-03T09:00:00Z", "E", "starter-monthly-usd"),
        sub("activated", "2024-01-03T09:00:05Z", "E", "starter-monthly-usd"),
        sub("created", "2024-01-04T09:00:00Z", "F", "tiny-2y-usd"),
        sub("activated", "2024-01-04T09:00:05Z", "F", "tiny-2y-usd"),
        sub("created", "2024-01-05T09:00:00Z", "B", "growth-monthly-eur"),
        sub("trial_started", "2024-01-05T09:00:05Z", "B", "growth-monthly-eur", trial_end_date="2024-01-19"),
        sub("created", "2024-01-10T09:00:00Z", "A", "growth-annual-usd", 2, discount=discount),
        sub("activated", "2024-01-10T09:00:05Z", "A", "growth-annual-usd", 2, discount=discount),
        pay("invoice_paid", "2024-01-10T10:00:00Z", "A", 126_400, "USD", ("2024-01-10", "2025-01-09")),
        sub("created", "2024-01-15T09:00:00Z", "D", "growth-monthly-gbp"),
        sub("activated", "2024-01-15T09:00:05Z", "D", "growth-monthly-gbp"),
        sub("trial_converted", "2024-01-19T01:00:00Z", "B", "growth-monthly-eur", trial_end_date="2024-01-19"),
        pay("invoice_paid", "2024-01-19T02:00:00Z", "B", 7_300, "EUR", ("2024-01-19", "2024-02-18")),
        sub(
            "plan_changed",
            "2024-01-25T12:00:00Z",
            "E",
            "growth-monthly-usd",
            change_kind="upgrade",
            effective_date="2024-02-03",
        ),
        pay("refunded", "2024-02-01T12:00:00Z", "A", 10_000, "USD", ("2024-01-10", "2025-01-09")),
        pay(
            "payment_failed",
            "2024-02-02T10:00:00Z",
            "C",
            8_700,
            "USD",
            ("2024-02-02", "2024-03-01"),
            failure_reason="card_declined",
        ),
        sub(
            "canceled",
            "2024-02-10T12:00:00Z",
            "D",
            "growth-monthly-gbp",
            effective_date="2024-03-15",
            cancel_reason="too_expensive",
        ),
        pay("invoice_paid", "2024-02-19T02:00:00Z", "B", 7_300, "EUR", ("2024-02-19", "2024-03-18")),
        sub("paused", "2024-03-01T12:00:00Z", "B", "growth-monthly-eur", effective_date="2024-03-19"),
        sub("resumed", "2024-04-25T12:00:00Z", "B", "growth-monthly-eur"),
        sub("reactivated", "2024-05-20T12:00:00Z", "D", "growth-monthly-gbp"),
        usage("2024-05-31T23:00:00Z", "A", "2024-05-31", 5),
    ]
