"""Read fixed offset ranges of a topic to their ends, for the readers that scan a topic whole
(reconcile's scans, the stream processor's count records) rather than consume it."""

from __future__ import annotations

from collections.abc import Iterator

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition


def read_ranges(consumer: Consumer, topic: str, ranges: dict[int, tuple[int, int]]) -> Iterator[Message]:
    """Every message of `topic` in `ranges` (partition -> [low, high)), partitions interleaved.

    `consumer` must have `enable.partition.eof` on: a partition is done at its EOF event or its
    first offset at or past `high` (records written since the watermarks were taken)."""
    ranges = {partition: (low, high) for partition, (low, high) in ranges.items() if high > low}
    if not ranges:
        return
    consumer.assign([TopicPartition(topic, partition, low) for partition, (low, _) in ranges.items()])
    open_partitions = set(ranges)
    while open_partitions:
        # consume() waits out its timeout unless 10000 messages come first: keep it short, a
        # partition's end arrives as an EOF event anyway.
        for message in consumer.consume(num_messages=10_000, timeout=0.1):
            partition = int(message.partition() or 0)
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    open_partitions.discard(partition)
                    continue
                raise RuntimeError(f"reading {topic}: {error}")
            if int(message.offset() or 0) >= ranges[partition][1]:
                open_partitions.discard(partition)
                continue
            yield message
