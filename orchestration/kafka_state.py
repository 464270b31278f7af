"""Where the pipeline stands in Kafka: high watermarks, committed offsets, and real lag.

Clean topics and the quarantine are written in transactions (the stream processor runs
exactly-once), so their high watermark counts commit markers too: a consumer that read every
message still trails the high watermark by one. `remaining_messages` therefore asks the broker
(read_committed, from the consumer's position) whether a real message is left, instead of
trusting `high - committed`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, TopicPartition

from platform_common.config import Settings
from platform_common.kafka import make_consumer

TP = tuple[str, int]


def _probe_consumer(settings: Settings, **overrides: object) -> Consumer:
    return make_consumer(f"ledgerline-orchestration-probe-{uuid.uuid4().hex[:8]}", settings, **overrides)


def partitions(settings: Settings, topics: Iterable[str], consumer: Consumer | None = None) -> list[TP]:
    own = consumer is None
    client = consumer or _probe_consumer(settings)
    try:
        metadata = client.list_topics(timeout=10)
        found: list[TP] = []
        for topic in topics:
            meta = metadata.topics.get(topic)
            if meta is None or meta.error is not None:
                raise RuntimeError(f"topic {topic} does not exist (run `ledgerline setup`)")
            found.extend((topic, partition) for partition in sorted(meta.partitions))
        return found
    finally:
        if own:
            client.close()


def watermarks(settings: Settings, topics: Iterable[str]) -> dict[TP, tuple[int, int]]:
    """(low, high) of every partition of `topics`."""
    consumer = _probe_consumer(settings)
    try:
        marks = {}
        for topic, partition in partitions(settings, topics, consumer):
            marks[(topic, partition)] = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        return marks
    finally:
        consumer.close()


def committed(settings: Settings, group: str, tps: Iterable[TP]) -> dict[TP, int | None]:
    """The group's committed offsets (None: nothing committed) without joining the group."""
    consumer = make_consumer(group, settings)
    try:
        result = consumer.committed([TopicPartition(topic, partition) for topic, partition in tps], timeout=10)
        return {
            (tp.topic, tp.partition): (None if tp.offset == OFFSET_INVALID or tp.offset < 0 else tp.offset)
            for tp in result
        }
    finally:
        consumer.close()


def remaining_messages(settings: Settings, positions: Mapping[TP, int], timeout_s: float = 5.0) -> dict[TP, bool]:
    """For each partition: is there a committed message at or after `position`?"""
    if not positions:
        return {}
    consumer = _probe_consumer(settings, **{"enable.partition.eof": True})
    answer: dict[TP, bool] = {}
    try:
        consumer.assign([TopicPartition(topic, partition, offset) for (topic, partition), offset in positions.items()])
        deadline = time.monotonic() + timeout_s
        while len(answer) < len(positions) and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=500, timeout=0.2):
                key = (str(message.topic()), int(message.partition() or 0))
                if key in answer:
                    continue
                error = message.error()
                if error is None:
                    answer[key] = True
                elif error.code() == KafkaError._PARTITION_EOF:
                    answer[key] = False
        for key in positions:
            answer.setdefault(key, True)  # no answer in time: assume work is left
        return answer
    finally:
        consumer.close()


def lag(settings: Settings, positions: Mapping[TP, int | None], marks: Mapping[TP, tuple[int, int]]) -> dict[TP, int]:
    """Messages left per partition: `high - position`, or 0 where only commit markers remain."""
    raw: dict[TP, int] = {}
    for key, (low, high) in marks.items():
        position = positions.get(key)
        raw[key] = max(0, high - max(low, position if position is not None else low))
    suspicious = {key: max(marks[key][0], positions.get(key) or 0) for key, value in raw.items() if value > 0}
    for key, left in remaining_messages(settings, suspicious).items():
        if not left:
            raw[key] = 0
    return raw
