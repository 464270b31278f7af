"""The stream processor's durable counts, read from the topic it publishes them on.

The stream processor keeps, per family and raw partition, how many raw messages it counted and
what became of them, and writes every change to its compacted `state` changelog topic
(`<topic prefix><stream app id>-state-changelog`, Faust's `<app id>-<table>-changelog`). That
topic is the processor's published record; this module reads it without importing the
processor (stages share topics, not code). Record format (see `stream_processors/state.py`):

* key `n|<family>|<partition>`, value JSON `{"raw", "clean", "late", "duplicate", "parked",
  "quarantined": {reason: n}, "next_offset"}`: totals since this processor (app id) began, over
  the raw offsets below `next_offset` of that partition. They are never reset and carry no
  time axis. As in the processor's own restore, the record with the highest `next_offset`
  wins, so a re-ordered older record never rolls a count back;
* key `p|<raw topic>:<partition>:<offset>`: a message parked right now (null value: released).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import TopicPartition

from platform_common.config import Settings
from platform_common.kafka import make_consumer
from platform_common.topic_ranges import read_ranges


@dataclass(frozen=True)
class DurableCounts:
    family: str
    partition: int
    raw: int
    clean: int
    duplicate: int
    parked: int
    quarantined: int
    next_offset: int

    @classmethod
    def parse(cls, key: bytes, value: bytes) -> DurableCounts:
        family, partition = key.decode()[2:].rsplit("|", 1)
        data: dict[str, Any] = json.loads(value)
        return cls(
            family=family,
            partition=int(partition),
            raw=int(data["raw"]),
            clean=int(data["clean"]),
            duplicate=int(data["duplicate"]),
            parked=int(data["parked"]),
            quarantined=sum(int(n) for n in (data.get("quarantined") or {}).values()),
            next_offset=int(data["next_offset"]),
        )


@dataclass
class ProcessorCounts:
    topic: str
    exists: bool
    counts: dict[tuple[str, int], DurableCounts] = field(default_factory=dict)  # (family, partition)
    parked: set[tuple[str, int, int]] = field(default_factory=set)  # (raw topic, partition, offset)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        if key.startswith(b"n|"):
            if value is None:
                return
            counts = DurableCounts.parse(key, value)
            slot = (counts.family, counts.partition)
            current = self.counts.get(slot)
            if current is None or counts.next_offset >= current.next_offset:
                self.counts[slot] = counts
        elif key.startswith(b"p|"):
            topic, partition, offset = key.decode()[2:].rsplit(":", 2)
            coordinates = (topic, int(partition), int(offset))
            if value is None:
                self.parked.discard(coordinates)
            else:
                self.parked.add(coordinates)


def state_changelog_topic(settings: Settings) -> str:
    return f"{settings.kafka.topic_prefix}{settings.stream.app_id}-state-changelog"


def read_processor_counts(settings: Settings, timeout_s: float = 10.0) -> ProcessorCounts:
    """Every count and parked record up to the changelog's high watermarks (read_committed)."""
    topic = state_changelog_topic(settings)
    consumer = make_consumer(
        f"ledgerline-counts-reader-{uuid.uuid4().hex[:8]}", settings, **{"enable.partition.eof": True}
    )
    try:
        meta = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if meta is None or meta.error is not None:
            return ProcessorCounts(topic, exists=False)
        result = ProcessorCounts(topic, exists=True)
        todo: dict[int, tuple[int, int]] = {}
        for partition in meta.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout_s)
            if high > low:
                todo[partition] = (low, high)
        for message in read_ranges(consumer, topic, todo):
            result.apply(message.key(), message.value())
        return result
    finally:
        consumer.close()
