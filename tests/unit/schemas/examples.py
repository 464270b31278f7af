"""One canonical JSON event per family, every field set, as a producer would send it."""

from __future__ import annotations

import copy
from typing import Any

from platform_common.topics import Family

_ENVELOPE: dict[str, Any] = {
    "event_time": "2024-03-31T23:59:59.123456Z",
    "schema_version": 2,
    "metadata": {"received_at": "2024-04-01T00:00:00.500000Z", "producer": "test-suite", "trace_id": "t-1"},
}

EXAMPLES: dict[Family, dict[str, Any]] = {
    Family.SUBSCRIPTION: {
        "event_id": "evt-sub-1",
        "event_type": "plan_changed",
        "source": "billing",
        **_ENVELOPE,
        "subscription_id": "sub_1",
        "customer_id": "cus_1",
        "plan_id": "enterprise-2y-eur",
        "billing_interval": "multi_year",
        "billing_interval_count": 2,
        "quantity": 40,
        "unit_price_minor": 254_400,
        "currency": "EUR",
        "discount": {"kind": "percent", "amount_minor": None, "percent_basis_points": 1500, "duration_months": 12},
        "region_id": "emea",
        "change_kind": "upgrade",
        "effective_date": "2024-04-01",
        "cancel_reason": None,
        "trial_end_date": "2024-01-15",
        "customer_segment": "enterprise",
        "sales_channel": "sales_led",
    },
    Family.PAYMENT: {
        "event_id": "evt-pay-1",
        "event_type": "invoice_paid",
        "source": "payments",
        **_ENVELOPE,
        "payment_id": "py_1",
        "invoice_id": "in_1",
        "subscription_id": "sub_1",
        "customer_id": "cus_1",
        "amount_minor": 9_007_199_254_740_993,  # > 2**53: would not survive a float
        "currency": "USD",
        "service_period_start": "2024-03-01",
        "service_period_end": "2024-03-31",
        "region_id": "na",
        "failure_reason": None,
        "payment_method": "card",
    },
    Family.USAGE: {
        "event_id": "evt-use-1",
        "event_type": "usage_recorded",
        "source": "product-telemetry",
        **_ENVELOPE,
        "customer_id": "cus_1",
        "subscription_id": "sub_1",
        "metric": "api_calls",
        "quantity": 123_456,
        "unit": "calls",
        "usage_date": "2024-03-31",
        "region_id": "apac",
        "is_billable": False,
    },
    Family.OPERATIONAL_COST: {
        "event_id": "evt-cost-1",
        "event_type": "cost_incurred",
        "source": "finance-erp",
        **_ENVELOPE,
        "category": "infrastructure",
        "vendor": "aws",
        "region_id": "uki",
        "amount_minor": 1_234_567,
        "currency": "GBP",
        "period_start": "2024-03-01",
        "period_end": "2024-03-31",
        "cost_center": "cogs-hosting",
    },
}


def example(family: Family, **changes: Any) -> dict[str, Any]:
    """A deep copy of the family's example with top-level `changes` applied."""
    event = copy.deepcopy(EXAMPLES[family])
    event.update(changes)
    return event
