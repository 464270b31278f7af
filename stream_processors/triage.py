"""Reading, exporting and replaying quarantine records (the engine behind `ledgerline quarantine`).

Reading scans the quarantine topic from the start (or from `since`, via offsets-for-times) up to
the end offsets taken when the scan starts, read-committed, without a consumer group commit, and
collapses records with the same `quarantine_id` (a record written twice under at-least-once).

Replay produces the event back to its raw topic, on its original partition and key, with header
`ledgerline-replay-of: <quarantine_id>`, so it takes the normal path again and keeps its
`event_id`. A quarantined event was never marked seen, so a replay passes de-duplication once;
replaying it again is an exact duplicate and is dropped. From an edited export, `payload.json`
is validated against the contract first (invalid edits are refused, not produced) and must keep
the record's `event_id`; records whose JSON was not edited are replayed with their original bytes.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

import schemas
from platform_common.config import Settings
from platform_common.kafka import make_consumer, make_producer
from platform_common.topics import Family, quarantine_topic, raw_topic
from stream_processors.quarantine import FORMAT, REPLAY_HEADER

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Filters:
    reasons: frozenset[str] = frozenset()
    families: frozenset[str] = frozenset()
    since: datetime | None = None
    until: datetime | None = None
    ids: frozenset[str] = frozenset()

    def matches(self, record: dict[str, Any]) -> bool:
        if self.ids and record.get("quarantine_id") not in self.ids:
            return False
        if self.families and record.get("family") not in self.families:
            return False
        if self.reasons and not self.reasons & {reason["code"] for reason in record.get("reasons", [])}:
            return False
        at = _parse_time(record.get("quarantined_at"))
        if self.since is not None and (at is None or at < self.since):
            return False
        return not (self.until is not None and (at is None or at >= self.until))


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def read_quarantine(
    settings: Settings, filters: Filters | None = None, progress: Progress | None = None, timeout_s: float = 30.0
) -> Iterator[dict[str, Any]]:
    """Matching quarantine records, oldest first per partition, each quarantine_id once."""
    filters = filters or Filters()
    topic = quarantine_topic(settings.kafka.topic_prefix)
    consumer = make_consumer(f"{settings.kafka.client_id}-triage-{uuid.uuid4().hex}", settings)
    try:
        metadata = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if metadata is None or metadata.error is not None:
            raise RuntimeError(f"quarantine topic {topic!r} not found")
        partitions = sorted(metadata.partitions)
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout_s)[1] for p in partitions}
        starts = [TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions]
        if filters.since is not None:
            stamp = int(filters.since.timestamp() * 1000)
            starts = consumer.offsets_for_times([TopicPartition(topic, p, stamp) for p in partitions], timeout_s)
        pending = {p for p in partitions if ends[p] > 0}
        consumer.assign(starts)
        for start in starts:
            if start.offset < 0 and start.offset != OFFSET_BEGINNING:
                pending.discard(start.partition)  # nothing at or after `since`
        seen: set[str] = set()
        read = 0
        idle_polls = 0
        while pending:
            messages = consumer.consume(1000, 1.0)
            if not messages:
                idle_polls += 1
                if idle_polls * 1.0 > timeout_s:
                    raise TimeoutError(f"quarantine scan stalled with partitions {sorted(pending)} unread")
                _drop_finished(consumer, topic, pending, ends)
                continue
            idle_polls = 0
            for message in messages:
                if message.error() is not None:
                    continue
                partition, offset = message.partition(), message.offset()
                if partition is not None and offset is not None and offset >= ends[partition] - 1:
                    pending.discard(partition)
                read += 1
                record = _decode(message.value())
                if record is None or record["quarantine_id"] in seen or not filters.matches(record):
                    continue
                seen.add(record["quarantine_id"])
                yield record
            if progress is not None:
                progress(read)
    finally:
        consumer.close()


def _drop_finished(consumer: Any, topic: str, pending: set[int], ends: dict[int, int]) -> None:
    """Partitions whose position reached the end (transaction markers occupy the last offsets)."""
    for position in consumer.position([TopicPartition(topic, p) for p in list(pending)]):
        if position.offset >= ends[position.partition]:
            pending.discard(position.partition)


def _decode(value: bytes | None) -> dict[str, Any] | None:
    try:
        record = json.loads(value or b"")
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("format") == FORMAT else None


def find(settings: Settings, quarantine_id: str) -> dict[str, Any] | None:
    return next(iter(read_quarantine(settings, Filters(ids=frozenset({quarantine_id})))), None)


@dataclass
class ReplayReport:
    replayed: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (quarantine_id, why)


def replay(settings: Settings, records: Iterable[dict[str, Any]], *, dry_run: bool = False) -> ReplayReport:
    """Produce each record's event back to its raw topic; see the module docstring."""
    report = ReplayReport()
    producer = None if dry_run else make_producer(settings)
    failures: list[str] = []

    def delivered(quarantine_id: str) -> Callable[[Any, Any], None]:
        def callback(error: Any, _message: Any) -> None:
            if error is not None:
                failures.append(f"{quarantine_id}: {error}")

        return callback

    for record in records:
        quarantine_id = str(record.get("quarantine_id"))
        try:
            topic, partition, key, value, headers = _replay_message(settings, record)
        except (ValueError, KeyError, TypeError) as error:
            report.refused.append((quarantine_id, str(error)))
            continue
        if producer is not None:
            producer.produce(
                topic,
                value,
                key,
                partition=partition,
                headers=headers,
                on_delivery=delivered(quarantine_id),
            )
            producer.poll(0)
        report.replayed.append(quarantine_id)
    if producer is not None:
        left = producer.flush(30.0)
        if left or failures:
            raise RuntimeError(f"replay not acknowledged: {left} queued, failures {failures[:5]}")
    return report


def _replay_message(
    settings: Settings, record: dict[str, Any]
) -> tuple[str, int, bytes | None, bytes, list[tuple[str, str | bytes | None]]]:
    family = Family(record["family"])
    payload = record.get("payload") or {}
    original = base64.b64decode(payload["avro_b64"]) if payload.get("avro_b64") else None
    edited = payload.get("json")
    value = original
    if edited is not None and not _same_as_original(original, edited):
        try:
            validated = schemas.validate_event(family, edited)
        except schemas.ContractViolation as violation:
            raise ValueError(f"edited payload violates the contract: {violation}") from None
        if record.get("event_id") is not None and validated["event_id"] != record["event_id"]:
            raise ValueError(f"replay must keep event_id {record['event_id']!r}, got {validated['event_id']!r}")
        value = schemas.serializer().encode(family.value, validated)
    if value is None:
        raise ValueError("record has neither payload.avro_b64 nor payload.json")
    source = record["source"]
    key = base64.b64decode(source["key_b64"]) if source.get("key_b64") else None
    if key is None and edited is not None:
        key = schemas.partition_key(family, edited)
    headers: list[tuple[str, str | bytes | None]] = [
        (name, base64.b64decode(data)) for name, data in record.get("headers", []) if name != REPLAY_HEADER
    ]
    headers.append((REPLAY_HEADER, str(record["quarantine_id"]).encode()))
    return raw_topic(family, settings.kafka.topic_prefix), int(source["partition"]), key, value, headers


def _same_as_original(original: bytes | None, edited: dict[str, Any]) -> bool:
    if original is None:
        return False
    try:
        return schemas.to_json(schemas.serializer().decode(original).record) == edited
    except ValueError:
        return False
