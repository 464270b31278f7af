"""Reconcile's verdicts and the count balance's arithmetic, kept free of I/O.

Everything here works on measurements already taken (scans, watermarks, manifests, warehouse
rows, the processor's durable counts), so the balance rules can be unit-tested on hand-made
numbers without Kafka, MinIO or Postgres; `orchestration.reconcile` takes the measurements.

Count balance (check `balance:<family>`): received = clean + quarantined + duplicates + parked,
each term measured on its own. The stream processor's durable counts (`n|<family>|<p>` records
on its `state` changelog topic, read with `platform_common.stream_counts`) are totals since the
processor (its app id) began, over the raw offsets below their `next_offset`; they are never
reset and have no day in them. So the balance is not per day: it compares lifetime totals per
raw partition, over raw offsets [0, next_offset), and sums them per family:

* received: raw messages at those offsets, counted on the raw topic; the part retention already
  deleted is counted from the lake's manifests (objects must tile it from offset 0 without a gap);
* clean / quarantined: distinct raw source offsets named by the clean topic's `ledgerline-source`
  headers and the quarantine records' `source` (a message emitted twice under at-least-once counts
  once; one with two different outputs fails `single_output`). The processor writes the outputs
  of raw partition p to partition p of the clean topic and of the quarantine. Where retention
  (clean topics 30 days, quarantine 90) deleted the start of such a partition, the durable stores
  account for the deleted part:
  - quarantined: the lake sink archives the quarantine topic record for record; where its
    manifests tile the deleted offsets from 0, those objects are read and each record's `source`
    joins the sources still on the topic (the union counts a source once). Else
    `warehouse.quarantine_event`, if the warehouse sink had loaded past the deleted offsets: it
    keeps each record's raw source topic, partition and offset, but one row per quarantine_id,
    and a backfill copy of a bad record is quarantined under its original's id, so such a copy's
    source is missing there (a surplus of one per copy, e.g. after a backfill);
  - clean: the warehouse event tables keep one row per event_id, naming the clean message it was
    first loaded from (clean topic, partition, offset) but not the raw source offset. The deleted
    part's term is therefore the number of events whose row names a clean message below the low
    watermark (the warehouse sink must have loaded past it), added to the distinct raw sources
    still on the topic. Deleted clean messages are 30 days old, far below the counts' next_offset.
    This counts events, not raw messages: it is exact while every event went clean from one raw
    message, which the processor's de-duplication guarantees within `dedupe_retention_days`. An
    event that went clean again after that window (e.g. a backfill of older history) leaves one
    row for two raw messages; once both clean copies are deleted, that shows as a surplus of one
    (received > outputs), indistinguishable from a lost warehouse row. A message re-emitted after
    a crash with one copy on each side of the low watermark counts twice until the second copy is
    deleted too (a deficit, transient);
* duplicates and parked: the processor's durable counts, the only record of messages that leave
  no output. Outputs of messages parked when the counts were read are left out (they were
  released later, after the counts' snapshot).

A term that cannot be measured makes that partition "unverified", never a silent ok: raw offsets
deleted by retention and not tiled by the lake; clean outputs deleted before the warehouse sink
loaded them; quarantine records deleted before the warehouse loaded them and not tiled by the
lake's quarantine archive; no state changelog topic; or a processor whose commits do not reach its
counts (stopped mid-batch). Unverified checks fail the run unless `allow_unverified` is set.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from orchestration.scan import PartitionScan
from platform_common.stream_counts import ProcessorCounts
from platform_common.topics import Family, clean_topic, quarantine_topic, raw_topic

EPOCH = date(1970, 1, 1)
COLUMNS = ("raw", "lake", "lake_missing", "clean", "quarantined", "dropped", "warehouse", "warehouse_missing")
TERMS = ("received", "clean", "quarantined", "duplicates", "parked")
TP = tuple[str, int]
Marks = dict[TP, tuple[int, int]]


@dataclass
class DayRow:
    family: str
    day: date
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.counts["lake_missing"] and not self.counts["warehouse_missing"]


@dataclass
class Check:
    """One check's verdict. `unverified`: a term could not be measured (then `ok` is False too);
    the report fails on it unless unverified checks are explicitly allowed."""

    name: str
    ok: bool
    detail: str
    data: dict[str, Any] = field(default_factory=dict)
    unverified: bool = False

    @property
    def status(self) -> str:
        return "unverified" if self.unverified else "ok" if self.ok else "mismatch"


@dataclass
class Scope:
    families: tuple[Family, ...] = tuple(Family)
    start: date | None = None
    end: date | None = None  # inclusive

    def includes(self, day: date) -> bool:
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)


@dataclass
class PartitionBalance:
    """The balance terms of one raw partition over offsets [0, next_offset); None: not measured."""

    partition: int
    received: int | None = None
    clean: int | None = None
    quarantined: int | None = None
    duplicates: int | None = None
    parked: int | None = None
    processor_raw: int | None = None  # the processor's own count, for the report only
    next_offset: int = 0
    pending: int = 0  # raw messages at or beyond next_offset: not processed yet
    unverified: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)  # terms (partly) taken from the warehouse or lake

    @property
    def difference(self) -> int | None:
        terms = [self.received, self.clean, self.quarantined, self.duplicates, self.parked]
        if self.unverified or any(term is None for term in terms):
            return None
        received, clean, quarantined, duplicates, parked = (int(term or 0) for term in terms)
        return received - (clean + quarantined + duplicates + parked)


def balance_check(family: str, partitions: Iterable[PartitionBalance]) -> Check:
    """`balance:<family>`: mismatch if any measured partition is off; else unverified if any
    partition could not be measured; else ok. Totals cover the measured partitions."""
    items = sorted(partitions, key=lambda item: item.partition)
    measured = [item for item in items if item.difference is not None]
    unmeasured = {
        str(item.partition): item.unverified or ["a term was not measured"] for item in items if item.difference is None
    }
    totals = {name: sum(int(getattr(item, name) or 0) for item in measured) for name in TERMS}
    totals["processor_raw"] = sum(int(item.processor_raw or 0) for item in measured)
    pending = sum(item.pending for item in items)
    wrong = {str(item.partition): item.difference for item in measured if item.difference}
    archived = {str(item.partition): item.archived for item in items if item.archived}
    data: dict[str, Any] = {
        "totals": totals,
        "pending": pending,
        "differences": wrong,
        "unverified": unmeasured,
        "archived": archived,
    }
    equation = (
        f"received {totals['received']:,} vs clean {totals['clean']:,} + quarantined {totals['quarantined']:,}"
        f" + duplicates {totals['duplicates']:,} + parked {totals['parked']:,}"
    )
    scope = f"lifetime totals over {len(measured)} partition(s), {pending:,} pending"
    if archived:
        scope += f"; outputs retention deleted counted from the warehouse or lake in {len(archived)} partition(s)"
    name = f"balance:{family}"
    if wrong:
        return Check(name, False, f"{equation}: off by {wrong} (raw partition: received - outputs)", data)
    if unmeasured:
        reasons = "; ".join(f"partition {key}: {', '.join(value)}" for key, value in list(unmeasured.items())[:4])
        return Check(name, False, f"unverified ({reasons}); measured: {equation}", data, unverified=True)
    return Check(name, True, f"{equation}: balanced ({scope})", data)


def lake_count_below(manifests: Iterable[tuple[int, int, int, int]], limit: int) -> int | None:
    """Raw messages the lake holds at offsets below `limit`, from manifests (start_offset,
    first_offset, end_offset, record_count); None unless the objects tile [0, limit) with no gap
    or overlap and the count below `limit` is known (an object straddling it must be dense)."""
    covered_to, count = 0, 0  # next offset not covered yet
    for start, first, end, records in sorted(manifests):
        if covered_to >= limit:
            break
        if start != covered_to:
            return None  # a gap (never archived) or an overlap (archived twice)
        if end < limit:
            count += records
        elif records == end - first + 1:
            count += max(0, limit - first)
        else:
            return None
        covered_to = end + 1
    return count if covered_to >= limit else None


@dataclass
class Archived:
    """The outputs retention deleted from one topic (partitions with a low watermark above 0), as
    the durable stores account for them: `sources` names the store per partition, `events` (clean
    topics) the warehouse rows naming a deleted message, `missing` why no store can."""

    sources: dict[int, str] = field(default_factory=dict)
    events: dict[int, int] = field(default_factory=dict)
    missing: dict[int, str] = field(default_factory=dict)


def archived_clean(topic: str, rows: Iterable[tuple[str, int, int]], loaded: dict[TP, int], marks: Marks) -> Archived:
    """The deleted part of each trimmed partition of clean topic `topic`, from the warehouse rows
    (event_id, partition, offset of the clean message first loaded): one event per row naming a
    message below the low watermark; unmeasurable where the warehouse sink had not loaded that far."""
    result = Archived()
    lows = {partition: low for (name, partition), (low, _) in marks.items() if name == topic and low > 0}
    for partition, low in lows.items():
        position = loaded.get((topic, partition), 0)
        if position < low:
            result.missing[partition] = f"deleted before the warehouse sink loaded it (its offset: {position})"
        else:
            result.sources[partition] = "warehouse event rows (one per event)"
            result.events[partition] = 0
    for _event_id, partition, offset in rows:
        number = int(partition)
        if number in result.events and offset < lows[number]:
            result.events[number] += 1
    return result


def quarantine_source(value: bytes | None) -> tuple[str, int, int] | None:
    """(raw topic, partition, offset) a quarantine record names; None when it names none."""
    try:
        source = json.loads(value or b"{}").get("source") or {}
        return str(source["topic"]), int(source["partition"]), int(source["offset"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def to_date(day_number: int) -> date:
    return EPOCH + timedelta(days=day_number)


def partition_balance(
    prefix: str,
    family: Family,
    partition: int,
    durable: ProcessorCounts,
    unsettled: set[TP],
    marks: Marks,
    raw_scan: dict[int, PartitionScan],
    manifests: dict[TP, list[tuple[int, int, int, int]]],
    outputs: dict[TP, dict[int, str]],
    stores: dict[str, Archived] | None = None,
) -> PartitionBalance:
    """The balance terms of raw partition `partition` of `family` (topics named with `prefix`),
    each from its own measurement; a term that cannot be measured is named in `unverified`."""
    topic = raw_topic(family, prefix)
    counts = durable.counts.get((family.value, partition))
    end = counts.next_offset if counts is not None else 0
    scan = raw_scan.get(partition, PartitionScan())
    low, high = marks[(topic, partition)]
    item = PartitionBalance(partition, next_offset=end)
    item.pending = sum(1 for offset in scan.offsets if offset >= end)
    if not durable.exists:
        if high > 0:
            item.unverified.append(f"no durable counts (topic {durable.topic} missing)")
        else:  # an empty partition: nothing to balance
            item.received = item.clean = item.quarantined = item.duplicates = item.parked = 0
        return item
    if counts is not None:
        item.duplicates, item.parked, item.processor_raw = counts.duplicate, counts.parked, counts.raw
    else:
        item.duplicates = item.parked = item.processor_raw = 0
    if (topic, partition) in unsettled:
        item.unverified.append("the processor has not committed up to its counts (behind, or stopped mid-batch)")
    # received: on the topic from its low watermark, in the lake below it
    below = min(low, end)
    archived = lake_count_below(manifests.get((topic, partition), []), below) if below > 0 else 0
    if archived is None:
        item.unverified.append(f"raw offsets below {below} deleted by retention and not all in the lake")
    else:
        item.received = archived + sum(1 for offset in scan.offsets if offset < end)
    # clean and quarantined: distinct raw sources, except messages parked at the counts' read;
    # what retention deleted from the output partition, as the warehouse or lake accounts for it
    parked = {offset for name, number, offset in durable.parked if name == topic and number == partition}
    for output, output_topic in (("clean", clean_topic(family, prefix)), ("quarantined", quarantine_topic(prefix))):
        trimmed = marks.get((output_topic, partition), (0, 0))[0]
        deleted = 0
        if trimmed > 0 and end > 0:
            store = (stores or {}).get(output, Archived())
            if partition not in store.sources:
                why = store.missing.get(partition, "no durable store accounts for the deleted outputs")
                item.unverified.append(f"{output_topic}/{partition} trimmed below offset {trimmed}: {why}")
                continue
            deleted = store.events.get(partition, 0)  # quarantine: already among the sources
            item.archived.append(f"{output} below {output_topic}/{partition}@{trimmed}: {store.sources[partition]}")
        kinds = outputs.get((topic, partition), {})
        number = sum(1 for offset, kind in kinds.items() if kind == output and offset < end and offset not in parked)
        setattr(item, output, number + deleted)
    return item
