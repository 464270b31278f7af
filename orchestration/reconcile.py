"""Reconciliation: do the raw topics, the lake, the processor's outputs and the warehouse agree?

The one time axis all stores carry is the arrival day (UTC day of the raw message's Kafka
timestamp): the lake archives raw records with it, clean records keep their raw record's
timestamp, quarantine records name their source message, and warehouse rows name the clean
message they came from. Per family and arrival day (the report's table):

* lake: every raw message the lake sink has committed past must be in an existing lake object
  (manifests give offset ranges; a deleted object leaves its offsets uncovered);
* warehouse: every distinct event on the clean topics below the warehouse sink's stored offset
  must have its row, and no row may point at a clean message that does not exist (rows naming a
  message retention deleted are left to the balance below); likewise every
  quarantine record below its stored quarantine-topic offset must be in warehouse.quarantine_event
  (the data-quality counts the query API serves);
* the day table also shows clean, quarantined and "dropped" (no output: duplicates and parked)
  per day. Those columns are derived from each other and are informational, not a check.

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

The counts are read first; the check then waits (up to `settle_timeout_s`) until the processor's
committed offsets reach their `next_offset` (its outputs are flushed before it commits) and only
then takes the topics' high watermarks, so every output of a counted message is in the scan while
the pipeline keeps running. Messages beyond `next_offset` are reported as pending, not compared.

A term that cannot be measured makes that partition "unverified", never a silent ok: raw offsets
deleted by retention and not tiled by the lake; clean outputs deleted before the warehouse sink
loaded them; quarantine records deleted before the warehouse loaded them and not tiled by the
lake's quarantine archive; no state changelog topic; or a processor whose commits do not reach its
counts (stopped mid-batch). Unverified checks fail the run unless `allow_unverified` is set.
"""

from __future__ import annotations

import bisect
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psycopg import sql

from orchestration import drain, kafka_state
from orchestration.scan import PartitionScan, QuarantineItem, scan_quarantine, scan_topic
from platform_common.config import Settings
from platform_common.postgres import Role, connect, read_sql
from platform_common.stream_counts import ProcessorCounts, read_processor_counts
from platform_common.topics import Family, clean_topic, quarantine_topic, raw_topic

if TYPE_CHECKING:
    from sinks.lake.manifest import Manifest

SQL = Path(__file__).parent / "sql"
EPOCH = date(1970, 1, 1)
EVENT_TABLES = {
    Family.SUBSCRIPTION: "subscription_event",
    Family.PAYMENT: "payment_event",
    Family.USAGE: "usage_event",
    Family.OPERATIONAL_COST: "cost_event",
}
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


class Reconciler:
    def __init__(
        self, settings: Settings, say: Callable[[str], None] | None = None, settle_timeout_s: float = 30.0
    ) -> None:
        self.settings = settings
        self.say = say or (lambda _message: None)
        self.settle_timeout_s = settle_timeout_s
        self.rows: dict[tuple[str, date], DayRow] = {}
        self.checks: list[Check] = []
        self.doubles = 0  # raw messages with two different outputs

    def output(self, kinds: dict[int, str], source: int, kind: str) -> None:
        """Record that raw offset `source` produced a `kind` output (a second copy of the same
        output, as at-least-once re-emits, is the same output; another kind is a double)."""
        previous = kinds.get(source)
        if previous is not None and previous != kind:
            self.doubles += 1
        kinds[source] = kind

    def row(self, family: str, day_number: int) -> DayRow:
        day = to_date(day_number)
        key = (family, day)
        if key not in self.rows:
            self.rows[key] = DayRow(family, day)
        return self.rows[key]

    # -- lake ---------------------------------------------------------------------------------
    def lake_manifests(self, family: Family) -> tuple[dict[TP, list[tuple[int, int, int, int]]], list[Check]]:
        """Per raw topic-partition: (start, first, end, record count) of every manifest; and the
        lake's own integrity check."""
        from sinks.lake import LakeReader, verify

        reader = LakeReader(self.settings)
        manifests: dict[TP, list[tuple[int, int, int, int]]] = defaultdict(list)
        for item in reader.list_objects(family):
            manifest = reader.read_manifest(item.key)
            if manifest is not None:
                manifests[(item.topic, item.partition)].append(
                    (manifest.start_offset, manifest.first_offset, manifest.end_offset, manifest.record_count)
                )
        for spans in manifests.values():
            spans.sort()
        report = verify(family.value, settings=self.settings, checksums=False, reader=reader)
        problems = [f"{p.kind} {p.key}: {p.detail}" for p in report.problems]
        detail = "; ".join(problems[:5]) or f"{report.objects} objects"
        check = Check(f"lake_objects:{family.value}", not problems, detail)
        return manifests, [check]

    @staticmethod
    def covered(spans: list[tuple[int, int]], offset: int) -> bool:
        index = bisect.bisect_right(spans, (offset, float("inf"))) - 1
        return index >= 0 and spans[index][0] <= offset <= spans[index][1]

    # -- the processor's durable counts ---------------------------------------------------------
    def unsettled(self, group: str, targets: dict[TP, int]) -> set[TP]:
        """Raw partitions whose committed offset stays below the counted position: wait for the
        processor to commit (it flushes its outputs first) for up to `settle_timeout_s`."""
        deadline = time.monotonic() + self.settle_timeout_s
        while True:
            committed = kafka_state.committed(self.settings, group, list(targets))
            behind = {key for key, position in targets.items() if (committed.get(key) or 0) < position}
            if not behind or time.monotonic() >= deadline:
                return behind
            time.sleep(1.0)

    # -- the run ------------------------------------------------------------------------------
    def run(self, scope: Scope) -> None:
        settings, prefix = self.settings, self.settings.kafka.topic_prefix
        names = drain.groups(settings)
        raw = {family: raw_topic(family, prefix) for family in scope.families}
        clean = {family: clean_topic(family, prefix) for family in scope.families}
        quarantine = quarantine_topic(prefix)
        self.say("reading the stream processor's durable counts")
        durable = read_processor_counts(settings)
        targets = {
            (raw[Family(counts.family)], counts.partition): counts.next_offset
            for counts in durable.counts.values()
            if counts.family in {f.value for f in scope.families} and counts.next_offset > 0
        }
        unsettled = self.unsettled(names.processor, targets)
        marks = kafka_state.watermarks(settings, [*raw.values(), *clean.values(), quarantine])
        raw_keys = [key for key in marks if key[0] in raw.values()]
        processor = kafka_state.committed(settings, names.processor, raw_keys)
        lake = kafka_state.committed(settings, names.lake, raw_keys)
        warehouse = drain.warehouse_positions(settings, names.warehouse_consumer, list(clean.values()))
        self.say("reading the quarantine topic")
        outputs: dict[TP, dict[int, str]] = defaultdict(dict)  # raw (topic, p) -> offset -> kind
        quarantined = scan_quarantine(settings, quarantine, marks)
        for item in quarantined:
            self.output(outputs[(item.source_topic, item.source_partition)], item.source_offset, "quarantined")
        quarantine_archived = self._archived_quarantine(quarantine, marks, names.warehouse_consumer, outputs)
        for family in scope.families:
            self.say(f"{family.value}: reading raw and clean topics, lake manifests, warehouse rows")
            raw_scan = scan_topic(settings, raw[family], marks)
            clean_scan = scan_topic(settings, clean[family], marks, with_source=True)
            for partition, scan in clean_scan.items():
                kinds = outputs[(raw[family], partition)]
                for source in scan.source_offsets:
                    if source >= 0:
                        self.output(kinds, source, "clean")
            manifests, lake_checks = self.lake_manifests(family)
            self.checks.extend(lake_checks)
            for partition, scan in raw_scan.items():
                key = (raw[family], partition)
                spans = [(first, end) for _, first, end, _ in manifests.get(key, [])]
                lake_position = lake.get(key) or 0
                processed = processor.get(key) or 0
                kinds = outputs[key]
                for offset, day in zip(scan.offsets, scan.days, strict=True):
                    counts = self.row(family.value, day).counts
                    counts["raw"] += 1
                    if offset < lake_position:
                        in_lake = self.covered(spans, offset)
                        counts["lake" if in_lake else "lake_missing"] += 1
                    if offset < processed:
                        counts[kinds.get(offset, "dropped")] += 1
            rows = self._warehouse_rows(family, clean[family])
            clean_archived = archived_clean(clean[family], rows, warehouse, marks)
            partitions = sorted(partition for topic, partition in marks if topic == raw[family])
            balances = [
                self._balance(
                    family,
                    partition,
                    durable,
                    unsettled,
                    marks,
                    raw_scan,
                    manifests,
                    outputs,
                    {"clean": clean_archived, "quarantined": quarantine_archived},
                )
                for partition in partitions
            ]
            self.checks.append(balance_check(family.value, balances))
            self._warehouse(family, clean[family], clean_scan, warehouse, marks, rows)
        for item in quarantined:
            if item.family in {f.value for f in scope.families}:
                self.row(item.family, item.day).counts[f"quarantine:{item.reason}"] += 1
        self.checks.append(self._warehouse_quarantine(quarantine, quarantined, names.warehouse_consumer))
        doubles = self.doubles
        self.checks.append(Check("single_output", doubles == 0, f"{doubles} raw message(s) with more than one output"))
        self.checks.extend(mrr_bridge_checks(settings))
        self.rows = {key: row for key, row in self.rows.items() if scope.includes(row.day)}

    def _balance(
        self,
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
        prefix = self.settings.kafka.topic_prefix
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
            number = sum(
                1 for offset, kind in kinds.items() if kind == output and offset < end and offset not in parked
            )
            setattr(item, output, number + deleted)
        return item

    # -- outputs retention deleted ----------------------------------------------------------------
    def _archived_quarantine(
        self, topic: str, marks: Marks, consumer: str, outputs: dict[TP, dict[int, str]]
    ) -> Archived:
        """Add the sources of quarantine records retention deleted to `outputs`: from the lake's
        archive of the quarantine topic (every record, byte for byte), else from
        warehouse.quarantine_event where the warehouse sink had loaded past the deleted offsets."""
        result = Archived()
        lows = {partition: low for (name, partition), (low, _) in marks.items() if name == topic and low > 0}
        if not lows:
            return result
        self.say("reading quarantine records retention deleted from the lake")
        self._lake_quarantine(topic, lows, outputs, result)
        if not result.missing:
            return result
        loaded = drain.warehouse_positions(self.settings, consumer, [topic])
        complete = sorted(p for p in result.missing if loaded.get((topic, p), 0) >= lows[p])
        for partition in sorted(result.missing.keys() - set(complete)):
            position = loaded.get((topic, partition))
            loads = "does not load the quarantine topic" if not loaded else f"loaded it up to offset {position or 0}"
            result.missing[partition] += f"; the warehouse sink {loads}"
        if complete:
            self.say("reading the sources of the rest from warehouse.quarantine_event")
            with connect(Role.WRITER, self.settings) as conn:
                topics = [raw_topic(family, self.settings.kafka.topic_prefix) for family in Family]
                query = read_sql(SQL / "reconcile_quarantine_sources.sql")
                rows = conn.execute(query, {"topics": topics, "partitions": complete}).fetchall()
            for source_topic, source_partition, source_offset in rows:
                self.output(outputs[(str(source_topic), int(source_partition))], int(source_offset), "quarantined")
            for partition in complete:
                del result.missing[partition]
                result.sources[partition] = "warehouse.quarantine_event (raw source of each record)"
        return result

    def _lake_quarantine(
        self, topic: str, lows: dict[int, int], outputs: dict[TP, dict[int, str]], result: Archived
    ) -> None:
        from sinks.lake import LakeReader
        from sinks.lake.envelope import QUARANTINE_FAMILY

        reader = LakeReader(self.settings)
        objects: dict[int, list[tuple[str, Manifest]]] = defaultdict(list)
        for item in reader.list_objects(QUARANTINE_FAMILY):
            if item.topic == topic and item.partition in lows:
                manifest = reader.read_manifest(item.key)
                if manifest is not None:
                    objects[item.partition].append((item.key, manifest))
        for partition, low in sorted(lows.items()):
            spans = [(m.start_offset, m.first_offset, m.end_offset, m.record_count) for _, m in objects[partition]]
            if lake_count_below(spans, low) is None:
                result.missing[partition] = f"the lake's quarantine archive does not tile offsets 0..{low - 1}"
                continue
            sources: list[tuple[str, int, int]] = []
            try:
                for key, manifest in objects[partition]:
                    if manifest.first_offset < low:
                        records = reader.read_object(key, manifest.sha256)
                        found = (quarantine_source(r.value) for r in records if r.offset < low)
                        sources.extend(source for source in found if source is not None)
            except ValueError as error:  # a checksum that does not match its manifest
                result.missing[partition] = f"lake archive unreadable: {error}"
                continue
            for source_topic, source_partition, source_offset in sources:
                self.output(outputs[(source_topic, source_partition)], source_offset, "quarantined")
            result.sources[partition] = "the lake's archive of the quarantine topic"

    def _warehouse_rows(self, family: Family, topic: str) -> list[tuple[str, int, int]]:
        """(event_id, partition, offset) of the clean message each warehouse row was first loaded from."""
        query = sql.SQL(read_sql(SQL / "warehouse_event_positions.sql")).format(
            table=sql.Identifier("warehouse", EVENT_TABLES[family])
        )
        with connect(Role.WRITER, self.settings) as conn:
            rows = conn.execute(query, {"topic": topic}).fetchall()
        return [(str(event_id), int(partition), int(offset)) for event_id, partition, offset in rows]

    def _warehouse(
        self,
        family: Family,
        topic: str,
        scans: dict[int, PartitionScan],
        positions: dict[tuple[str, int], int],
        marks: dict[tuple[str, int], tuple[int, int]],
        rows: list[tuple[str, int, int]],
    ) -> None:
        expected: dict[str, int] = {}  # event_id -> arrival day of its first clean message
        for partition, scan in scans.items():
            stored = positions.get((topic, partition), 0)
            for offset, day, event_id in zip(scan.offsets, scan.days, scan.event_ids, strict=True):
                if offset < stored and event_id is not None and event_id not in expected:
                    expected[event_id] = day
        found: set[str] = set()
        orphans: list[str] = []
        for event_id, partition, offset in rows:
            low = marks.get((topic, int(partition)), (0, 0))[0]
            if offset < low:
                continue  # its clean message is gone (retention): out of scope
            if event_id in expected:
                found.add(event_id)
                self.row(family.value, expected[event_id]).counts["warehouse"] += 1
            else:
                orphans.append(event_id)
        missing = [event_id for event_id in expected if event_id not in found]
        for event_id in missing:
            self.row(family.value, expected[event_id]).counts["warehouse_missing"] += 1
        self.checks.append(
            Check(
                f"warehouse_rows:{family.value}",
                not missing and not orphans,
                f"{len(expected):,} expected, {len(missing)} missing, {len(orphans)} without a clean message",
                {"missing_examples": missing[:10], "orphan_examples": orphans[:10]},
            )
        )

    def _warehouse_quarantine(self, topic: str, items: list[QuarantineItem], consumer: str) -> Check:
        stored = drain.warehouse_positions(self.settings, consumer, [topic])
        if not stored:
            return Check("warehouse_quarantine", True, "skipped: the warehouse sink does not load the quarantine topic")
        expected = {
            item.quarantine_id
            for item in items
            if item.quarantine_id and item.offset < stored.get((topic, item.partition), 0)
        }
        with connect(Role.WRITER, self.settings) as conn:
            rows = conn.execute(read_sql(SQL / "warehouse_quarantine_ids.sql"), {"ids": sorted(expected)}).fetchall()
        missing = sorted(expected - {str(row[0]) for row in rows})
        detail = f"{len(expected):,} expected, {len(missing)} missing"
        return Check("warehouse_quarantine", not missing, detail, {"missing_examples": missing[:10]})


def mrr_bridge_checks(settings: Settings) -> list[Check]:
    with connect(Role.WRITER, settings) as conn:
        breaks = conn.execute(read_sql(SQL / "mrr_bridge_breaks.sql")).fetchall()
        continuity = conn.execute(read_sql(SQL / "mrr_bridge_continuity.sql")).fetchall()
        months = conn.execute(read_sql(SQL / "mrr_bridge_months.sql")).fetchone()
    month_count = int(months[0]) if months else 0
    return [
        Check(
            "mrr_bridge",
            not breaks,
            f"{month_count} months: opening + movements = closing" if not breaks else f"{len(breaks)} row(s) break",
            {"breaks": [[str(v) for v in row] for row in breaks]},
        ),
        Check(
            "mrr_continuity",
            not continuity,
            "closing = next opening = snapshot" if not continuity else f"{len(continuity)} month(s) differ",
            {"differences": [[str(v) for v in row] for row in continuity]},
        ),
    ]


def quarantine_by_reason(items: list[QuarantineItem]) -> Counter[str]:
    return Counter(item.reason for item in items)
