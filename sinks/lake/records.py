"""From a consumed Kafka message to the `LakeRecord` dict fastavro writes (hot path, kept flat)."""

from __future__ import annotations

from typing import Any

from confluent_kafka import Message

from sinks.lake.envelope import (
    QUARANTINE_FAMILY,
    TIMESTAMP_TYPES,
    UNKNOWN_FAMILY,
    EventInspector,
    family_of_header,
)
from sinks.lake.quarantine import inspect_quarantine_document


class RecordBuilder:
    def __init__(self, families: dict[str, str], inspector: EventInspector) -> None:
        self.families = families
        self.inspector = inspector

    def build(self, message: Message, topic: str, partition: int, offset: int) -> dict[str, Any]:
        """Raw topics keep their topic's family; a quarantine record gets the family its document
        (or its Avro value, or a `family` header) names, else `unknown`."""
        value = _bytes(message.value())
        headers = _headers(message)
        family = self.families[topic]
        found = inspect_quarantine_document(value) if family == QUARANTINE_FAMILY else None
        if found is None:
            found = self.inspector.inspect(value)
        if family == QUARANTINE_FAMILY:
            family = found.subject or family_of_header(headers) or UNKNOWN_FAMILY
        timestamp_type, timestamp = message.timestamp()
        return {
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "kafka_timestamp": timestamp,
            "timestamp_type": TIMESTAMP_TYPES[timestamp_type],
            "key": _bytes(message.key()),
            "headers": [{"key": key, "value": data} for key, data in headers],
            "value": value,
            "family": family,
            "event_id": found.event_id,
            "event_time": found.event_time_us,
            "schema_fingerprint": found.fingerprint,
            "schema_version": found.version,
            "decode_error": found.error,
        }


def _bytes(data: str | bytes | None) -> bytes | None:
    """The consumer has no deserializer, so this is bytes already; the type allows str."""
    return data.encode("utf-8") if isinstance(data, str) else data


def _headers(message: Message) -> list[tuple[str, bytes | None]]:
    raw = message.headers()
    if not raw:
        return []
    pairs = list(raw.items()) if isinstance(raw, dict) else raw
    return [(key, _bytes(data)) for key, data in pairs]
