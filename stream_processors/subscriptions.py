"""The subscription state machine the processor enforces, as far as events prove a violation.

Status follows the latest event (by event time) of each subscription. Only transitions that are
impossible in any order of delivery are rejected: anything but `reactivated` after a newer-or-
equal-time `canceled`, `reactivated` of a subscription that is not canceled, `resumed` of one
that is not paused. An event older than the status it would be checked against is accepted and
leaves the status alone (an out-of-order arrival cannot be judged without the full history).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from platform_common.topics import Family

STATUS_AFTER = {
    "created": "created",
    "trial_started": "trialing",
    "trial_converted": "active",
    "activated": "active",
    "paused": "paused",
    "resumed": "active",
    "canceled": "canceled",
    "reactivated": "active",
}


def needs_known_subscription(family: Family, record: dict[str, Any]) -> bool:
    """Payments and plan changes refer to a subscription that must already be known."""
    return family is Family.PAYMENT or (family is Family.SUBSCRIPTION and record["event_type"] == "plan_changed")


def status_after(event_type: str, current: str | None) -> str:
    return STATUS_AFTER.get(event_type) or current or "active"


def transition(current: tuple[str, int] | None, event_type: str, event_us: int) -> str | None:
    """Why `event_type` at `event_us` cannot follow the `current` (status, since) — or None."""
    if current is None:
        return None
    status, since_us = current
    if event_us < since_us:
        return None
    since = datetime.fromtimestamp(since_us / 1_000_000, tz=UTC).isoformat()
    if status == "canceled" and event_type not in ("reactivated", "canceled"):
        return f"{event_type} on a subscription canceled at {since}"
    if event_type == "reactivated" and status != "canceled":
        return f"reactivated, but the subscription is {status} (since {since}), not canceled"
    if event_type == "resumed" and status != "paused":
        return f"resumed, but the subscription is {status} (since {since}), not paused"
    return None
