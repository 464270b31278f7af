"""The foundation's smoke path: one contract-valid event through every real service.

It proves the wiring (serializer → Kafka → consumer → lake → warehouse) without touching the
business topics, so the demo can run it on every start without polluting the metrics.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import TopicPartition

from platform_common.config import Settings, get_settings
from platform_common.kafka import ensure_topics, make_consumer, make_producer
from platform_common.postgres import Role, connect
from platform_common.s3 import put_object_if_absent, s3_client
from platform_common.topics import DAY_MS, TopicSpec

SMOKE_TOPIC = "platform.smoke"


@dataclass(frozen=True)
class SmokeReport:
    event_id: str
    partition: int
    offset: int
    lake_key: str
    lake_write_was_new: bool
    lake_rewrite_refused: bool
    warehouse_row_id: int
    seconds: float


def smoke_event(now: datetime) -> dict[str, Any]:
    return {
        "event_id": f"smoke-{uuid.uuid4()}",
        "event_type": "created",
        "event_time": now.isoformat(),
        "source": "ledgerline-smoke",
        "schema_version": 1,
        "metadata": {"producer": "ledgerline-smoke"},
        "subscription_id": "sub-smoke",
        "customer_id": "cus-smoke",
        "plan_id": "starter-monthly",
        "billing_interval": "month",
        "billing_interval_count": 1,
        "quantity": 1,
        "unit_price_minor": 2900,
        "currency": "USD",
        "region_id": "na",
    }


def run_smoke(settings: Settings | None = None) -> SmokeReport:
    from schemas import partition_key, serializer, validate_event

    settings = settings or get_settings()
    started = time.monotonic()
    topic = settings.kafka.topic_prefix + SMOKE_TOPIC
    ensure_topics([TopicSpec(topic, 1, DAY_MS)], settings)

    record = validate_event("subscription", smoke_event(datetime.now(UTC)))
    payload = serializer().encode("subscription", record)
    delivered: list[Any] = []
    producer = make_producer(settings)
    producer.produce(
        topic,
        value=payload,
        key=partition_key("subscription", record),
        on_delivery=lambda error, message: delivered.append((error, message)),
    )
    producer.flush(30)
    if not delivered or delivered[0][0] is not None:
        raise RuntimeError(f"smoke event not acknowledged by Kafka: {delivered}")
    message = delivered[0][1]

    consumer = make_consumer(f"ledgerline-smoke-{uuid.uuid4().hex[:8]}", settings)
    consumer.assign([TopicPartition(topic, message.partition(), message.offset())])
    try:
        consumed = consumer.poll(30)
    finally:
        consumer.close()
    if consumed is None or consumed.error():
        raise RuntimeError(f"smoke event not consumed back: {consumed and consumed.error()}")
    value = consumed.value()
    if value is None:
        raise RuntimeError("consumed a tombstone instead of the smoke event")
    decoded = serializer().decode(value)
    if decoded.record["event_id"] != record["event_id"]:
        raise RuntimeError("consumed a different event than the one produced")

    lake_key = f"smoke/date={record['event_time']:%Y-%m-%d}/{record['event_id']}.avro"

    async def write_lake() -> tuple[bool, bool]:
        async with s3_client(settings) as s3:
            first = await put_object_if_absent(s3, settings.s3.lake_bucket, lake_key, payload)
            again = await put_object_if_absent(s3, settings.s3.lake_bucket, lake_key, b"overwrite attempt")
            return first.created, not again.created

    lake_new, rewrite_refused = asyncio.run(write_lake())

    with connect(Role.WRITER, settings) as conn:
        row = conn.execute(
            "INSERT INTO platform.setup_run (component) VALUES (%s) RETURNING setup_run_id",
            (f"smoke:{record['event_id']}",),
        ).fetchone()
    assert row is not None
    return SmokeReport(
        event_id=record["event_id"],
        partition=message.partition(),
        offset=message.offset(),
        lake_key=lake_key,
        lake_write_was_new=lake_new,
        lake_rewrite_refused=rewrite_refused,
        warehouse_row_id=int(row[0]),
        seconds=time.monotonic() - started,
    )
