"""Test oracle: recompute the ground truth from the emitted events alone.

Deliberately independent of the generator's internals (own month arithmetic, Fraction-based
banker's rounding), and written the way a warehouse would: pick the good events, order each
subscription's events by effective date, read the state on each month end.
"""

from __future__ import annotations

import calendar
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from platform_common.topics import Family

CLONE_KINDS = ("missing_field", "negative_amount", "unknown_plan")
STATUS_AFTER = {
    "created": "incomplete",
    "trial_started": "trialing",
    "trial_converted": "active",
    "activated": "active",
    "plan_changed": "active",
    "paused": "paused",
    "resumed": "active",
    "canceled": "canceled",
    "reactivated": "active",
}


def good_events(
    events: Iterable[tuple[Family, dict[str, Any]]], truth: dict[str, Any]
) -> list[tuple[Family, dict[str, Any]]]:
    """First message per event_id, minus the injected clones (which carry fresh ids)."""
    clone_ids = {
        event_id for kind in CLONE_KINDS for event_id in truth["bad_records"]["event_ids_by_kind"].get(kind, [])
    }
    seen: set[str] = set()
    good = []
    for family, event in events:
        event_id = event["event_id"]
        if event_id in clone_ids or event_id in seen:
            continue
        seen.add(event_id)
        good.append((family, event))
    return good


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _effective(event: dict[str, Any]) -> date:
    if event.get("effective_date"):
        return date.fromisoformat(event["effective_date"])
    return datetime.fromisoformat(event["event_time"]).date()


def _mrr(event: dict[str, Any], activated_on: date | None, day: date) -> int:
    gross = event["unit_price_minor"] * event["quantity"]
    discount = event["discount"]
    if discount is not None and activated_on is not None and activated_on <= day:
        months = discount["duration_months"]
        if months is None or day < _add_months(activated_on, months):
            if discount["kind"] == "percent":
                gross -= round(Fraction(gross * discount["percent_basis_points"], 10_000))
            else:
                gross -= min(discount["amount_minor"], gross)
    interval_count = event["billing_interval_count"]
    months_per_period = interval_count if event["billing_interval"] == "month" else 12 * interval_count
    return round(Fraction(gross, months_per_period))


def month_end_metrics(good: list[tuple[Family, dict[str, Any]]], days: list[date]) -> list[dict[str, Any]]:
    histories: dict[str, list[tuple[date, str, dict[str, Any]]]] = defaultdict(list)
    for family, event in good:
        if family is Family.SUBSCRIPTION:
            histories[event["subscription_id"]].append((_effective(event), event["event_time"], event))
    results: list[dict[str, Counter[str]]] = [{"status": Counter(), "mrr": Counter()} for _ in days]
    for history in histories.values():
        history.sort(key=lambda item: (item[0], datetime.fromisoformat(item[1])))
        effective_days = [item[0] for item in history]
        for position, day in enumerate(days):
            latest = bisect_right(effective_days, day) - 1
            if latest < 0:
                continue
            event = history[latest][2]
            status = STATUS_AFTER[event["event_type"]]
            results[position]["status"][status] += 1
            if status == "active":
                activated_on = None
                for effective, _, earlier in history[: latest + 1]:
                    if earlier["event_type"] in ("activated", "trial_converted"):
                        activated_on = effective
                results[position]["mrr"][event["currency"]] += _mrr(event, activated_on, day)
    return [
        {
            "date": day.isoformat(),
            "active_subscriptions": result["status"]["active"],
            "trialing_subscriptions": result["status"]["trialing"],
            "paused_subscriptions": result["status"]["paused"],
            "mrr_minor_by_currency": {currency: result["mrr"][currency] for currency in sorted(result["mrr"])},
        }
        for day, result in zip(days, results, strict=True)
    ]
