"""Backfills: re-send a range of raw events through the normal processing path.

Two sources, one destination (the family's raw topic, so the stream processor validates,
de-duplicates and routes them like any other event):

* `kafka`: read the raw topics with a fresh consumer group from the offsets a time range maps to
  (`offsets_for_times`) or from explicit offsets, and produce every message again.
* `lake`: read the archived records of the range from the lake (original key, value and
  headers, byte for byte) and produce them again — for history Kafka no longer retains.

Every re-published message keeps its key, value and headers and gains `ledgerline-backfill`
(the run id) and `ledgerline-backfill-source` (`topic/partition/offset` of the original).
Messages that are themselves backfill copies are skipped, so a backfill never re-sends replays.

Idempotent: the run id is a hash of the request, and the plan (offset range per source
partition) is frozen in `platform.backfill_checkpoint` the first time; asking for the same
backfill again resumes it, or finds it complete and sends nothing. `restart` sends it again, and
even then nothing changes downstream: the processor drops events whose event_id it already
accepted (same payload) and the warehouse merges by event_id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from confluent_kafka import KafkaError, Producer, TopicPartition

from orchestration import kafka_state
from platform_common.config import Settings
from platform_common.kafka import make_consumer, make_producer
from platform_common.topics import Family, raw_topic

BACKFILL_HEADER = "ledgerline-backfill"
SOURCE_HEADER = "ledgerline-backfill-source"
CHUNK = 5000
Source = Literal["kafka", "lake"]
Progress = Callable[[int], None]  # messages handled since the last call
Headers = list[tuple[str, str | bytes | None]]


@dataclass(frozen=True)
class OffsetRange:
    family: Family
    partition: int
    start: int
    end: int  # exclusive


@dataclass(frozen=True)
class BackfillRequest:
    families: tuple[Family, ...]
    source: Source = "kafka"
    start: datetime | None = None  # arrival (Kafka timestamp) range, [start, end)
    end: datetime | None = None
    offsets: tuple[OffsetRange, ...] = ()

    def __post_init__(self) -> None:
        if not self.families and not self.offsets:
            raise ValueError("name at least one family")
        for value in (self.start, self.end):
            if value is not None and value.tzinfo is None:
                raise ValueError("backfill times must be timezone-aware (UTC)")
        if self.start and self.end and self.start >= self.end:
            raise ValueError("the range start must be before its end")
        if self.offsets and (self.start or self.end):
            raise ValueError("give a time range or offsets, not both")

    @property
    def all_families(self) -> tuple[Family, ...]:
        return tuple(sorted({*self.families, *(item.family for item in self.offsets)}))

    def to_json(self) -> dict[str, Any]:
        return {
            "families": [family.value for family in self.all_families],
            "source": self.source,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "offsets": [[o.family.value, o.partition, o.start, o.end] for o in self.offsets],
        }

    def run_id(self, settings: Settings) -> str:
        identity = {**self.to_json(), "topic_prefix": settings.kafka.topic_prefix}
        return "bf-" + hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Checkpoint:
    topic: str
    partition: int
    start_offset: int
    end_offset: int
    next_offset: int
    published: int = 0
    skipped: int = 0

    @property
    def remaining(self) -> int:
        return max(0, self.end_offset - self.next_offset)


@dataclass
class BackfillReport:
    run_id: str
    source: Source
    already_complete: bool
    published: int = 0
    skipped: int = 0
    partitions: list[Checkpoint] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "source": self.source,
            "already_complete": self.already_complete,
            "published": self.published,
            "skipped": self.skipped,
            "partitions": [c.__dict__ for c in self.partitions],
        }


def family_of_topic(settings: Settings, topic: str) -> Family | None:
    for family in Family:
        if raw_topic(family, settings.kafka.topic_prefix) == topic:
            return family
    return None


def _ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.astimezone(UTC).timestamp() * 1000)


def plan_kafka(settings: Settings, request: BackfillRequest) -> list[Checkpoint]:
    """Frozen offset ranges per raw partition: explicit offsets, or the time range's offsets."""
    prefix = settings.kafka.topic_prefix
    if request.offsets:
        return [Checkpoint(raw_topic(o.family, prefix), o.partition, o.start, o.end, o.start) for o in request.offsets]
    topics = [raw_topic(family, prefix) for family in request.families]
    marks = kafka_state.watermarks(settings, topics)
    start_ms, end_ms = _ms(request.start), _ms(request.end)
    consumer = make_consumer(f"ledgerline-backfill-plan-{prefix}", settings)
    try:
        starts = _times(consumer, marks, start_ms)
        ends = _times(consumer, marks, end_ms)
    finally:
        consumer.close()
    plans = []
    for (topic, partition), (low, high) in sorted(marks.items()):
        begin = max(low, starts.get((topic, partition), low))
        finish = min(high, ends.get((topic, partition), high))
        plans.append(Checkpoint(topic, partition, begin, max(begin, finish), begin))
    return plans


def _times(
    consumer: Any, marks: dict[tuple[str, int], tuple[int, int]], at_ms: int | None
) -> dict[tuple[str, int], int]:
    """Earliest offset whose timestamp is >= at_ms (the high watermark when there is none)."""
    if at_ms is None:
        return {}
    query = [TopicPartition(topic, partition, at_ms) for topic, partition in marks]
    found = {}
    for tp in consumer.offsets_for_times(query, timeout=15):
        found[(tp.topic, tp.partition)] = tp.offset if tp.offset >= 0 else marks[(tp.topic, tp.partition)][1]
    return found


def as_header_list(headers: Any) -> Headers:
    """confluent-kafka headers (a list of pairs, or None) as a list we can extend."""
    if not headers:
        return []
    items = headers.items() if isinstance(headers, dict) else headers
    return [(str(name), value) for name, value in items]


def _is_replay(headers: Headers | None) -> bool:
    return any(name == BACKFILL_HEADER for name, _ in headers or ())


def _replay_headers(headers: Headers | None, run_id: str, topic: str, partition: int, offset: int) -> Headers:
    kept = [(name, value) for name, value in headers or () if name not in (BACKFILL_HEADER, SOURCE_HEADER)]
    return [*kept, (BACKFILL_HEADER, run_id.encode()), (SOURCE_HEADER, f"{topic}/{partition}/{offset}".encode())]


SourceMessage = tuple[int, bytes | None, bytes | None, Headers | None, int]  # offset, key, value, headers, ts_ms


def read_kafka(settings: Settings, run_id: str, checkpoint: Checkpoint) -> Iterator[SourceMessage]:
    """Messages of [next_offset, end_offset) of one partition, via a fresh consumer group."""
    if checkpoint.remaining == 0:
        return
    consumer = make_consumer(
        f"{settings.kafka.topic_prefix}ledgerline-backfill-{run_id}", settings, **{"enable.partition.eof": True}
    )
    try:
        consumer.assign([TopicPartition(checkpoint.topic, checkpoint.partition, checkpoint.next_offset)])
        while True:
            messages = consumer.consume(num_messages=2000, timeout=1.0)
            for message in messages:
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        return  # the range was trimmed by retention or is shorter than planned
                    raise RuntimeError(f"backfill read failed: {error}")
                offset = int(message.offset() or 0)
                if offset >= checkpoint.end_offset:
                    return
                yield offset, message.key(), message.value(), as_header_list(message.headers()), message.timestamp()[1]
    finally:
        consumer.close()


def republish(
    settings: Settings,
    run_id: str,
    checkpoint: Checkpoint,
    messages: Iterator[SourceMessage],
    target_topic: str,
    progress: Progress | None = None,
    dry_run: bool = False,
) -> Checkpoint:
    """Produce in acknowledged chunks; the checkpoint advances after each chunk."""
    producer: Producer | None = None if dry_run else make_producer(settings, **{"linger.ms": 20})
    failures: list[str] = []
    pending: list[SourceMessage] = []

    def flush_chunk(next_offset: int) -> None:
        published = skipped = 0
        for offset, key, value, headers, _ in pending:
            if _is_replay(headers):
                skipped += 1
                continue
            published += 1
            if producer is not None:
                replay = _replay_headers(headers, run_id, checkpoint.topic, checkpoint.partition, offset)
                _produce(producer, target_topic, checkpoint.partition, key, value, replay, failures)
        if producer is not None:
            producer.flush(60)
            if failures:
                raise RuntimeError(f"backfill: Kafka did not acknowledge {len(failures)} message(s): {failures[0]}")
        if not dry_run:
            from orchestration.backfill_store import advance

            advance(settings, run_id, checkpoint, next_offset, published, skipped)
        checkpoint.next_offset = max(checkpoint.next_offset, next_offset)
        checkpoint.published += published
        checkpoint.skipped += skipped
        if progress is not None:
            progress(len(pending))
        pending.clear()

    for message in messages:
        pending.append(message)
        if len(pending) >= CHUNK:
            flush_chunk(message[0] + 1)
    flush_chunk(checkpoint.end_offset)
    return checkpoint


def _produce(
    producer: Producer,
    topic: str,
    partition: int,
    key: bytes | None,
    value: bytes | None,
    headers: Headers,
    failures: list[str],
) -> None:
    def delivered(error: Any, _message: Any) -> None:
        if error is not None:
            failures.append(str(error))

    while True:
        try:
            producer.produce(topic, value, key, partition=partition, headers=headers, on_delivery=delivered)
            return
        except BufferError:
            producer.poll(0.1)
