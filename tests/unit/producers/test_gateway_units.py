"""Gateway pieces that need no services: headers, limits, OpenAPI, settings."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError

from producers.events import trace_id_from_headers
from producers.gateway import GatewaySettings, create_app, hash_api_key
from producers.gateway.idempotency import InvalidIdempotencyKey, fingerprint, parse_idempotency_key
from producers.gateway.ratelimit import TokenBucketLimiter, retry_after_header


def test_trace_id_prefers_a_valid_traceparent_then_x_trace_id() -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    assert trace_id_from_headers(f"00-{trace}-00f067aa0ba902b7-01", "other") == trace
    assert trace_id_from_headers(f"00-{trace.upper()}-00f067aa0ba902b7-01", None) == trace
    assert trace_id_from_headers("00-" + "0" * 32 + "-00f067aa0ba902b7-01", "fallback") == "fallback"
    assert trace_id_from_headers("garbage", "req-1") == "req-1"
    assert trace_id_from_headers(None, "has space") is None
    assert trace_id_from_headers(None, "x" * 129) is None
    assert trace_id_from_headers(None, None) is None


@pytest.mark.parametrize(("header", "key"), [("abc", "abc"), ('"abc"', "abc"), (" k-1 ", "k-1"), ('"a b"', "a b")])
def test_idempotency_key_accepts_tokens_and_sf_strings(header: str, key: str) -> None:
    assert parse_idempotency_key(header) == key


@pytest.mark.parametrize("header", ["", '""', "x" * 256, 'a"b', "a\\b", "caf\u00e9", '"'])
def test_idempotency_key_refuses_malformed_values(header: str) -> None:
    with pytest.raises(InvalidIdempotencyKey):
        parse_idempotency_key(header)


def test_fingerprint_is_sha256_of_the_exact_body() -> None:
    assert fingerprint(b"{}").hex() == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    assert fingerprint(b"{}") != fingerprint(b"{ }")


def test_api_key_hash_depends_on_the_pepper() -> None:
    assert hash_api_key("k", "p1") != hash_api_key("k", "p2")
    assert len(hash_api_key("k", "p1")) == 32


def test_token_bucket_refills_at_rate_and_reports_the_wait() -> None:
    now = [0.0]
    limiter = TokenBucketLimiter(lambda rate: rate * 2, clock=lambda: now[0])
    assert limiter.acquire(1, 20, rate=10) == 0  # full bucket: 20 tokens
    assert limiter.acquire(1, 5, rate=10) == pytest.approx(0.5)
    assert limiter.acquire(2, 20, rate=10) == 0  # buckets are per key
    now[0] = 0.5
    assert limiter.acquire(1, 5, rate=10) == 0
    assert math.isinf(limiter.acquire(1, 21, rate=10))
    assert retry_after_header(0.2) == "1"
    assert retry_after_header(1.01) == "2"


def test_settings_keep_the_idempotency_lease_longer_than_delivery() -> None:
    with pytest.raises(ValidationError):
        GatewaySettings(delivery_timeout_s=30, idempotency_lease_s=10)
    with pytest.raises(ValidationError):
        GatewaySettings(idempotency_retention_s=3600)
    assert GatewaySettings(max_batch_events=1000).bucket_capacity(1.0) == 1000


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [ref for key, value in node.items() for ref in ([value] if key == "$ref" else _refs(value))]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def test_openapi_documents_every_family_with_its_contract_and_resolvable_refs() -> None:
    spec = create_app().openapi()
    components = spec["components"]["schemas"]
    for family in ("subscription", "payment", "usage", "operational_cost"):
        single = spec["paths"][f"/v1/events/{family}"]["post"]
        batch = spec["paths"][f"/v1/events/{family}/batch"]["post"]
        assert {"202", "401", "403", "409", "413", "422", "429", "503"} <= set(single["responses"])
        schema = single["requestBody"]["content"]["application/json"]["schema"]
        assert schema["$ref"].startswith("#/components/schemas/")
        assert batch["requestBody"]["content"]["application/json"]["schema"]["properties"]["events"]["maxItems"] == 1000
    payment = components["PaymentEvent"]
    assert payment["additionalProperties"] is False
    assert "amount_minor" in payment["required"]
    for ref in _refs(spec):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in components, ref
    assert "bearer" in spec["components"]["securitySchemes"]
