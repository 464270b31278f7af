"""How far each partition is consumed, for `run --until-caught-up` and the lag gauge.

The stored offset is the next offset after the last *data* record merged. A topic written by a
transactional producer ends each transaction with a commit (or abort) marker: a control record
that takes an offset but is never delivered, so the high watermark sits past the last data
record for good, and `stored >= high` never holds. The consumer's position does count control
records (and aborted records): librdkafka moves it past them when a fetch returns nothing else.
So a partition is consumed through max(stored, position) when none of its messages is still
waiting in the open batch or the batch in flight (then everything before the position has
been committed or was never data); otherwise only through the stored offset.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from confluent_kafka import Consumer, TopicPartition

Key = tuple[str, int]


def partitions(probe: Consumer, topics: Iterable[str]) -> set[Key]:
    """Every partition of the topics that exist (metadata from the probe client)."""
    metadata = probe.list_topics(timeout=5).topics
    return {
        (topic, partition)
        for topic in topics
        if topic in metadata and metadata[topic].error is None
        for partition in metadata[topic].partitions
    }


def watermarks(probe: Consumer, keys: Iterable[Key]) -> dict[Key, tuple[int, int]]:
    """(low, high) per partition, asked through `probe`: a never-subscribed client answers in about a
    millisecond, while watermark queries on the group consumer queue behind its fetches."""
    marks = {}
    for topic, partition in sorted(keys):
        marks[(topic, partition)] = probe.get_watermark_offsets(TopicPartition(topic, partition), timeout=5)
    return marks


def positions(consumer: Consumer, keys: Iterable[Key]) -> dict[Key, int]:
    """The consumer's next offset to deliver per partition (local state, no broker round trip);
    partitions it has not fetched from yet are left out."""
    wanted = [TopicPartition(topic, partition) for topic, partition in sorted(keys)]
    if not wanted:
        return {}
    return {(tp.topic, tp.partition): tp.offset for tp in consumer.position(wanted) if tp.offset >= 0}


def consumed_through(committed: Mapping[Key, int], position: Mapping[Key, int], busy: Collection[Key], key: Key) -> int:
    """Offset up to which a partition needs nothing more from this sink (see the module doc)."""
    stored = committed.get(key, 0)
    if key in busy:
        return stored
    return max(stored, position.get(key, 0))


def lag(
    watermarks: Mapping[Key, tuple[int, int]],
    committed: Mapping[Key, int],
    position: Mapping[Key, int],
    busy: Collection[Key],
) -> dict[Key, int]:
    """Records (data or not) between what is consumed and the high watermark, per partition."""
    return {
        key: max(high - max(consumed_through(committed, position, busy, key), low), 0)
        for key, (low, high) in watermarks.items()
    }
