"""Clean topics written by a transactional producer (the stream processor with exactly_once):
every transaction ends in a commit or abort marker that takes an offset but is never delivered,
so the high watermark stays past the last data record. `run --until-caught-up` must still
return, aborted records must not land, and the lag gauge must read 0 once caught up."""

from __future__ import annotations

import threading
import uuid

import pytest
from confluent_kafka import TopicPartition
from prometheus_client import REGISTRY
from warehouse_scenario_events import scenario
from warehouse_sink_helpers import query, run_cli, sink_settings

from platform_common.config import Settings
from platform_common.kafka import make_consumer, make_producer
from platform_common.topics import Family, clean_topic
from schemas import partition_key, serializer, validate_event
from sinks.warehouse import WarehouseSink

pytestmark = pytest.mark.integration


def _publish_transactionally(settings: Settings) -> tuple[set[str], set[str]]:
    """The scenario in two committed transactions, then one more event in an aborted one.
    Returns (committed event ids, aborted event ids)."""
    producer = make_producer(settings, **{"transactional.id": f"wh-test-{uuid.uuid4().hex[:8]}"})
    producer.init_transactions(30)
    codec = serializer()
    events = scenario()
    halves = [events[: len(events) // 2], events[len(events) // 2 :]]
    committed: set[str] = set()
    for part in halves:
        producer.begin_transaction()
        for family_name, payload in part:
            family = Family(family_name)
            record = validate_event(family, dict(payload))
            producer.produce(
                clean_topic(family, settings.kafka.topic_prefix),
                value=codec.encode(family.value, record),
                key=partition_key(family, record),
            )
            committed.add(record["event_id"])
        producer.commit_transaction(30)
    producer.begin_transaction()
    family_name, payload = events[0]
    family = Family(family_name)
    aborted = validate_event(family, {**payload, "event_id": "aborted-event-1"})
    producer.produce(
        clean_topic(family, settings.kafka.topic_prefix),
        value=codec.encode(family.value, aborted),
        key=partition_key(family, aborted),
    )
    producer.flush(30)
    producer.abort_transaction(30)
    return committed, {"aborted-event-1"}


def _event_ids(settings: Settings) -> set[str]:
    rows = query(
        settings,
        "SELECT event_id FROM warehouse.subscription_event UNION ALL SELECT event_id FROM warehouse.payment_event"
        " UNION ALL SELECT event_id FROM warehouse.usage_event UNION ALL SELECT event_id FROM warehouse.cost_event",
    )
    return {row[0] for row in rows}


def _stored_and_high(settings: Settings) -> list[tuple[str, int, int, int]]:
    """(topic, partition, stored next offset, high watermark) of every clean partition with data."""
    stored = {
        (topic, partition): offset
        for topic, partition, offset in query(
            settings, "SELECT topic, partition, next_offset FROM platform.consumer_offset"
        )
    }
    consumer = make_consumer(f"wh-test-probe-{uuid.uuid4().hex[:8]}", settings)
    try:
        metadata = consumer.list_topics(timeout=10)
        result = []
        for family in Family:
            topic = clean_topic(family, settings.kafka.topic_prefix)
            for partition in metadata.topics[topic].partitions:
                _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                if high:
                    result.append((topic, partition, stored.get((topic, partition), 0), high))
        return result
    finally:
        consumer.close()


def test_until_caught_up_returns_and_lag_is_zero_on_transactional_topics(
    fresh_database: Settings, isolated_topics: Settings
) -> None:
    settings = fresh_database.model_copy(update={"kafka": isolated_topics.kafka})
    committed, aborted = _publish_transactionally(settings)

    # The CLI: before the fix this never returned (stored offset = high - 1 forever).
    result = run_cli(settings, "run", "--until-caught-up", "--metrics-port", "0", timeout=90)
    assert result.returncode == 0, result.stderr[-3000:]
    assert _event_ids(settings) == committed
    assert not aborted & _event_ids(settings)

    # The markers are really there: every partition with data ends past the stored offset.
    partitions = _stored_and_high(settings)
    assert partitions
    assert all(high > stored for _, _, stored, high in partitions), partitions

    # In-process again (nothing new to read): it returns and the lag gauge says 0 everywhere.
    sink = WarehouseSink(settings, sink_settings(lag_refresh_seconds=0.05))
    finished = threading.Event()

    def run() -> None:
        sink.run(until_caught_up=True)
        finished.set()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(60)
    if not finished.is_set():
        sink.stop()
        worker.join(30)
    assert finished.is_set(), "run(until_caught_up=True) did not return within 60 s"
    for topic, partition, _, _ in partitions:
        lag = REGISTRY.get_sample_value(
            "ledgerline_warehouse_consumer_lag", {"topic": topic, "partition": str(partition)}
        )
        assert lag == 0, (topic, partition, lag)
