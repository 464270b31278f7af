"""Reconcile's measurements outside the topic scans: lake manifests, the processor's commits,
quarantine records retention deleted, and the warehouse's rows.

Each store is read once per run and reduced to what the checks compare, so the arithmetic in
`orchestration.reconcile_balance` stays pure. Where a reading feeds the outputs of raw messages
(quarantine sources recovered from the lake or the warehouse), it goes through the caller's
`record` callback, so a raw message with two different outputs is counted as a double wherever
its outputs were found.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from psycopg import sql

from orchestration import drain, kafka_state
from orchestration.reconcile_balance import TP, Archived, Check, DayRow, Marks, lake_count_below, quarantine_source
from orchestration.scan import PartitionScan, QuarantineItem
from platform_common.config import Settings
from platform_common.postgres import Role, connect, read_sql
from platform_common.topics import Family, raw_topic

if TYPE_CHECKING:
    from sinks.lake.manifest import Manifest

SQL = Path(__file__).parent / "sql"
EVENT_TABLES = {
    Family.SUBSCRIPTION: "subscription_event",
    Family.PAYMENT: "payment_event",
    Family.USAGE: "usage_event",
    Family.OPERATIONAL_COST: "cost_event",
}
Record = Callable[[dict[int, str], int, str], None]  # (kinds of one raw partition, raw offset, kind)


# -- lake ---------------------------------------------------------------------------------------
def lake_manifests(settings: Settings, family: Family) -> tuple[dict[TP, list[tuple[int, int, int, int]]], list[Check]]:
    """Per raw topic-partition: (start, first, end, record count) of every manifest; and the
    lake's own integrity check."""
    from sinks.lake import LakeReader, verify

    reader = LakeReader(settings)
    manifests: dict[TP, list[tuple[int, int, int, int]]] = defaultdict(list)
    for item in reader.list_objects(family):
        manifest = reader.read_manifest(item.key)
        if manifest is not None:
            manifests[(item.topic, item.partition)].append(
                (manifest.start_offset, manifest.first_offset, manifest.end_offset, manifest.record_count)
            )
    for spans in manifests.values():
        spans.sort()
    report = verify(family.value, settings=settings, checksums=False, reader=reader)
    problems = [f"{p.kind} {p.key}: {p.detail}" for p in report.problems]
    detail = "; ".join(problems[:5]) or f"{report.objects} objects"
    check = Check(f"lake_objects:{family.value}", not problems, detail)
    return manifests, [check]


# -- the processor's durable counts -------------------------------------------------------------
def unsettled(settings: Settings, group: str, targets: dict[TP, int], settle_timeout_s: float) -> set[TP]:
    """Raw partitions whose committed offset stays below the counted position: wait for the
    processor to commit (it flushes its outputs first) for up to `settle_timeout_s`."""
    deadline = time.monotonic() + settle_timeout_s
    while True:
        committed = kafka_state.committed(settings, group, list(targets))
        behind = {key for key, position in targets.items() if (committed.get(key) or 0) < position}
        if not behind or time.monotonic() >= deadline:
            return behind
        time.sleep(1.0)


# -- outputs retention deleted ------------------------------------------------------------------
def archived_quarantine(
    settings: Settings,
    topic: str,
    marks: Marks,
    consumer: str,
    outputs: dict[TP, dict[int, str]],
    record: Record,
    say: Callable[[str], None],
) -> Archived:
    """Add the sources of quarantine records retention deleted to `outputs`: from the lake's
    archive of the quarantine topic (every record, byte for byte), else from
    warehouse.quarantine_event where the warehouse sink had loaded past the deleted offsets."""
    result = Archived()
    lows = {partition: low for (name, partition), (low, _) in marks.items() if name == topic and low > 0}
    if not lows:
        return result
    say("reading quarantine records retention deleted from the lake")
    _lake_quarantine(settings, topic, lows, outputs, result, record)
    if not result.missing:
        return result
    loaded = drain.warehouse_positions(settings, consumer, [topic])
    complete = sorted(p for p in result.missing if loaded.get((topic, p), 0) >= lows[p])
    for partition in sorted(result.missing.keys() - set(complete)):
        position = loaded.get((topic, partition))
        loads = "does not load the quarantine topic" if not loaded else f"loaded it up to offset {position or 0}"
        result.missing[partition] += f"; the warehouse sink {loads}"
    if complete:
        say("reading the sources of the rest from warehouse.quarantine_event")
        with connect(Role.WRITER, settings) as conn:
            topics = [raw_topic(family, settings.kafka.topic_prefix) for family in Family]
            query = read_sql(SQL / "reconcile_quarantine_sources.sql")
            rows = conn.execute(query, {"topics": topics, "partitions": complete}).fetchall()
        for source_topic, source_partition, source_offset in rows:
            record(outputs[(str(source_topic), int(source_partition))], int(source_offset), "quarantined")
        for partition in complete:
            del result.missing[partition]
            result.sources[partition] = "warehouse.quarantine_event (raw source of each record)"
    return result


def _lake_quarantine(
    settings: Settings,
    topic: str,
    lows: dict[int, int],
    outputs: dict[TP, dict[int, str]],
    result: Archived,
    record: Record,
) -> None:
    from sinks.lake import LakeReader
    from sinks.lake.envelope import QUARANTINE_FAMILY

    reader = LakeReader(settings)
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
            record(outputs[(source_topic, source_partition)], source_offset, "quarantined")
        result.sources[partition] = "the lake's archive of the quarantine topic"


# -- warehouse ----------------------------------------------------------------------------------
def warehouse_rows(settings: Settings, family: Family, topic: str) -> list[tuple[str, int, int]]:
    """(event_id, partition, offset) of the clean message each warehouse row was first loaded from."""
    query = sql.SQL(read_sql(SQL / "warehouse_event_positions.sql")).format(
        table=sql.Identifier("warehouse", EVENT_TABLES[family])
    )
    with connect(Role.WRITER, settings) as conn:
        rows = conn.execute(query, {"topic": topic}).fetchall()
    return [(str(event_id), int(partition), int(offset)) for event_id, partition, offset in rows]


def warehouse_check(
    family: Family,
    topic: str,
    scans: dict[int, PartitionScan],
    positions: dict[TP, int],
    marks: Marks,
    rows: list[tuple[str, int, int]],
    row: Callable[[str, int], DayRow],
) -> Check:
    """`warehouse_rows:<family>`: every distinct event below the warehouse sink's stored offset
    has its row and no row names a clean message that does not exist; counted into the day
    table through `row` (family, arrival day number)."""
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
            row(family.value, expected[event_id]).counts["warehouse"] += 1
        else:
            orphans.append(event_id)
    missing = [event_id for event_id in expected if event_id not in found]
    for event_id in missing:
        row(family.value, expected[event_id]).counts["warehouse_missing"] += 1
    return Check(
        f"warehouse_rows:{family.value}",
        not missing and not orphans,
        f"{len(expected):,} expected, {len(missing)} missing, {len(orphans)} without a clean message",
        {"missing_examples": missing[:10], "orphan_examples": orphans[:10]},
    )


def warehouse_quarantine_check(settings: Settings, topic: str, items: list[QuarantineItem], consumer: str) -> Check:
    """`warehouse_quarantine`: every quarantine record below the warehouse sink's stored offset
    is in warehouse.quarantine_event (the data-quality counts the query API serves)."""
    stored = drain.warehouse_positions(settings, consumer, [topic])
    if not stored:
        return Check("warehouse_quarantine", True, "skipped: the warehouse sink does not load the quarantine topic")
    expected = {
        item.quarantine_id
        for item in items
        if item.quarantine_id and item.offset < stored.get((topic, item.partition), 0)
    }
    with connect(Role.WRITER, settings) as conn:
        rows = conn.execute(read_sql(SQL / "warehouse_quarantine_ids.sql"), {"ids": sorted(expected)}).fetchall()
    missing = sorted(expected - {str(row[0]) for row in rows})
    detail = f"{len(expected):,} expected, {len(missing)} missing"
    return Check("warehouse_quarantine", not missing, detail, {"missing_examples": missing[:10]})
