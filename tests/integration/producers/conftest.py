"""Fixtures for the producer tests: a private database + topic prefix, a gateway client, a
consumer that reads a raw topic back, and valid events of every family."""

from __future__ import annotations

import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition

import schemas
from platform_common.config import Settings
from platform_common.kafka import make_consumer
from producers.gateway import GatewaySettings, create_app, ensure_bootstrap_api_key


@pytest.fixture
def ingest_env(fresh_database: Settings, isolated_topics: Settings) -> Settings:
    """Own database (with migrations) and own topics; nothing shared is touched."""
    return fresh_database.model_copy(update={"kafka": isolated_topics.kafka})


@pytest.fixture
def api_key(ingest_env: Settings) -> str:
    ensure_bootstrap_api_key(ingest_env)
    return ingest_env.api.bootstrap_api_key.get_secret_value()


@contextlib.asynccontextmanager
async def gateway_client(
    settings: Settings, gateway: GatewaySettings | None = None, api_key: str | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway app in process (lifespan included) behind an httpx client."""
    app = create_app(settings, gateway or GatewaySettings())
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway", headers=headers) as client:
            yield client


@dataclass
class Consumed:
    key: bytes
    headers: dict[str, bytes]
    record: dict[str, Any]


def consume(settings: Settings, topic: str, max_s: float = 30.0) -> list[Consumed]:
    """Every message of `topic`, decoded. Callers produce (and get acknowledgements) first, so
    the partitions' high watermarks say exactly how many messages exist: nothing to wait for
    "just in case", and an extra message cannot hide."""
    consumer = make_consumer(f"test-{uuid.uuid4().hex}", settings)
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        total = sum(_message_count(consumer, topic, partition) for partition in partitions)
        consumer.assign([TopicPartition(topic, partition, 0) for partition in partitions])
        found: list[Consumed] = []
        deadline = time.monotonic() + max_s
        while len(found) < total and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None:
                continue
            assert message.error() is None, message.error()
            value, key = message.value(), message.key()
            assert value is not None
            assert key is not None
            raw_headers: Any = message.headers() or []
            headers = {str(name): bytes(header) for name, header in raw_headers}
            found.append(Consumed(key, headers, schemas.serializer().decode(value).record))
        assert len(found) == total, f"read {len(found)} of {total} messages from {topic}"
        return found
    finally:
        consumer.close()


def _message_count(consumer: Consumer, topic: str, partition: int) -> int:
    for attempt in range(50):  # a just-created partition may not know its leader yet
        try:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            return int(high - low)
        except KafkaException:
            if attempt == 49:
                raise
            time.sleep(0.1)
    raise AssertionError("unreachable")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def payment_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_type": "invoice_paid",
        "event_time": "2024-03-01T09:30:00.250000Z",
        "source": "billing",
        "schema_version": 2,
        "metadata": {"received_at": None, "producer": "tests", "trace_id": None},
        "payment_id": "pay_1",
        "invoice_id": "inv_1",
        "subscription_id": "sub_1",
        "customer_id": f"cus_{uuid.uuid4().hex[:6]}",
        "amount_minor": 4900,
        "currency": "EUR",
        "service_period_start": "2024-03-01",
        "service_period_end": "2024-03-31",
        "region_id": "emea",
        "failure_reason": None,
        "payment_method": "card",
    }
    event.update(overrides)
    return event


def subscription_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_type": "plan_changed",
        "event_time": "2024-02-29T23:59:59Z",
        "source": "billing",
        "schema_version": 2,
        "metadata": {"received_at": None, "producer": "tests", "trace_id": None},
        "subscription_id": "sub_9",
        "customer_id": f"cus_{uuid.uuid4().hex[:6]}",
        "plan_id": "growth-annual-usd",
        "billing_interval": "year",
        "billing_interval_count": 1,
        "quantity": 12,
        "unit_price_minor": 9_999_999_999,
        "currency": "USD",
        "discount": {"kind": "percent", "amount_minor": None, "percent_basis_points": 1250, "duration_months": 6},
        "region_id": "us",
        "change_kind": "upgrade",
        "effective_date": "2024-03-01",
        "cancel_reason": None,
        "trial_end_date": None,
        "customer_segment": "mid_market",
        "sales_channel": "sales_led",
    }
    event.update(overrides)
    return event
