"""`EventProducer`, the helper for services producing Avro straight to Kafka."""

from __future__ import annotations

import pytest

import schemas
from platform_common.config import Settings
from platform_common.topics import Family, raw_topic
from producers import EventProducer, ProduceError
from tests.integration.producers.conftest import consume, free_port, payment_event

pytestmark = pytest.mark.integration


def test_sends_valid_events_with_key_and_trace_header_and_refuses_invalid_ones(isolated_topics: Settings) -> None:
    events = [payment_event(), payment_event()]
    with EventProducer(isolated_topics) as producer:
        sent = [producer.send(Family.PAYMENT, event, trace_id="t-1") for event in events]
        with pytest.raises(schemas.ContractViolation):
            producer.send("payment", payment_event(amount_minor=1.5))
    assert sent == [event["event_id"] for event in events]
    assert producer.acknowledged == 2
    consumed = consume(isolated_topics, raw_topic(Family.PAYMENT, isolated_topics.kafka.topic_prefix))
    assert sorted(schemas.to_json(m.record)["event_id"] for m in consumed) == sorted(sent)
    for message in consumed:
        assert message.headers["trace_id"] == b"t-1"
        assert message.record["metadata"]["received_at"] is None  # only ingestion stamps arrival
        assert message.key == message.record["customer_id"].encode()


def test_flush_raises_when_the_broker_never_acknowledges(isolated_topics: Settings) -> None:
    kafka = isolated_topics.kafka.model_copy(update={"bootstrap_servers": f"127.0.0.1:{free_port()}"})
    producer = EventProducer(
        isolated_topics.model_copy(update={"kafka": kafka}), producer_config={"message.timeout.ms": 500}
    )
    producer.send(Family.PAYMENT, payment_event())
    with pytest.raises(ProduceError) as raised:
        producer.flush(timeout_s=5)
    assert raised.value.failures
    assert producer.acknowledged == 0
