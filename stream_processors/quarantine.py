"""The quarantine record (JSON) and the headers of clean records.

Format `ledgerline.quarantine/v1`, one UTF-8 JSON object per Kafka message on the quarantine
topic, keyed like the source message and written to the source partition number:

    {
      "format": "ledgerline.quarantine/v1",
      "quarantine_id": "q-<20 hex>",        # from the source topic/partition/offset (for a backfill
                                            # copy: the original's), so it is stable
      "reason": "out_of_range",             # primary reason code (first finding)
      "reasons": [{"code": ..., "message": ..., "field": "amount_minor"}, ...],
      "family": "payment", "event_id": "..." | null,
      "source": {"topic", "partition", "offset", "timestamp_ms", "key_b64": ... | null},
      "headers": [[name, base64 value], ...],          # the source message's headers
      "first_seen_at": "...Z", "quarantined_at": "...Z",
      "replay_of": "q-..." | null,                     # set when this was a replayed record
      "payload": {"avro_b64": ... | null, "json": {...} | null, "writer_version": 2 | null}
    }

JSON rather than Avro because a quarantine record must hold what the contract could not:
undecodable bytes, an event of the wrong family, fields that break every rule. Volume is a
small share of the stream, people read it with `jq` and the triage CLI, and an operator fixes a
record by editing `payload.json` in an export; no schema registry round trip is needed for any
of that. The id is deterministic, so a record written twice (at-least-once) is recognisable.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime
from hashlib import blake2b
from typing import Any

from platform_common.logging import trace_id_in, traced
from schemas import to_json
from stream_processors.core import Outcome, RawEvent
from stream_processors.reasons import QuarantineReason

log = logging.getLogger(__name__)
FORMAT = "ledgerline.quarantine/v1"
REPLAY_HEADER = "ledgerline-replay-of"
BACKFILL_HEADER = "ledgerline-backfill"  # run id, on every message a backfill re-published ...
BACKFILL_SOURCE_HEADER = "ledgerline-backfill-source"  # ... with the original's topic/partition/offset
SOURCE_HEADER = "ledgerline-source"
EVENT_ID_HEADER = "ledgerline-event-id"
LATE_HEADER = "late"
REASON_HEADER = "ledgerline-quarantine-reason"
_OURS = frozenset({SOURCE_HEADER, EVENT_ID_HEADER, LATE_HEADER, REASON_HEADER})


def quarantine_id(topic: str, partition: int, offset: int) -> str:
    return "q-" + blake2b(f"{topic}/{partition}/{offset}".encode(), digest_size=10).hexdigest()


def original_coordinates(event: RawEvent) -> tuple[str, int, int]:
    """Where the raw message first arrived: a backfill re-publishes it elsewhere on the topic with
    `ledgerline-backfill` and `ledgerline-backfill-source: topic/partition/offset`, so the
    same bad record quarantined again keeps its quarantine id (and counts once downstream)."""
    origin = header_value(event.headers, BACKFILL_SOURCE_HEADER)
    if origin is not None and header_value(event.headers, BACKFILL_HEADER) is not None:
        topic, partition, offset = [*origin.rsplit("/", 2), "", ""][:3]
        if partition.isdigit() and offset.isdigit() and topic:
            return topic, int(partition), int(offset)
    return event.topic, event.partition, event.offset


def iso_micros(value_us: int) -> str:
    stamp = datetime.fromtimestamp(value_us // 1_000_000, tz=UTC).replace(microsecond=value_us % 1_000_000)
    return stamp.isoformat().replace("+00:00", "Z")


def header_value(headers: tuple[tuple[str, bytes], ...], name: str) -> str | None:
    for key, value in headers:
        if key == name and value is not None:
            return value.decode("utf-8", "replace")
    return None


def quarantine_record(outcome: Outcome, now_us: int) -> dict[str, Any]:
    event = outcome.event
    decoded = outcome.decoded
    payload_json: dict[str, Any] | None = None
    event_id: str | None = None
    if decoded is not None:
        payload_json = to_json(decoded.record)
        event_id = decoded.record.get("event_id")
    return {
        "format": FORMAT,
        "quarantine_id": quarantine_id(*original_coordinates(event)),
        "reason": str(outcome.reason),
        "reasons": [finding.as_dict() for finding in outcome.findings],
        "family": event.family.value,
        "event_id": event_id,
        "source": {
            "topic": event.topic,
            "partition": event.partition,
            "offset": event.offset,
            "timestamp_ms": event.timestamp_ms,
            "key_b64": None if event.key is None else base64.b64encode(event.key).decode(),
        },
        "headers": [[name, base64.b64encode(value or b"").decode()] for name, value in event.headers],
        "first_seen_at": iso_micros(outcome.first_seen_us),
        "quarantined_at": iso_micros(now_us),
        "replay_of": header_value(event.headers, REPLAY_HEADER),
        "payload": {
            "avro_b64": None if event.value is None else base64.b64encode(event.value).decode(),
            "json": payload_json,
            "writer_version": None if decoded is None else decoded.writer_version,
        },
    }


def log_quarantined(outcome: Outcome, record: dict[str, Any]) -> None:
    """One line per quarantined event, tagged with the event's trace id (its `trace_id` header),
    so the request that sent a bad event can be followed from the gateway to its quarantine.

    Quarantine is routine (bad records are routed, not lost): INFO. A conflicting duplicate
    means two different payloads claim one event_id, which a producer should fix: WARNING.
    """
    event = outcome.event
    fields = {
        "quarantine_id": record["quarantine_id"],
        "reason": record["reason"],
        "family": event.family.value,
        "event_id": record["event_id"],
        "source": f"{event.topic}/{event.partition}/{event.offset}",
    }
    with traced(trace_id_in(event.headers)):
        if outcome.reason is QuarantineReason.CONFLICTING_DUPLICATE:
            log.warning("conflicting duplicate quarantined", extra=fields)
        else:
            log.info("event quarantined", extra=fields)


def encode_record(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()


def quarantine_headers(outcome: Outcome) -> list[tuple[str, bytes]]:
    return [(REASON_HEADER, str(outcome.reason).encode())]


def clean_headers(outcome: Outcome) -> list[tuple[str, bytes]]:
    """Source headers (trace id, replay marker) plus `late`, lineage and the event id."""
    event = outcome.event
    headers = [(name, value) for name, value in event.headers if name not in _OURS]
    headers.append((LATE_HEADER, b"true" if outcome.late else b"false"))
    headers.append((SOURCE_HEADER, f"{event.topic}/{event.partition}/{event.offset}".encode()))
    if outcome.decoded is not None:
        headers.append((EVENT_ID_HEADER, str(outcome.decoded.record["event_id"]).encode()))
    return headers
