"""Quarantine records (format `ledgerline.quarantine/v1`, JSON) -> rows of warehouse.quarantine_event.

The format is the contract, documented at the top of `stream_processors/quarantine.py`; it is
parsed here from its JSON and never imported, so the two stages only share the topic. Parsing
is lenient where the table allows (a missing message falls back to the reason code, an
unreadable `payload.json.event_time` becomes NULL) and strict where it does not (no id, no
reason, no timestamps): such a record cannot be a row, so it is skipped and logged, never left
to fail the whole batch's transaction.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from platform_common.logging import TRACE_HEADER

FORMAT = "ledgerline.quarantine/v1"

# Column order of the jsonb rows handed to sql/quarantine.sql (jsonb_to_recordset).
COLUMNS = (
    "quarantine_id",
    "family",
    "reason",
    "reason_codes",
    "message",
    "field_path",
    "event_id",
    "event_time",
    "first_seen_at",
    "quarantined_at",
    "source_topic",
    "source_partition",
    "source_offset",
    "replay_of",
    "trace_id",
)


class MalformedQuarantineRecord(ValueError):
    """A message on the quarantine topic that is not a usable `ledgerline.quarantine/v1` record."""


def _timestamp(value: Any) -> datetime | None:
    """An aware UTC datetime from ISO-8601 text (`Z` or an offset); None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def record_trace_id(headers: Any) -> str | None:
    """The `trace_id` of the source message: the record's `headers` are [[name, base64 value], ...]."""
    if not isinstance(headers, list):
        return None
    for item in headers:
        if not (isinstance(item, list | tuple) and len(item) == 2 and item[0] == TRACE_HEADER):
            continue
        try:
            text = base64.b64decode(str(item[1]), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if text:
            return text
    return None


def parse_record(value: bytes) -> dict[str, Any]:
    """The row of one quarantine message (JSON-ready: timestamps as ISO text, UTC)."""
    try:
        record = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MalformedQuarantineRecord(f"not JSON: {error}") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise MalformedQuarantineRecord(f"not a {FORMAT} record")
    source = record.get("source")
    source = source if isinstance(source, Mapping) else {}
    reasons = [item for item in record.get("reasons") or () if isinstance(item, Mapping)]
    primary = reasons[0] if reasons else {}
    payload = record.get("payload")
    payload_json = payload.get("json") if isinstance(payload, Mapping) else None
    event_time = _timestamp(payload_json.get("event_time")) if isinstance(payload_json, Mapping) else None
    row: dict[str, Any] = {
        "quarantine_id": _text(record.get("quarantine_id")),
        "family": _text(record.get("family")),
        "reason": _text(record.get("reason")),
        "reason_codes": [str(item.get("code")) for item in reasons if item.get("code")],
        "message": _text(primary.get("message")),
        "field_path": _text(primary.get("field")),
        "event_id": _text(record.get("event_id")),
        "event_time": event_time,
        "first_seen_at": _timestamp(record.get("first_seen_at")),
        "quarantined_at": _timestamp(record.get("quarantined_at")),
        "source_topic": _text(source.get("topic")),
        "source_partition": source.get("partition"),
        "source_offset": source.get("offset"),
        "replay_of": _text(record.get("replay_of")),
        "trace_id": record_trace_id(record.get("headers")),
    }
    required = ("quarantine_id", "family", "reason", "first_seen_at", "quarantined_at", "source_topic")
    missing = [name for name in required if row[name] is None]
    for name in ("source_partition", "source_offset"):
        if not isinstance(row[name], int) or isinstance(row[name], bool):
            missing.append(name)
    if missing:
        raise MalformedQuarantineRecord(f"missing or invalid: {', '.join(missing)}")
    if not row["reason_codes"]:
        row["reason_codes"] = [row["reason"]]
    if row["message"] is None:
        row["message"] = row["reason"]
    for name in ("event_time", "first_seen_at", "quarantined_at"):
        if row[name] is not None:
            row[name] = row[name].isoformat()
    return row
