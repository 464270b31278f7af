"""Record dicts as the sink builds them, for tests that need no services."""

from __future__ import annotations

from typing import Any

from platform_common.topics import Family
from schemas import catalog, serializer
from sinks.lake.envelope import EventInspector
from sinks.lake.synthetic import synthetic_event

HOUR_MS = 3_600_000
T0 = 1_714_557_600_000  # 2024-05-01T10:00:00Z


def record(
    offset: int,
    ts_ms: int = T0,
    value: bytes | None = b"v",
    *,
    topic: str = "events.payment.raw",
    partition: int = 0,
    headers: list[tuple[str, bytes | None]] | None = None,
    key: bytes | None = None,
    family: str = "payment",
) -> dict[str, Any]:
    found = EventInspector(catalog()).inspect(value)
    return {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "kafka_timestamp": ts_ms,
        "timestamp_type": "create_time",
        "key": key,
        "headers": [{"key": name, "value": data} for name, data in headers or []],
        "value": value,
        "family": family,
        "event_id": found.event_id,
        "event_time": found.event_time_us,
        "schema_fingerprint": found.fingerprint,
        "schema_version": found.version,
        "decode_error": found.error,
    }


def event_value(index: int, family: Family = Family.PAYMENT) -> bytes:
    return synthetic_event(family, index, serializer())[1]
