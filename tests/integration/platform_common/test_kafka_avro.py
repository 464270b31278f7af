from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from platform_common.config import Settings
from platform_common.kafka import make_consumer, make_producer
from platform_common.topics import raw_topic
from schemas import partition_key, serializer, validate_event

pytestmark = pytest.mark.integration


def _subscription_event() -> dict[str, object]:
    return {
        "event_id": f"evt-{uuid.uuid4()}",
        "event_type": "created",
        "event_time": datetime(2026, 3, 1, 12, 30, tzinfo=UTC).isoformat(),
        "source": "test",
        "schema_version": 1,
        "metadata": {"producer": "test-suite"},
        "subscription_id": "sub-1",
        "customer_id": "cus-1",
        "plan_id": "growth-annual",
        "billing_interval": "year",
        "billing_interval_count": 1,
        "quantity": 3,
        "unit_price_minor": 119_900,
        "currency": "EUR",
        "region_id": "emea",
    }


def test_avro_event_round_trips_through_kafka(isolated_topics: Settings) -> None:
    record = validate_event("subscription", _subscription_event())
    topic = raw_topic("subscription", isolated_topics.kafka.topic_prefix)
    producer = make_producer(isolated_topics)
    acknowledged: list[object] = []
    producer.produce(
        topic,
        value=serializer().encode("subscription", record),
        key=partition_key("subscription", record),
        on_delivery=lambda error, message: acknowledged.append(error or message),
    )
    assert producer.flush(30) == 0
    assert len(acknowledged) == 1
    assert not isinstance(acknowledged[0], Exception)

    consumer = make_consumer(f"test-{uuid.uuid4().hex[:8]}", isolated_topics)
    consumer.subscribe([topic])
    try:
        message = None
        for _ in range(60):
            message = consumer.poll(1.0)
            if message is not None and not message.error():
                break
    finally:
        consumer.close()
    assert message is not None
    assert message.error() is None
    assert message.key() == b"cus-1"
    value = message.value()
    assert value is not None
    decoded = serializer().decode(value)
    assert decoded.subject == "subscription"
    assert decoded.record["event_id"] == record["event_id"]
    assert decoded.record["unit_price_minor"] == 119_900
    assert isinstance(decoded.record["unit_price_minor"], int)
    assert decoded.record["event_time"] == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
