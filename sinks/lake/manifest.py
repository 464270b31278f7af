"""Per-object manifests: what an object holds, so the lake can be reconciled without reading it.

A manifest is derived only from the object's records and its name, so one rebuilt after a crash
(data object written, manifest not yet) is identical to the one the writer would have written.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from sinks.lake.envelope import EPOCH

MANIFEST_FORMAT = 1
_MILLISECOND = timedelta(milliseconds=1)
_MICROSECOND = timedelta(microseconds=1)


class Manifest(BaseModel):
    """JSON at `_manifests/<object key>.json`. Offsets are inclusive; `start_offset` is where the
    object's responsibility begins (the committed offset before it), `first_offset` its first record."""

    model_config = ConfigDict(frozen=True)

    format_version: int = MANIFEST_FORMAT
    key: str
    topic: str
    partition: int
    family: str
    start_offset: int
    end_offset: int
    first_offset: int
    record_count: int
    size_bytes: int
    sha256: str
    codec: str
    min_kafka_timestamp: datetime
    max_kafka_timestamp: datetime
    min_event_time: datetime | None
    max_event_time: datetime | None
    family_counts: dict[str, int]
    schema_fingerprints: dict[str, int]
    undecodable_count: int

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(indent=None).encode("utf-8")

    @classmethod
    def from_json_bytes(cls, data: bytes) -> Manifest:
        return cls.model_validate_json(data)


def summarize(
    records: list[dict[str, Any]],
    *,
    key: str,
    topic: str,
    partition: int,
    family: str,
    start_offset: int,
    body: bytes,
    codec: str,
) -> Manifest:
    """The manifest of `records` as the sink holds them (timestamps as epoch integers), computed
    in one pass of C-level builtins at flush time rather than record by record while consuming."""
    if not records:
        raise ValueError("a lake object holds at least one record")
    stamps = [record["kafka_timestamp"] for record in records]
    event_times = [record["event_time"] for record in records if record["event_time"] is not None]
    fingerprints = Counter(record["schema_fingerprint"] for record in records)
    fingerprints.pop(None, None)
    return Manifest(
        key=key,
        topic=topic,
        partition=partition,
        family=family,
        start_offset=start_offset,
        end_offset=records[-1]["offset"],
        first_offset=records[0]["offset"],
        record_count=len(records),
        size_bytes=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        codec=codec,
        min_kafka_timestamp=_from_ms(min(stamps)),
        max_kafka_timestamp=_from_ms(max(stamps)),
        min_event_time=_from_us(min(event_times)) if event_times else None,
        max_event_time=_from_us(max(event_times)) if event_times else None,
        family_counts=dict(sorted(Counter(record["family"] for record in records).items())),
        schema_fingerprints=dict(sorted(fingerprints.items())),
        undecodable_count=sum(1 for record in records if record["decode_error"] is not None),
    )


def as_written(record: dict[str, Any]) -> dict[str, Any]:
    """A record read back by fastavro (timestamps as datetimes) in the form `summarize` takes."""
    event_time = record["event_time"]
    return {
        "offset": record["offset"],
        "kafka_timestamp": (record["kafka_timestamp"] - EPOCH) // _MILLISECOND,
        "family": record["family"],
        "event_time": None if event_time is None else (event_time - EPOCH) // _MICROSECOND,
        "schema_fingerprint": record["schema_fingerprint"],
        "decode_error": record["decode_error"],
    }


def _from_ms(value: int) -> datetime:
    return EPOCH + timedelta(milliseconds=value)


def _from_us(value: int | None) -> datetime | None:
    return None if value is None else EPOCH + timedelta(microseconds=value)
