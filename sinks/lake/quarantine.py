"""Reading what the lake needs from quarantine records (the stream processor's JSON documents).

The quarantine topic carries `ledgerline.quarantine/v1` JSON documents, not Avro: the original
value is inside, base64-encoded. The lake archives the document bytes untouched; from the
document it takes the family, event id and event time, and the schema fingerprint of the
original value, so quarantined records are attributable in manifests. Anything unexpected is
tolerated: the record is still archived, just without those fields.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from platform_common.avro_codec import HEADER_LENGTH, SINGLE_OBJECT_MARKER
from platform_common.topics import Family
from sinks.lake.envelope import EPOCH, Inspection

FORMAT_PREFIX = "ledgerline.quarantine/"


def inspect_quarantine_document(value: bytes | None) -> Inspection | None:
    """None when `value` is not a quarantine document (the caller falls back to Avro/headers)."""
    if not value or value[:1] != b"{":
        return None
    try:
        document = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(document, dict) or not str(document.get("format", "")).startswith(FORMAT_PREFIX):
        return None
    family = document.get("family")
    subject = family if isinstance(family, str) and family in {item.value for item in Family} else None
    event_id = document.get("event_id")
    payload = document.get("payload")
    if not isinstance(payload, dict):
        payload = {}
    version = payload.get("writer_version")
    return Inspection(
        subject,
        event_id if isinstance(event_id, str) else None,
        _event_time_us(payload.get("json")),
        _fingerprint(payload.get("avro_b64")),
        version if isinstance(version, int) else None,
    )


def _event_time_us(event: Any) -> int | None:
    if not isinstance(event, dict) or not isinstance(event.get("event_time"), str):
        return None
    try:
        moment = datetime.fromisoformat(event["event_time"].replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _fingerprint(encoded: Any) -> str | None:
    if not isinstance(encoded, str):
        return None
    try:
        original = base64.b64decode(encoded[:24], validate=False)
    except (binascii.Error, ValueError):
        return None
    if len(original) < HEADER_LENGTH or original[:2] != SINGLE_OBJECT_MARKER:
        return None
    return original[2:HEADER_LENGTH].hex()
