"""Reconciliation: do the raw topics, the lake, the processor's outputs and the warehouse agree?

The one time axis all stores carry is the arrival day (UTC day of the raw message's Kafka
timestamp): the lake archives raw records with it, clean records keep their raw record's
timestamp, quarantine records name their source message, and warehouse rows name the clean
message they came from. Per family and arrival day:

* lake: every raw message the lake sink has committed past must be in an existing lake object
  (manifests give offset ranges; a deleted object leaves its offsets uncovered);
* balance: received = clean + quarantined + dropped, where clean and quarantined are counted
  from the outputs' source coordinates and dropped (duplicates, plus messages parked right now)
  must equal the processor's own counters when its /metrics answers; a raw message with two
  outputs is a mismatch;
* warehouse: every distinct event on the clean topics below the warehouse sink's stored offset
  must have its row, and no row may point at a clean message that does not exist; likewise every
  quarantine record below its stored quarantine-topic offset must be in warehouse.quarantine_event
  (the data-quality counts the query API serves).

Only messages the consumer in question has passed are compared, so a running pipeline shows
"pending", not mismatches. Messages already deleted by topic retention are out of scope.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from psycopg import sql

from orchestration import drain, kafka_state
from orchestration.scan import PartitionScan, QuarantineItem, scan_quarantine, scan_topic
from platform_common.config import Settings
from platform_common.postgres import Role, connect, read_sql
from platform_common.topics import Family, clean_topic, quarantine_topic, raw_topic

SQL = Path(__file__).parent / "sql"
EPOCH = date(1970, 1, 1)
EVENT_TABLES = {
    Family.SUBSCRIPTION: "subscription_event",
    Family.PAYMENT: "payment_event",
    Family.USAGE: "usage_event",
    Family.OPERATIONAL_COST: "cost_event",
}
COLUMNS = ("raw", "lake", "lake_missing", "clean", "quarantined", "dropped", "warehouse", "warehouse_missing")


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
    name: str
    ok: bool
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scope:
    families: tuple[Family, ...] = tuple(Family)
    start: date | None = None
    end: date | None = None  # inclusive

    def includes(self, day: date) -> bool:
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)


def to_date(day_number: int) -> date:
    return EPOCH + timedelta(days=day_number)


class Reconciler:
    def __init__(
        self, settings: Settings, processor_metrics: Sequence[str] = (), say: Callable[[str], None] | None = None
    ) -> None:
        self.settings = settings
        self.processor_metrics = list(processor_metrics)
        self.say = say or (lambda _message: None)
        self.rows: dict[tuple[str, date], DayRow] = {}
        self.checks: list[Check] = []

    def row(self, family: str, day_number: int) -> DayRow:
        day = to_date(day_number)
        key = (family, day)
        if key not in self.rows:
            self.rows[key] = DayRow(family, day)
        return self.rows[key]

    # -- lake ---------------------------------------------------------------------------------
    def lake_intervals(self, family: Family) -> tuple[dict[tuple[str, int], list[tuple[int, int]]], list[Check]]:
        from sinks.lake import LakeReader, verify

        reader = LakeReader(self.settings)
        intervals: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
        for item in reader.list_objects(family):
            manifest = reader.read_manifest(item.key)
            if manifest is not None:
                intervals[(item.topic, item.partition)].append((manifest.first_offset, manifest.end_offset))
        for spans in intervals.values():
            spans.sort()
        report = verify(family.value, settings=self.settings, checksums=False, reader=reader)
        problems = [f"{p.kind} {p.key}: {p.detail}" for p in report.problems]
        detail = "; ".join(problems[:5]) or f"{report.objects} objects"
        check = Check(f"lake_objects:{family.value}", not problems, detail)
        return intervals, [check]

    @staticmethod
    def covered(spans: list[tuple[int, int]], offset: int) -> bool:
        index = bisect.bisect_right(spans, (offset, float("inf"))) - 1
        return index >= 0 and spans[index][0] <= offset <= spans[index][1]

    # -- the run ------------------------------------------------------------------------------
    def run(self, scope: Scope) -> None:
        settings, prefix = self.settings, self.settings.kafka.topic_prefix
        names = drain.groups(settings)
        raw = {family: raw_topic(family, prefix) for family in scope.families}
        clean = {family: clean_topic(family, prefix) for family in scope.families}
        quarantine = quarantine_topic(prefix)
        marks = kafka_state.watermarks(settings, [*raw.values(), *clean.values(), quarantine])
        raw_keys = [key for key in marks if key[0] in raw.values()]
        processor = kafka_state.committed(settings, names.processor, raw_keys)
        lake = kafka_state.committed(settings, names.lake, raw_keys)
        warehouse = drain.warehouse_positions(settings, names.warehouse_consumer, list(clean.values()))
        self.say("reading the quarantine topic")
        outputs: dict[tuple[str, int], dict[int, str]] = defaultdict(dict)  # raw (topic, p) -> offset -> kind
        doubles = 0
        quarantined = scan_quarantine(settings, quarantine, marks)
        for item in quarantined:
            kinds = outputs[(item.source_topic, item.source_partition)]
            doubles += item.source_offset in kinds
            kinds[item.source_offset] = "quarantined"
        dropped_total: Counter[str] = Counter()
        for family in scope.families:
            self.say(f"{family.value}: reading raw and clean topics, lake manifests, warehouse rows")
            raw_scan = scan_topic(settings, raw[family], marks)
            clean_scan = scan_topic(settings, clean[family], marks, with_source=True)
            for partition, scan in clean_scan.items():
                kinds = outputs[(raw[family], partition)]
                for source in scan.source_offsets:
                    if source >= 0:
                        doubles += source in kinds
                        kinds[source] = "clean"
            intervals, lake_checks = self.lake_intervals(family)
            self.checks.extend(lake_checks)
            for partition, scan in raw_scan.items():
                key = (raw[family], partition)
                spans = intervals.get(key, [])
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
                        outcome = kinds.get(offset, "dropped")
                        counts[outcome] += 1
                        if outcome == "dropped":
                            dropped_total[family.value] += 1
            self._warehouse(family, clean[family], clean_scan, warehouse, marks)
        for item in quarantined:
            if item.family in {f.value for f in scope.families}:
                self.row(item.family, item.day).counts[f"quarantine:{item.reason}"] += 1
        self.checks.append(self._warehouse_quarantine(quarantine, quarantined, names.warehouse_consumer))
        self.checks.append(Check("single_output", doubles == 0, f"{doubles} raw message(s) with more than one output"))
        self.checks.append(self._dropped_check(dropped_total, marks, raw_keys))
        self.checks.extend(mrr_bridge_checks(settings))
        self.rows = {key: row for key, row in self.rows.items() if scope.includes(row.day)}

    def _warehouse(
        self,
        family: Family,
        topic: str,
        scans: dict[int, PartitionScan],
        positions: dict[tuple[str, int], int],
        marks: dict[tuple[str, int], tuple[int, int]],
    ) -> None:
        expected: dict[str, int] = {}  # event_id -> arrival day of its first clean message
        for partition, scan in scans.items():
            stored = positions.get((topic, partition), 0)
            for offset, day, event_id in zip(scan.offsets, scan.days, scan.event_ids, strict=True):
                if offset < stored and event_id is not None and event_id not in expected:
                    expected[event_id] = day
        query = sql.SQL(read_sql(SQL / "warehouse_event_positions.sql")).format(
            table=sql.Identifier("warehouse", EVENT_TABLES[family])
        )
        with connect(Role.WRITER, self.settings) as conn:
            rows = conn.execute(query, {"topic": topic}).fetchall()
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

    def _dropped_check(
        self, dropped: Counter[str], marks: dict[tuple[str, int], tuple[int, int]], raw_keys: list[tuple[str, int]]
    ) -> Check:
        counters = processor_counters(self.processor_metrics)
        if counters is None:
            return Check("balance_vs_processor_metrics", True, "skipped: no stream processor /metrics answered")
        if any(marks[key][0] > 0 for key in raw_keys):
            return Check("balance_vs_processor_metrics", True, "skipped: raw topics were trimmed by retention")
        wrong = {
            family: {"topics": dropped.get(family, 0), "processor": counters.get(family, 0)}
            for family in {*dropped, *counters}
            if dropped.get(family, 0) != counters.get(family, 0)
        }
        detail = "dropped (duplicates + parked) match the processor's counters" if not wrong else f"differ: {wrong}"
        return Check("balance_vs_processor_metrics", not wrong, detail, {"differences": wrong})


def processor_counters(urls: Sequence[str]) -> dict[str, int] | None:
    """duplicate + parked per family from the processor's durable per-partition gauges."""
    totals: Counter[str] = Counter()
    answered = False
    for url in urls:
        try:
            samples = drain.scrape(url)
        except OSError:
            continue
        answered = True
        for labels, value in samples.get("ledgerline_stream_owned_events", []):
            if labels.get("outcome") in ("duplicate", "parked"):
                totals[labels.get("family", "")] += int(value)
    return dict(totals) if answered else None


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
