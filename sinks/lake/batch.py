"""Per topic-partition batching, kept free of I/O so its boundary rules can be tested alone.

A batch starts where the previous one ended (the committed offset after a restart), is cut by
record count, value bytes, age, or when a record belongs to a later hour than the batch (so an
object never reaches into a later `hour=` partition). Records stamped with an earlier hour than
the batch (producer clock skew under CreateTime) stay in it rather than fragmenting objects.
When the sink learns that an object covering offsets up to N already exists, `skip_to(N + 1)`
drops what that object holds and re-batches the rest from N + 1, exactly as a restart would.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sinks.lake.layout import hour_bucket, object_key

RECORD_OVERHEAD = 1024
"""Approximate bytes of the dict, headers list and decoded fields the sink keeps per record."""


@dataclass(frozen=True)
class BatchLimits:
    max_records: int
    max_bytes: int
    max_seconds: float


@dataclass
class Batch:
    topic: str
    partition: int
    family: str
    start_offset: int
    bucket: int
    opened_at: float
    records: list[dict[str, Any]] = field(default_factory=list)
    value_bytes: int = 0

    @property
    def last_offset(self) -> int:
        return int(self.records[-1]["offset"])

    @property
    def key(self) -> str:
        return object_key(self.family, self.bucket, self.topic, self.partition, self.start_offset)

    def append(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        value = record["value"]
        if value is not None:
            self.value_bytes += len(value)


class PartitionBuffer:
    """The open batch, sealed batches waiting for upload, and the next batch's start offset."""

    def __init__(self, topic: str, partition: int, family: str, start_offset: int, limits: BatchLimits) -> None:
        self.topic = topic
        self.partition = partition
        self.family = family
        self.limits = limits
        self.position = start_offset
        self.committed = start_offset
        self.open: Batch | None = None
        self.sealed: deque[Batch] = deque()
        self.in_flight = False

    def accepts(self, offset: int) -> bool:
        return offset >= self.position

    @property
    def buffered_bytes(self) -> int:
        """Estimated memory held: value bytes plus ~1 KiB of Python objects per record."""
        batches = [*self.sealed, *([self.open] if self.open is not None else [])]
        return sum(batch.value_bytes + RECORD_OVERHEAD * len(batch.records) for batch in batches)

    def add(self, record: dict[str, Any], now: float) -> None:
        offset = int(record["offset"])
        if offset < self.position:
            raise ValueError(f"offset {offset} is before the partition position {self.position}")
        bucket = hour_bucket(record["kafka_timestamp"])
        if self.open is not None and bucket > self.open.bucket:
            self.seal()
        if self.open is None:
            self.open = Batch(self.topic, self.partition, self.family, self.position, bucket, now)
        self.open.append(record)
        self.position = offset + 1
        if len(self.open.records) >= self.limits.max_records or self.open.value_bytes >= self.limits.max_bytes:
            self.seal()

    def seal(self) -> None:
        if self.open is not None:
            self.sealed.append(self.open)
            self.open = None

    def seal_if_due(self, now: float) -> bool:
        if self.open is not None and now - self.open.opened_at >= self.limits.max_seconds:
            self.seal()
            return True
        return False

    def next_deadline(self) -> float | None:
        return None if self.open is None else self.open.opened_at + self.limits.max_seconds

    def take_sealed(self) -> Batch | None:
        return self.sealed.popleft() if self.sealed else None

    def skip_to(self, offset: int, unwritten: Batch | None = None) -> bool:
        """Drop everything before `offset` (already in the lake) and re-batch the rest from there.

        `unwritten` is the batch whose upload found the existing object: its records past that
        object's end are not in the lake yet and are re-batched with the rest. Returns True when
        `offset` lies beyond what was consumed, so the consumer should seek.
        """
        pending = [*([unwritten] if unwritten is not None else []), *self.sealed]
        pending += [self.open] if self.open is not None else []
        kept = [
            (batch.opened_at, record) for batch in pending for record in batch.records if record["offset"] >= offset
        ]
        must_seek = offset > self.position
        self.sealed.clear()
        self.open = None
        self.position = max(self.position, offset) if not kept else offset
        for opened_at, record in kept:
            self.add(record, opened_at)
        self.committed = max(self.committed, offset)
        return must_seek
