"""Reading whole topics compactly, for reconciliation: offsets, arrival days, a few headers.

Every message is reduced to a few integers per partition (offset, UTC day number of its Kafka
timestamp) plus what the check needs (replay marker, source coordinates, event id), so a
million-message topic fits in a few tens of MB. Reads are read_committed, from the low
watermark to the high watermark taken at the start (a moving topic does not stretch the scan).
"""

from __future__ import annotations

import json
import uuid
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Message

from orchestration import kafka_state
from platform_common.config import Settings
from platform_common.kafka import make_consumer
from platform_common.topic_ranges import read_ranges

DAY_MS = 86_400_000
BACKFILL_HEADER = "ledgerline-backfill"
SOURCE_HEADER = "ledgerline-source"
EVENT_ID_HEADER = "ledgerline-event-id"


@dataclass
class PartitionScan:
    offsets: array[int] = field(default_factory=lambda: array("q"))
    days: array[int] = field(default_factory=lambda: array("i"))
    replay: bytearray = field(default_factory=bytearray)
    source_offsets: array[int] = field(default_factory=lambda: array("q"))  # clean: raw offset, -1 unknown
    event_ids: list[str | None] = field(default_factory=list)


@dataclass
class QuarantineItem:
    family: str
    reason: str
    source_topic: str
    source_partition: int
    source_offset: int
    day: int
    event_id: str | None
    quarantine_id: str | None = None
    partition: int = -1  # where the record itself sits on the quarantine topic
    offset: int = -1


def header_value(headers: Any, name: str) -> bytes | None:
    for key, value in headers or ():
        if key == name:
            return value.encode() if isinstance(value, str) else value
    return None


def messages(settings: Settings, topic: str, marks: dict[tuple[str, int], tuple[int, int]]) -> Iterator[Message]:
    """Every committed message of `topic` between the watermarks taken before the scan."""
    todo = {partition: (low, high) for (name, partition), (low, high) in marks.items() if name == topic and high > low}
    if not todo:
        return
    consumer = make_consumer(f"ledgerline-reconcile-{uuid.uuid4().hex[:8]}", settings, **{"enable.partition.eof": True})
    try:
        yield from read_ranges(consumer, topic, todo)
    finally:
        consumer.close()


def scan_topic(
    settings: Settings,
    topic: str,
    marks: dict[tuple[str, int], tuple[int, int]],
    with_source: bool = False,
    progress: Callable[[int], None] | None = None,
) -> dict[int, PartitionScan]:
    scans: dict[int, PartitionScan] = {}
    for count, message in enumerate(messages(settings, topic, marks), start=1):
        partition = int(message.partition() or 0)
        scan = scans.get(partition)
        if scan is None:
            scan = scans[partition] = PartitionScan()
        headers = message.headers()
        scan.offsets.append(int(message.offset() or 0))
        scan.days.append(max(message.timestamp()[1], 0) // DAY_MS)
        scan.replay.append(1 if header_value(headers, BACKFILL_HEADER) is not None else 0)
        if with_source:
            source = header_value(headers, SOURCE_HEADER)
            scan.source_offsets.append(int(source.rsplit(b"/", 1)[1]) if source else -1)
            event_id = header_value(headers, EVENT_ID_HEADER)
            scan.event_ids.append(event_id.decode() if event_id else None)
        if progress is not None and count % 100_000 == 0:
            progress(count)
    return scans


def scan_quarantine(
    settings: Settings, topic: str, marks: dict[tuple[str, int], tuple[int, int]]
) -> list[QuarantineItem]:
    items = []
    for message in messages(settings, topic, marks):
        try:
            record: dict[str, Any] = json.loads(message.value() or b"{}")
            source = record.get("source") or {}
            items.append(
                QuarantineItem(
                    family=str(record.get("family")),
                    reason=str(record.get("reason")),
                    source_topic=str(source.get("topic")),
                    source_partition=int(source.get("partition", -1)),
                    source_offset=int(source.get("offset", -1)),
                    day=max(int(source.get("timestamp_ms") or message.timestamp()[1]), 0) // DAY_MS,
                    event_id=record.get("event_id"),
                    quarantine_id=record.get("quarantine_id"),
                    partition=int(message.partition() or 0),
                    offset=int(message.offset() or 0),
                )
            )
        except (ValueError, TypeError):
            day = max(message.timestamp()[1], 0) // DAY_MS
            items.append(
                QuarantineItem(
                    "unknown",
                    "unreadable_record",
                    "",
                    -1,
                    -1,
                    day,
                    None,
                    None,
                    message.partition() or 0,
                    message.offset() or 0,
                )
            )
    return items


def all_watermarks(settings: Settings, topics: Iterable[str]) -> dict[tuple[str, int], tuple[int, int]]:
    return kafka_state.watermarks(settings, topics)
