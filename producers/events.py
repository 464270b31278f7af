"""JSON event -> Kafka message: the one path the gateway, the batch loader and the helper share.

Keeping validation, metadata stamping, Avro encoding, keying and the trace header in one place
means an event looks byte-for-byte the same on the raw topic whichever door it came through.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import schemas
from platform_common.logging import TRACE_HEADER
from platform_common.topics import Family

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
_TRACE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    """An accepted event, ready for `Producer.produce`."""

    event_id: str
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, str | bytes | None]]


def prepare_event(
    family: Family,
    payload: Mapping[str, Any],
    *,
    topic: str,
    trace_id: str | None = None,
    received_at: datetime | None = None,
) -> OutgoingEvent:
    """Validate `payload` against the family contract and encode it.

    `received_at` (when given) always overwrites `metadata.received_at`: arrival time is the
    ingestion layer's fact, not the producer's. `trace_id` only fills a missing
    `metadata.trace_id`, so an id the producer propagated on the event itself is kept. The
    Kafka header `trace_id` carries whatever id the event ends up with.
    Raises `schemas.ContractViolation`.
    """
    record = schemas.validate_event(family, payload)
    metadata = record["metadata"]
    if received_at is not None:
        metadata["received_at"] = received_at
    if trace_id is not None and metadata.get("trace_id") is None:
        metadata["trace_id"] = trace_id
    value = schemas.serializer().encode(family.value, record)
    key = schemas.partition_key(family, record)
    event_trace = metadata.get("trace_id")
    headers: list[tuple[str, str | bytes | None]] = [(TRACE_HEADER, event_trace.encode())] if event_trace else []
    return OutgoingEvent(record["event_id"], topic, key, value, headers)


def new_trace_id() -> str:
    """32 lowercase hex digits, the W3C trace-id shape, so ids look alike across systems."""
    return uuid.uuid4().hex


def trace_id_from_headers(traceparent: str | None, x_trace_id: str | None) -> str | None:
    """The trace id a caller sent: W3C `traceparent` first, then `X-Trace-Id`.

    Malformed values are ignored (the W3C rule for traceparent: start a new trace), so a bad
    header never turns a valid event into an error.
    """
    if traceparent:
        match = _TRACEPARENT.match(traceparent.strip().lower())
        if match and match.group(1) != "0" * 32:
            return match.group(1)
    if x_trace_id and _TRACE_ID.match(x_trace_id.strip()):
        return x_trace_id.strip()
    return None
