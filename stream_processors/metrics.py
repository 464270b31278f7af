"""Prometheus metrics of the stream processor.

Counters (this process, since start), per family:
    raw == clean + quarantined (all reasons) + duplicate + parked_now, where parked_now is
    `parked_total - released_total` (released: parked messages later decided either way).
Gauges `ledgerline_stream_owned_events{family,outcome}` carry the same balance from the durable
per-partition counts of the partitions this worker owns; they survive restarts and rebalances.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

from platform_common.topics import Family
from stream_processors.core import EventProcessor, Outcome
from stream_processors.quarantine import REPLAY_HEADER
from stream_processors.reasons import QuarantineReason

RAW = Counter("ledgerline_stream_raw_events_total", "Messages read from the raw topics.", ["family"])
CLEAN = Counter("ledgerline_stream_clean_events_total", "Events emitted to the clean topics.", ["family"])
LATE = Counter("ledgerline_stream_late_events_total", "Clean events flagged late (subset of clean).", ["family"])
QUARANTINED = Counter(
    "ledgerline_stream_quarantined_events_total", "Events sent to the quarantine.", ["family", "reason"]
)
DUPLICATES = Counter("ledgerline_stream_duplicate_events_total", "Exact duplicates dropped.", ["family"])
PARKED = Counter("ledgerline_stream_parked_events_total", "Messages parked for their subscription.", ["family"])
RELEASED = Counter("ledgerline_stream_released_events_total", "Parked messages decided later.", ["family"])
REPLAYED = Counter("ledgerline_stream_replayed_events_total", "Raw messages that are quarantine replays.", ["family"])
OWNED = Gauge(
    "ledgerline_stream_owned_events",
    "Durable counts over the partitions this worker owns (raw, clean, late, quarantined, duplicate, parked).",
    ["family", "outcome"],
)
WATERMARK = Gauge(
    "ledgerline_stream_watermark_seconds", "Highest event time seen (owned partitions), unix seconds.", ["family"]
)
SEEN = Gauge("ledgerline_stream_seen_entries", "Event ids in the de-duplication window (owned partitions).")
BATCH_SECONDS = Histogram(
    "ledgerline_stream_batch_seconds",
    "Time to process and hand over one batch.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
BATCH_EVENTS = Histogram(
    "ledgerline_stream_batch_events", "Messages per batch.", buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000)
)


_Child = Any  # a labelled prometheus_client metric
# Bound children per family (and reason): `labels()` takes a lock and builds a key per call,
# which per message was a measurable share of the worker's CPU.
_BOUND: dict[str, dict[str, _Child]] = {}
_QUARANTINED: dict[tuple[str, str], _Child] = {}


def initialise() -> None:
    """Create every label set at zero, so dashboards and balance checks see all series."""
    disable_created_metrics()  # type: ignore[no-untyped-call]  # `_created` twins double the scrape
    for family in Family:
        counters = {"raw": RAW, "clean": CLEAN, "late": LATE, "duplicate": DUPLICATES}
        counters |= {"parked": PARKED, "released": RELEASED, "replayed": REPLAYED}
        _BOUND[family.value] = {name: counter.labels(family.value) for name, counter in counters.items()}
        for reason in QuarantineReason:
            _QUARANTINED[(family.value, reason.value)] = QUARANTINED.labels(family.value, reason.value)


def observe(outcome: Outcome) -> None:
    if not outcome.counted:
        return  # re-delivered after a restart or rebalance: already counted once
    family = outcome.event.family.value
    bound = _BOUND.get(family)
    if bound is None:
        initialise()
        bound = _BOUND[family]
    if outcome.arrival:
        bound["raw"].inc()
        if outcome.event.headers and any(name == REPLAY_HEADER for name, _ in outcome.event.headers):
            bound["replayed"].inc()
    elif outcome.kind != "parked":
        bound["released"].inc()
    if outcome.kind == "clean":
        bound["clean"].inc()
        if outcome.late:
            bound["late"].inc()
    elif outcome.kind == "duplicate":
        bound["duplicate"].inc()
    elif outcome.kind == "parked":
        if outcome.arrival:
            bound["parked"].inc()
    else:
        reason = str(outcome.reason)
        child = _QUARANTINED.get((family, reason))
        if child is None:
            child = _QUARANTINED[(family, reason)] = QUARANTINED.labels(family, reason)
        child.inc()


def refresh_gauges(processor: EventProcessor) -> None:
    seen = 0
    for family in Family:
        totals = {"raw": 0, "clean": 0, "late": 0, "quarantined": 0, "duplicate": 0, "parked": 0}
        high = 0
        for state in processor.partitions.values():
            counts = state.counts[family]
            totals["raw"] += counts.raw
            totals["clean"] += counts.clean
            totals["late"] += counts.late
            totals["quarantined"] += counts.quarantined_total
            totals["duplicate"] += counts.duplicate
            totals["parked"] += counts.parked
            high = max(high, state.watermarks.get(family, 0))
        for outcome, value in totals.items():
            OWNED.labels(family.value, outcome).set(value)
        WATERMARK.labels(family.value).set(high / 1_000_000)
    for state in processor.partitions.values():
        seen += len(state.seen.entries)
    SEEN.set(seen)
