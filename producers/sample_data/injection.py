"""Send order, late delivery and bad-record injection.

Good events are sent in event-time order. `late_share` of the good payment, usage and cost
events are held back for `late_min_days..late_max_days` days: they are still true facts and
stay in the ground truth, but arrive among much newer events. Subscription events are never
delayed: within a customer they form a state machine whose order the partition key protects,
so lateness there would be a producer bug, not a delivery delay.

Bad records are extra messages (no good event is altered), each sent after the good event it
derives from, so "first seen wins" deduplication keeps the good one:

* missing_field / negative_amount / unknown_plan: a copy under a new event_id with one
  required field removed, a negative invoice amount, or a plan id not in the price book;
* exact_duplicate: the same event again (same event_id, same payload);
* conflicting_duplicate: the same event_id with a changed amount or quantity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from platform_common.topics import Family
from producers.sample_data.lifecycle import Draft
from producers.sample_data.params import BadKind, GenerationParams
from producers.sample_data.randomness import between, rng_for
from producers.sample_data.timeutil import MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_SECOND

# (send micros, tie-break, good index, bad kind or None, variant, id sequence number)
StreamEntry = tuple[int, int, int, BadKind | None, int, int]
LATE_FAMILIES = frozenset({Family.PAYMENT, Family.USAGE, Family.OPERATIONAL_COST})
_SEND_DELAY = {
    BadKind.EXACT_DUPLICATE: (MICROS_PER_SECOND, 6 * MICROS_PER_HOUR),
    BadKind.CONFLICTING_DUPLICATE: (60 * MICROS_PER_SECOND, 2 * MICROS_PER_DAY),
}
_CLONE_DELAY = (1_000, 10 * 60 * MICROS_PER_SECOND)
# The field a conflicting duplicate changes, per family.
CONFLICT_FIELD = {
    Family.SUBSCRIPTION: "quantity",
    Family.PAYMENT: "amount_minor",
    Family.USAGE: "quantity",
    Family.OPERATIONAL_COST: "amount_minor",
}


@dataclass
class InjectionPlan:
    stream: list[StreamEntry]
    late: list[int] = field(default_factory=list)  # good indices delivered late
    bad: dict[BadKind, list[StreamEntry]] = field(default_factory=dict)
    requested: dict[BadKind, int] = field(default_factory=dict)


def plan_stream(good: list[Draft], params: GenerationParams) -> InjectionPlan:
    """Decide the send order of `good` (already sorted by event time) plus injected records."""
    rng = rng_for(params.seed, "injection")
    stream: list[StreamEntry] = [(draft[0], index, index, None, 0, index) for index, draft in enumerate(good)]
    plan = InjectionPlan(stream)
    late_pool = [index for index, draft in enumerate(good) if draft[1] in LATE_FAMILIES]
    late_count = min(len(late_pool), round(params.late_share * len(good)))
    plan.late = sorted(rng.sample(late_pool, late_count))
    for index in plan.late:
        delay = between(rng, params.late_min_days, params.late_max_days) * MICROS_PER_DAY
        stream[index] = (good[index][0] + delay + between(rng, 0, MICROS_PER_DAY - 1), index, index, None, 0, index)
    next_seq = tiebreak = len(good)
    for kind, count in _split(round(params.bad_record_share * len(good)), params.bad_kinds).items():
        pool = _pool(good, kind)
        plan.requested[kind] = count
        entries: list[StreamEntry] = []
        for index in sorted(rng.sample(pool, min(count, len(pool)))):
            low, high = _SEND_DELAY.get(kind, _CLONE_DELAY)
            send = stream[index][0] + between(rng, low, high)
            if kind in (BadKind.EXACT_DUPLICATE, BadKind.CONFLICTING_DUPLICATE):
                seq = index
            else:
                seq, next_seq = next_seq, next_seq + 1
            entries.append((send, tiebreak, index, kind, between(rng, 1, 5000), seq))
            tiebreak += 1
        plan.bad[kind] = entries
    for entries in plan.bad.values():
        stream.extend(entries)
    stream.sort()
    return plan


def apply_fault(event: dict[str, Any], family: Family, kind: BadKind, variant: int, required_fields: list[str]) -> None:
    """Mutate a freshly built good event into the bad record `kind`/`variant` describes."""
    if kind is BadKind.MISSING_FIELD:
        del event[required_fields[variant % len(required_fields)]]
    elif kind is BadKind.NEGATIVE_AMOUNT:
        event["amount_minor"] = -max(1, event["amount_minor"])
    elif kind is BadKind.UNKNOWN_PLAN:
        event["plan_id"] = f"legacy-{variant:04d}-{event['currency'].lower()}"
    elif kind is BadKind.CONFLICTING_DUPLICATE:
        event[CONFLICT_FIELD[family]] += variant


def _split(total: int, kinds: tuple[BadKind, ...]) -> dict[BadKind, int]:
    if not kinds:
        return {}
    share, remainder = divmod(total, len(kinds))
    return {kind: share + (1 if number < remainder else 0) for number, kind in enumerate(kinds)}


def _pool(good: list[Draft], kind: BadKind) -> list[int] | range:
    if kind is BadKind.NEGATIVE_AMOUNT:
        return [index for index, draft in enumerate(good) if draft[2] == "invoice_paid"]
    if kind is BadKind.UNKNOWN_PLAN:
        return [index for index, draft in enumerate(good) if draft[1] is Family.SUBSCRIPTION]
    return range(len(good))
