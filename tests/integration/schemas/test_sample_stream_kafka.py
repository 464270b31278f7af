"""A generated stream through real Kafka: keys keep each customer in order, bytes round-trip."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

import pytest

from platform_common.config import Settings
from platform_common.kafka import make_consumer, make_producer
from platform_common.topics import Family, raw_topic
from producers.sample_data import GenerationParams, generate
from schemas import ContractViolation, catalog, partition_key, serializer, to_json, validate_event

pytestmark = pytest.mark.integration

PARAMS = GenerationParams(customers=25, months=3, seed=21, bad_record_share=0.05, late_share=0.05)


def _consume(settings: Settings, topics: list[str], expected: int) -> list[Any]:
    consumer = make_consumer(f"test-schemas-{uuid.uuid4().hex[:8]}", settings)
    consumer.subscribe(topics)
    messages: list[Any] = []
    try:
        for _ in range(120):
            for message in consumer.consume(num_messages=5000, timeout=1.0):
                assert message.error() is None, message.error()
                messages.append(message)
            if len(messages) >= expected:
                break
    finally:
        consumer.close()
    return messages


def test_generated_stream_round_trips_through_kafka_in_per_customer_order(isolated_topics: Settings) -> None:
    prefix = isolated_topics.kafka.topic_prefix
    codec = serializer()
    producer = make_producer(isolated_topics)
    sent: dict[tuple[str, bytes], list[dict[str, Any]]] = defaultdict(list)
    failures: list[Any] = []

    def on_delivery(error: Any, _message: Any) -> None:
        if error is not None:
            failures.append(error)

    count = 0
    for family, event in generate(PARAMS).events():
        try:
            record = validate_event(family, event)  # what the gateway lets through
        except ContractViolation:
            continue
        topic, key = raw_topic(family, prefix), partition_key(family, record)
        producer.produce(
            topic,
            value=codec.encode(family.value, record),
            key=key,
            on_delivery=on_delivery,
        )
        producer.poll(0)
        sent[(topic, key)].append(event)
        count += 1
    # An event from a v1 producer, still on the wire, must arrive upgraded to the latest shape.
    usage_topic = raw_topic(Family.USAGE, prefix)
    usage_event = next(events for (topic, _), events in sent.items() if topic == usage_topic)[0]
    v1_body = {
        name: value for name, value in validate_event(Family.USAGE, usage_event).items() if name != "is_billable"
    }
    v1_body["schema_version"] = 1
    producer.produce(usage_topic, value=codec.encode_with(catalog().version("usage", 1), v1_body), key=b"v1-producer")
    assert producer.flush(60) == 0
    assert failures == []

    topics = [raw_topic(family, prefix) for family in Family]
    messages = _consume(isolated_topics, topics, count + 1)
    assert len(messages) == count + 1

    received: dict[tuple[str, bytes], list[dict[str, Any]]] = defaultdict(list)
    partition_of_customer: dict[bytes, set[int]] = defaultdict(set)
    for message in sorted(messages, key=lambda item: (item.topic(), item.partition(), item.offset())):
        decoded = codec.decode(message.value())
        if message.key() == b"v1-producer":
            assert decoded.writer_version == 1
            assert decoded.record["is_billable"] is True
            continue
        assert decoded.writer_version == catalog().latest(decoded.subject).version
        received[(message.topic(), message.key())].append(to_json(decoded.record))
        if not message.topic().endswith("operational_cost.raw"):
            partition_of_customer[message.key()].add(message.partition())
    assert received == sent  # same events, same bytes after decoding, same order per key
    assert all(len(partitions) == 1 for partitions in partition_of_customer.values())
