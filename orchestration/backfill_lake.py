"""The lake side of a backfill: plan from object listings and manifests, read records back.

A lake object covers one source topic-partition from its start offset; records keep their
original offsets, so the checkpoint of a lake backfill counts in source offsets too, exactly
like a Kafka backfill. Objects are listed by their `hour=` partition (arrival time of their
first record), widened by an hour at the start because a record may sit in the object that
began in the previous hour; records are then filtered by their own Kafka timestamp.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

from orchestration.backfill import BackfillRequest, Checkpoint, Headers, SourceMessage
from platform_common.config import Settings
from platform_common.topics import Family

if TYPE_CHECKING:
    from sinks.lake import LakeObject, LakeReader

SKEW = timedelta(hours=1)


def _reader(settings: Settings) -> LakeReader:
    from sinks.lake import LakeReader

    return LakeReader(settings)


def _objects(reader: LakeReader, request: BackfillRequest, family: Family) -> list[LakeObject]:
    start = request.start - SKEW if request.start else None
    if request.start is not None and request.end is None:
        from datetime import UTC, datetime

        return reader.list_objects(family, start, datetime.now(UTC) + SKEW)
    return reader.list_objects(family, start, request.end)


def plan_lake(settings: Settings, request: BackfillRequest) -> tuple[list[Checkpoint], dict[str, Family]]:
    """Per source topic-partition: [first object's start offset, last object's end + 1)."""
    reader = _reader(settings)
    plans: list[Checkpoint] = []
    families: dict[str, Family] = {}
    wanted = {(item.family, item.partition): (item.start, item.end) for item in request.offsets}
    for family in request.all_families:
        by_partition: dict[tuple[str, int], list[LakeObject]] = defaultdict(list)
        for item in _objects(reader, request, family):
            by_partition[(item.topic, item.partition)].append(item)
        for (topic, partition), items in sorted(by_partition.items()):
            if request.offsets and (family, partition) not in wanted:
                continue
            items.sort(key=lambda obj: obj.start_offset)
            last = reader.read_manifest(items[-1].key)
            end = (last.end_offset if last else items[-1].start_offset) + 1
            start = items[0].start_offset
            if (family, partition) in wanted:
                low, high = wanted[(family, partition)]
                start, end = max(start, low), min(end, high)
            families[topic] = family
            plans.append(Checkpoint(topic, partition, start, max(start, end), start))
    return plans, families


def read_lake(
    settings: Settings, request: BackfillRequest, family: Family, checkpoint: Checkpoint
) -> Iterator[SourceMessage]:
    """Records of the checkpoint's partition from `next_offset` on, in offset order."""
    if checkpoint.remaining == 0:
        return
    reader = _reader(settings)
    items = [
        item
        for item in _objects(reader, request, family)
        if item.topic == checkpoint.topic and item.partition == checkpoint.partition
    ]
    items.sort(key=lambda obj: obj.start_offset)
    for item in items:
        if item.start_offset >= checkpoint.end_offset:
            break
        manifest = reader.read_manifest(item.key)
        if manifest is None:
            raise RuntimeError(f"lake object {item.key} has no manifest; run `ledgerline sink lake verify`")
        if manifest.end_offset < checkpoint.next_offset:
            continue
        for record in reader.read_object(item.key, expected_sha256=manifest.sha256):
            if record.offset < checkpoint.next_offset or record.offset >= checkpoint.end_offset:
                continue
            if request.start is not None and record.kafka_timestamp < request.start:
                continue
            if request.end is not None and record.kafka_timestamp >= request.end:
                continue
            headers: Headers = [(header.key, header.value) for header in record.headers]
            yield record.offset, record.key, record.value, headers, record.kafka_timestamp_ms
