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
as lifetime totals per raw partition over the offsets the processor's durable counts cover; how
each term is measured, and when a partition is "unverified", is in `orchestration.reconcile_balance`.

The counts are read first; the check then waits (up to `settle_timeout_s`) until the processor's
committed offsets reach their `next_offset` (its outputs are flushed before it commits) and only
then takes the topics' high watermarks, so every output of a counted message is in the scan while
the pipeline keeps running. Messages beyond `next_offset` are reported as pending, not compared.

This module runs the checks in that order (`Reconciler.run`) and is the one callers import from.
The rest lives beside it: `reconcile_balance` (verdicts and the balance arithmetic, no I/O),
`reconcile_measure` (lake, processor commits and warehouse readings), `reconcile_bridge` (the
MRR bridge checks) and `scan` (the topic scans).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable
from datetime import date

from orchestration import drain, kafka_state, reconcile_measure
from orchestration.reconcile_balance import (
    COLUMNS,
    TP,
    Archived,
    Check,
    DayRow,
    PartitionBalance,
    Scope,
    archived_clean,
    balance_check,
    lake_count_below,
    partition_balance,
    quarantine_source,
    to_date,
)
from orchestration.reconcile_bridge import mrr_bridge_checks
from orchestration.reconcile_measure import (
    EVENT_TABLES,
    SQL,
    archived_quarantine,
    warehouse_check,
    warehouse_quarantine_check,
    warehouse_rows,
)
from orchestration.scan import scan_quarantine, scan_topic
from platform_common.config import Settings
from platform_common.stream_counts import read_processor_counts
from platform_common.topics import Family, clean_topic, quarantine_topic, raw_topic

__all__ = [
    "COLUMNS",
    "EVENT_TABLES",
    "SQL",
    "Archived",
    "Check",
    "DayRow",
    "PartitionBalance",
    "Reconciler",
    "Scope",
    "archived_clean",
    "balance_check",
    "lake_count_below",
    "mrr_bridge_checks",
    "partition_balance",
    "quarantine_source",
    "to_date",
]


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
        return reconcile_measure.lake_manifests(self.settings, family)

    @staticmethod
    def covered(spans: list[tuple[int, int]], offset: int) -> bool:
        index = bisect.bisect_right(spans, (offset, float("inf"))) - 1
        return index >= 0 and spans[index][0] <= offset <= spans[index][1]

    # -- the processor's durable counts ---------------------------------------------------------
    def unsettled(self, group: str, targets: dict[TP, int]) -> set[TP]:
        """Raw partitions whose committed offset stays below the counted position: wait for the
        processor to commit (it flushes its outputs first) for up to `settle_timeout_s`."""
        return reconcile_measure.unsettled(self.settings, group, targets, self.settle_timeout_s)

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
        quarantine_archived = archived_quarantine(
            settings, quarantine, marks, names.warehouse_consumer, outputs, self.output, self.say
        )
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
            rows = warehouse_rows(settings, family, clean[family])
            clean_archived = archived_clean(clean[family], rows, warehouse, marks)
            partitions = sorted(partition for topic, partition in marks if topic == raw[family])
            balances = [
                partition_balance(
                    settings.kafka.topic_prefix,
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
            self.checks.append(warehouse_check(family, clean[family], clean_scan, warehouse, marks, rows, self.row))
        for item in quarantined:
            if item.family in {f.value for f in scope.families}:
                self.row(item.family, item.day).counts[f"quarantine:{item.reason}"] += 1
        self.checks.append(warehouse_quarantine_check(settings, quarantine, quarantined, names.warehouse_consumer))
        doubles = self.doubles
        self.checks.append(Check("single_output", doubles == 0, f"{doubles} raw message(s) with more than one output"))
        self.checks.extend(mrr_bridge_checks(settings))
        self.rows = {key: row for key, row in self.rows.items() if scope.includes(row.day)}
