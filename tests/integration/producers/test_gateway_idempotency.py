"""Idempotency-Key semantics and failure paths (broker or database unreachable)."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from platform_common.config import Settings
from platform_common.postgres import Role, connect
from platform_common.topics import raw_topic
from producers.gateway import GatewaySettings, create_api_key
from tests.integration.producers.conftest import consume, free_port, gateway_client, payment_event

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]
BATCH = "/v1/events/payment/batch"


def _unreachable_broker(settings: Settings) -> Settings:
    kafka = settings.kafka.model_copy(update={"bootstrap_servers": f"127.0.0.1:{free_port()}"})
    return settings.model_copy(update={"kafka": kafka})


def _key_state(settings: Settings, key: str) -> str | None:
    with connect(Role.WRITER, settings) as conn:
        row = conn.execute(
            "SELECT state FROM platform.gateway_idempotency_key WHERE idempotency_key = %s", (key,)
        ).fetchone()
    return None if row is None else str(row[0])


async def test_same_key_same_body_replays_the_first_response_and_produces_once(
    ingest_env: Settings, api_key: str
) -> None:
    body = orjson.dumps({"events": [payment_event() for _ in range(3)]})
    invalid = orjson.dumps(payment_event(amount_minor=-1))
    _, other_key = create_api_key(ingest_env, "other", ["payment"])
    async with gateway_client(ingest_env, api_key=api_key) as client:
        first = await client.post(BATCH, content=body, headers={"Idempotency-Key": "order-1"})
        replay = await client.post(BATCH, content=body, headers={"Idempotency-Key": '"order-1"'})
        rejected = await client.post("/v1/events/payment", content=invalid, headers={"Idempotency-Key": "bad-1"})
        rejected_again = await client.post("/v1/events/payment", content=invalid, headers={"Idempotency-Key": "bad-1"})
        other_tenant = await client.post(
            BATCH, content=body, headers={"Idempotency-Key": "order-1", "Authorization": f"Bearer {other_key}"}
        )
    assert first.status_code == 202, first.text
    assert "idempotent-replayed" not in first.headers
    assert replay.status_code == 202
    assert replay.content == first.content
    assert replay.headers["idempotent-replayed"] == "true"
    assert rejected.status_code == rejected_again.status_code == 422
    assert rejected_again.content == rejected.content
    assert rejected_again.headers["idempotent-replayed"] == "true"
    # Keys are scoped per API key: another tenant's "order-1" is a different request.
    assert other_tenant.status_code == 202
    assert "idempotent-replayed" not in other_tenant.headers
    consumed = consume(ingest_env, raw_topic("payment", ingest_env.kafka.topic_prefix))
    assert len(consumed) == 6  # 3 from the first request, 3 from the other tenant, none from the replay
    assert len({message.record["event_id"] for message in consumed}) == 3


async def test_same_key_with_a_different_body_or_path_is_422_and_bad_keys_are_400(
    ingest_env: Settings, api_key: str
) -> None:
    event = payment_event()
    async with gateway_client(ingest_env, api_key=api_key) as client:
        first = await client.post("/v1/events/payment", json=event, headers={"Idempotency-Key": "k-1"})
        changed = await client.post(
            "/v1/events/payment", json={**event, "amount_minor": 1}, headers={"Idempotency-Key": "k-1"}
        )
        other_path = await client.post(BATCH, json={"events": [event]}, headers={"Idempotency-Key": "k-1"})
        other_query = await client.post(
            "/v1/events/payment?atomic=true", json=event, headers={"Idempotency-Key": "k-1"}
        )
        too_long = await client.post("/v1/events/payment", json=event, headers={"Idempotency-Key": "x" * 300})
    assert first.status_code == 202, first.text
    assert changed.status_code == 422
    assert changed.json()["error"] == "idempotency_key_reused"
    assert other_path.status_code == 422
    assert other_path.json()["error"] == "idempotency_key_reused"
    assert other_query.status_code == 422
    assert other_query.json()["error"] == "idempotency_key_reused"
    assert too_long.status_code == 400
    assert len(consume(ingest_env, raw_topic("payment", ingest_env.kafka.topic_prefix))) == 1


async def test_fifty_concurrent_requests_with_one_key_produce_exactly_one_set_of_events(
    ingest_env: Settings, api_key: str
) -> None:
    body = orjson.dumps({"events": [payment_event() for _ in range(10)]})
    async with gateway_client(ingest_env, api_key=api_key) as client:
        responses = await asyncio.gather(
            *(client.post(BATCH, content=body, headers={"Idempotency-Key": "burst"}) for _ in range(50))
        )
    statuses = {response.status_code for response in responses}
    assert statuses <= {202, 409}, statuses
    originals = [r for r in responses if r.status_code == 202 and "idempotent-replayed" not in r.headers]
    assert len(originals) == 1
    assert all(r.content == originals[0].content for r in responses if r.status_code == 202)
    consumed = consume(ingest_env, raw_topic("payment", ingest_env.kafka.topic_prefix))
    assert len(consumed) == 10


async def test_broker_down_is_503_with_retry_after_and_nothing_is_acknowledged(
    ingest_env: Settings, api_key: str
) -> None:
    gateway = GatewaySettings(delivery_timeout_s=1.0)
    async with gateway_client(_unreachable_broker(ingest_env), gateway, api_key=api_key) as client:
        started = time.monotonic()
        batch, single = await asyncio.gather(
            client.post(BATCH, json={"events": [payment_event() for _ in range(10)]}),
            client.post("/v1/events/payment", json=payment_event()),
        )
        elapsed = time.monotonic() - started
        metrics = (await client.get("/metrics")).text
        health = await client.get("/health")
    for response in (batch, single):
        assert response.status_code == 503, response.text
        assert response.json()["error"] == "broker_unavailable"
        assert int(response.headers["retry-after"]) >= 1
        assert "accepted" not in response.json()
    assert elapsed < 10
    assert 'ledgerline_gateway_events_total{family="payment",outcome="failed"}' in metrics
    assert health.status_code == 503
    assert health.json()["checks"]["kafka"]["ok"] is False
    assert consume(ingest_env, raw_topic("payment", ingest_env.kafka.topic_prefix)) == []


async def test_key_in_flight_is_409_and_a_503_releases_it_for_the_retry(ingest_env: Settings, api_key: str) -> None:
    body = orjson.dumps({"events": [payment_event() for _ in range(2)]})
    headers = {"Idempotency-Key": "slow-1"}
    gateway = GatewaySettings(delivery_timeout_s=1.5)
    async with gateway_client(_unreachable_broker(ingest_env), gateway, api_key=api_key) as down:
        first = asyncio.create_task(down.post(BATCH, content=body, headers=headers))
        for _ in range(100):
            if _key_state(ingest_env, "slow-1") == "in_flight":
                break
            await asyncio.sleep(0.02)
        concurrent = await down.post(BATCH, content=body, headers=headers)
        failed = await first
    assert concurrent.status_code == 409, concurrent.text
    assert concurrent.json()["error"] == "idempotency_key_in_flight"
    assert failed.status_code == 503
    assert _key_state(ingest_env, "slow-1") is None  # released: a retry must run, not replay a 503
    async with gateway_client(ingest_env, api_key=api_key) as up:
        retried = await up.post(BATCH, content=body, headers=headers)
    assert retried.status_code == 202
    assert "idempotent-replayed" not in retried.headers
    assert _key_state(ingest_env, "slow-1") == "completed"
    assert len(consume(ingest_env, raw_topic("payment", ingest_env.kafka.topic_prefix))) == 2


async def test_database_down_is_503_not_401(ingest_env: Settings, api_key: str) -> None:
    postgres = ingest_env.postgres.model_copy(update={"port": free_port()})
    gateway = GatewaySettings(db_timeout_s=1.0)
    async with gateway_client(ingest_env.model_copy(update={"postgres": postgres}), gateway, api_key=api_key) as client:
        response = await client.post("/v1/events/payment", json=payment_event())
    assert response.status_code == 503
    assert response.json()["error"] == "database_unavailable"
    assert response.headers["retry-after"]
