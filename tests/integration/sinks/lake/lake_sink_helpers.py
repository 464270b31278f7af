"""Helpers shared by the lake sink integration tests (a module, not a conftest, so its name is unique)."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from confluent_kafka import Message, Producer, TopicPartition

from platform_common.config import Settings
from platform_common.kafka import make_admin, make_consumer, make_producer
from platform_common.topics import Family, quarantine_topic, raw_topic
from schemas import serializer
from sinks.lake import LakeSink, LakeSinkSettings
from sinks.lake.synthetic import synthetic_event

GARBAGE = b"\x00\xffnot avro at all\xc3"
Headers = list[tuple[str, bytes | None]]
Outgoing = tuple[str, bytes | None, bytes | None, Headers]
"""(topic, key, value, headers) of a message to produce."""


@dataclass(frozen=True)
class Sent:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    timestamp_ms: int


def produce(
    settings: Settings,
    messages: Iterable[Outgoing],
    producer: Producer | None = None,
) -> list[Sent]:
    """Produce (topic, key, value, headers) and return where each landed."""
    producer = producer or make_producer(settings, **{"linger.ms": 20})
    sent: list[Sent] = []
    errors: list[object] = []

    def delivered(headers: tuple[tuple[str, bytes | None], ...], error: object, message: Message) -> None:
        """Delivery reports do not carry headers, so the ones sent are bound in."""
        if error is not None:
            errors.append(error)
            return
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        assert topic is not None
        assert partition is not None
        assert offset is not None
        key, value = message.key(), message.value()
        assert not isinstance(key, str)
        assert not isinstance(value, str)
        sent.append(Sent(topic, partition, offset, key, value, headers, message.timestamp()[1]))

    for count, (topic, key, value, headers) in enumerate(messages, start=1):
        kafka_headers: list[tuple[str, str | bytes | None]] = [(name, data) for name, data in headers]
        while True:
            try:
                producer.produce(
                    topic,
                    value=value,
                    key=key,
                    headers=kafka_headers or None,
                    on_delivery=functools.partial(delivered, tuple(headers)),
                )
                break
            except BufferError:
                producer.poll(0.1)
        if count % 1000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0
    assert not errors, errors
    return sent


def event_messages(settings: Settings, count: int, start: int = 0) -> list[Outgoing]:
    """`count` valid events spread over the four raw topics, keyed like producers key them."""
    codec = serializer()
    families = list(Family)
    messages: list[Outgoing] = []
    for index in range(start, start + count):
        family = families[index % len(families)]
        _event_id, value = synthetic_event(family, index, codec)
        messages.append((raw_topic(family, settings.kafka.topic_prefix), f"customer-{index % 97}".encode(), value, []))
    return messages


def quarantine_message(settings: Settings, value: bytes | None, family: str = "payment") -> Outgoing:
    return (
        quarantine_topic(settings.kafka.topic_prefix),
        None,
        value,
        [("family", family.encode()), ("reason", b"bad")],
    )


def high_watermarks(settings: Settings) -> dict[tuple[str, int], int]:
    """End offset of every partition of the prefix's raw and quarantine topics."""
    prefix = settings.kafka.topic_prefix
    topics = [raw_topic(family, prefix) for family in Family] + [quarantine_topic(prefix)]
    metadata = make_admin(settings).list_topics(timeout=10).topics
    consumer = make_consumer("lake-test-watermarks", settings)
    try:
        marks = {}
        for topic in topics:
            for partition in metadata[topic].partitions:
                _low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                marks[(topic, partition)] = high
        return marks
    finally:
        consumer.close()


def committed(settings: Settings, group: str, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
    consumer = make_consumer(group, settings)
    try:
        found = consumer.committed([TopicPartition(topic, partition) for topic, partition in partitions], timeout=10)
        return {(item.topic, item.partition): item.offset for item in found}
    finally:
        consumer.close()


def caught_up(settings: Settings, group: str) -> bool:
    marks = high_watermarks(settings)
    offsets = committed(settings, group, marks)
    return all(high == 0 or offsets.get(tp, -1) >= high for tp, high in marks.items())


class SinkThread:
    """The sink in-process, for tests that need to watch or break it from the inside."""

    def __init__(self, settings: Settings, lake: LakeSinkSettings) -> None:
        self.sink = LakeSink(settings, lake)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.sink.run()
        except BaseException as error:  # noqa: BLE001 - surfaced by stop()
            self.error = error

    def __enter__(self) -> SinkThread:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self, timeout: float = 60) -> None:
        self.sink.stop()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "lake sink did not stop"

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error


def wait_for(condition: Callable[[], object], timeout: float, interval: float = 0.25, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
