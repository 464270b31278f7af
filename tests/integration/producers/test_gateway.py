"""The gateway against the real broker and database: acceptance, contract errors, auth, limits."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator

import pytest

import schemas
from platform_common.config import Settings
from platform_common.topics import raw_topic
from producers.gateway import GatewaySettings, create_api_key
from tests.integration.producers.conftest import consume, gateway_client, payment_event, subscription_event

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _expected(event: dict[str, object], received_at: str, trace_id: str) -> dict[str, object]:
    """What the gateway must have produced: the request, plus the two fields it fills."""
    expected = copy.deepcopy(event)
    expected["metadata"] = {**event["metadata"], "received_at": received_at, "trace_id": trace_id}  # type: ignore[dict-item]
    return expected


async def test_single_event_is_acknowledged_and_round_trips_exactly(ingest_env: Settings, api_key: str) -> None:
    event = payment_event()
    traceparent = f"00-{TRACE}-00f067aa0ba902b7-01"
    async with gateway_client(ingest_env, api_key=api_key) as client:
        response = await client.post("/v1/events/payment", json=event, headers={"traceparent": traceparent})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "accepted"
    assert body["event_id"] == event["event_id"]
    assert body["trace_id"] == TRACE
    assert response.headers["x-trace-id"] == TRACE
    [message] = consume(ingest_env, raw_topic("payment", ingest_env.kafka.topic_prefix))
    assert schemas.to_json(message.record) == _expected(event, body["received_at"], TRACE)
    assert message.headers["trace_id"] == TRACE.encode()
    assert message.key == event["customer_id"].encode()


async def test_batch_round_trips_json_avro_json_and_keeps_producer_trace_ids(
    ingest_env: Settings, api_key: str
) -> None:
    events = [subscription_event() for _ in range(20)]
    events[3] = subscription_event(discount=None, change_kind="quantity_change")
    events[7]["metadata"]["trace_id"] = "producer-trace-7"
    async with gateway_client(ingest_env, api_key=api_key) as client:
        response = await client.post(
            "/v1/events/subscription/batch", json={"events": events}, headers={"X-Trace-Id": "req-42"}
        )
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (20, 0)
    assert [result["status"] for result in body["results"]] == ["accepted"] * 20
    consumed = consume(ingest_env, raw_topic("subscription", ingest_env.kafka.topic_prefix))
    by_id = {message.record["event_id"]: message for message in consumed}
    assert len(consumed) == 20
    assert len(by_id) == 20
    for index, event in enumerate(events):
        trace = "producer-trace-7" if index == 7 else "req-42"
        message = by_id[event["event_id"]]
        assert schemas.to_json(message.record) == _expected(event, body["received_at"], trace)
        assert message.headers["trace_id"] == trace.encode()


async def test_batch_reports_each_rejected_event_with_field_path_and_produces_only_valid_ones(
    ingest_env: Settings, api_key: str
) -> None:
    good = [payment_event(), payment_event()]
    unknown = payment_event(discount_code="FREE")
    bad_type = payment_event(amount_minor=49.5)
    nested = payment_event(metadata={"producer": "tests", "admin": True})
    async with gateway_client(ingest_env, api_key=api_key) as client:
        response = await client.post(
            "/v1/events/payment/batch", json={"events": [good[0], unknown, bad_type, nested, good[1]]}
        )
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 3)
    results = body["results"]
    assert [result["status"] for result in results] == ["accepted", "rejected", "rejected", "rejected", "accepted"]
    assert results[1]["errors"] == [
        {"field": "discount_code", "reason": "Extra inputs are not permitted", "code": "unknown_field"}
    ]
    assert [(error["field"], error["code"]) for error in results[2]["errors"]] == [("amount_minor", "not_an_integer")]
    assert [(error["field"], error["code"]) for error in results[3]["errors"]] == [("metadata.admin", "unknown_field")]
    assert results[1]["event_id"] == unknown["event_id"]
    consumed = consume(ingest_env, raw_topic("payment", ingest_env.kafka.topic_prefix))
    assert sorted(message.record["event_id"] for message in consumed) == sorted(event["event_id"] for event in good)


async def test_single_event_contract_violations_are_422_with_field_paths(ingest_env: Settings, api_key: str) -> None:
    async with gateway_client(ingest_env, api_key=api_key) as client:
        unknown = await client.post("/v1/events/payment", json=payment_event(is_admin=True))
        bad_type = await client.post("/v1/events/payment", json=payment_event(amount_minor="4900"))
        conditional = await client.post("/v1/events/subscription", json=subscription_event(effective_date=None))
        not_json = await client.post(
            "/v1/events/payment", content=b"{not json", headers={"Content-Type": "application/json"}
        )
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [
        {"field": "is_admin", "reason": "Extra inputs are not permitted", "code": "unknown_field"}
    ]
    assert bad_type.status_code == 422
    assert [(e["field"], e["code"]) for e in bad_type.json()["errors"]] == [("amount_minor", "not_an_integer")]
    assert conditional.status_code == 422
    assert [(e["field"], e["code"]) for e in conditional.json()["errors"]] == [
        ("effective_date", "conditionally_required")
    ]
    assert not_json.status_code == 400
    assert consume(ingest_env, raw_topic("payment", ingest_env.kafka.topic_prefix)) == []


async def test_all_rejected_batch_is_422_and_atomic_batch_produces_nothing(ingest_env: Settings, api_key: str) -> None:
    async with gateway_client(ingest_env, api_key=api_key) as client:
        all_bad = await client.post("/v1/events/payment/batch", json={"events": [payment_event(currency="eur")]})
        atomic = await client.post(
            "/v1/events/payment/batch?atomic=true", json={"events": [payment_event(), payment_event(amount_minor=-5)]}
        )
        envelope = await client.post("/v1/events/payment/batch", json={"events": [payment_event()], "mode": "x"})
        empty = await client.post("/v1/events/payment/batch", json={"events": []})
    assert all_bad.status_code == 422
    assert all_bad.json()["results"][0]["errors"][0]["field"] == "currency"
    assert atomic.status_code == 422
    assert [result["status"] for result in atomic.json()["results"]] == ["not_produced", "rejected"]
    assert envelope.status_code == 422
    assert envelope.json()["errors"][0]["field"] == "mode"
    assert empty.status_code == 422
    assert consume(ingest_env, raw_topic("payment", ingest_env.kafka.topic_prefix)) == []


async def test_api_keys_401_without_or_with_unknown_key_and_403_for_other_families(ingest_env: Settings) -> None:
    _, payments_only = create_api_key(ingest_env, "payments-only", ["payment"])
    async with gateway_client(ingest_env) as client:
        missing = await client.post("/v1/events/payment", json=payment_event())
        unknown = await client.post("/v1/events/payment", json=payment_event(), headers={"X-API-Key": "llk_nope"})
        allowed = await client.post(
            "/v1/events/payment", json=payment_event(), headers={"Authorization": f"Bearer {payments_only}"}
        )
        forbidden = await client.post(
            "/v1/events/subscription", json=subscription_event(), headers={"X-API-Key": payments_only}
        )
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert unknown.status_code == 401
    assert unknown.json()["error"] == "invalid_api_key"
    assert allowed.status_code == 202, allowed.text
    assert forbidden.status_code == 403
    assert forbidden.json()["error"] == "family_not_allowed"
    assert consume(ingest_env, raw_topic("subscription", ingest_env.kafka.topic_prefix)) == []


async def test_413_over_event_count_declared_size_and_streamed_size(ingest_env: Settings, api_key: str) -> None:
    gateway = GatewaySettings(max_batch_events=5, max_body_bytes=4096)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 1000  # no Content-Length: the limit must hold while streaming

    async with gateway_client(ingest_env, gateway, api_key=api_key) as client:
        too_many = await client.post("/v1/events/payment/batch", json={"events": [payment_event() for _ in range(6)]})
        five = await client.post("/v1/events/payment/batch", json={"events": [payment_event() for _ in range(5)]})
        declared = await client.post("/v1/events/payment", json=payment_event(payment_method="x" * 5000))
        streamed = await client.post("/v1/events/payment", content=chunks())
    assert too_many.status_code == 413
    assert too_many.json()["error"] == "too_many_events"
    assert five.status_code == 202, five.text
    assert declared.status_code == 413
    assert declared.json()["error"] == "body_too_large"
    assert streamed.status_code == 413
    assert streamed.json()["error"] == "body_too_large"


async def test_429_with_retry_after_over_the_per_key_rate(ingest_env: Settings, api_key: str) -> None:
    gateway = GatewaySettings(rate_limit_events_per_s=1.0, rate_limit_burst_s=1.0, max_batch_events=4)
    batch = {"events": [payment_event() for _ in range(4)]}
    async with gateway_client(ingest_env, gateway, api_key=api_key) as client:
        first = await client.post("/v1/events/payment/batch", json=batch)
        second = await client.post("/v1/events/payment", json=payment_event())
    assert first.status_code == 202, first.text
    assert second.status_code == 429
    assert int(second.headers["retry-after"]) >= 1
    assert second.json()["error"] == "rate_limited"
