"""Per-partition processor state and its changelog encoding.

State is partitioned exactly like the raw topics (all families are keyed so that one customer's
events share a partition number), so a worker owns the state of the partitions it consumes and
Faust restores it from two changelog topics when partitions move:

* `seen` (cleanup.policy=delete, retention = de-dup window + 1 day): one record per processed
  batch and partition, key `"<partition>:<created_us>:<n>"`, value an 8-byte creation time then
  32 bytes per event marked seen clean (`<QQQQ`: event key low/high 64 bits, payload fingerprint,
  source = topic index << 56 | offset). Batching keeps both the write rate and the memory per
  event small; the retention window bounds memory and disk.
* `state` (compacted): `w|<family>|<p>` watermark source (max event time, µs), `n|<family>|<p>`
  event counts, `s|<subscription_id>` `[status, status_time_us]`, `p|<id>` a parked event
  (tombstoned when released or expired).
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from hashlib import blake2b
from typing import Any

from platform_common.topics import Family

SEEN_ENTRY = struct.Struct("<QQQQ")
BLOB_HEADER = struct.Struct("<Q")
MICROS_PER_HOUR = 3_600_000_000
_LOW64 = (1 << 64) - 1


_KEY_PREFIX = {family: f"{family.value}\x00" for family in Family}
_COUNTS_KEY = {family: b"n|" + family.value.encode() for family in Family}
_WATERMARK_KEY = {family: b"w|" + family.value.encode() for family in Family}


def event_key(family: Family, event_id: str) -> int:
    """128-bit identity of (family, event_id): collisions are not a practical concern."""
    digest = blake2b((_KEY_PREFIX[family] + event_id).encode(), digest_size=16).digest()
    return int.from_bytes(digest, "little")


@dataclass(frozen=True, slots=True)
class SeenEntry:
    fingerprint: bytes
    source: int  # topic index << 56 | offset of the message that was emitted clean
    first_seen_hour: int


class SeenIndex:
    """event key -> (fingerprint, source, hour first seen), one packed int per event."""

    def __init__(self, retention_us: int) -> None:
        self.retention_hours = max(1, retention_us // MICROS_PER_HOUR)
        self.entries: dict[int, int] = {}
        self.pending: list[bytes] = []

    def get(self, key: int, now_us: int) -> SeenEntry | None:
        packed = self.entries.get(key)
        if packed is None:
            return None
        hour = packed >> 128
        if now_us // MICROS_PER_HOUR - hour > self.retention_hours:
            del self.entries[key]
            return None
        return SeenEntry((packed & _LOW64).to_bytes(8, "little"), (packed >> 64) & _LOW64, hour)

    def add(self, key: int, fingerprint: bytes, source: int, now_us: int) -> None:
        fp = int.from_bytes(fingerprint, "little")
        self.entries[key] = ((now_us // MICROS_PER_HOUR) << 128) | (source << 64) | fp
        self.pending.append(SEEN_ENTRY.pack(key & _LOW64, key >> 64, fp, source))

    def load_blob(self, value: bytes) -> None:
        (created_us,) = BLOB_HEADER.unpack_from(value)
        hour = created_us // MICROS_PER_HOUR
        entries = self.entries
        for low, high, fp, source in SEEN_ENTRY.iter_unpack(memoryview(value)[BLOB_HEADER.size :]):
            entries[(high << 64) | low] = (hour << 128) | (source << 64) | fp

    def take_blob(self, now_us: int) -> bytes | None:
        if not self.pending:
            return None
        blob = BLOB_HEADER.pack(now_us) + b"".join(self.pending)
        self.pending.clear()
        return blob

    def expire(self, now_us: int) -> int:
        oldest = now_us // MICROS_PER_HOUR - self.retention_hours
        stale = [key for key, packed in self.entries.items() if packed >> 128 < oldest]
        for key in stale:
            del self.entries[key]
        return len(stale)


@dataclass
class Counts:
    """Per family and partition: raw == clean + sum(quarantined) + duplicate + parked, always."""

    raw: int = 0
    clean: int = 0
    late: int = 0
    duplicate: int = 0
    parked: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    next_offset: int = 0  # raw-topic offset after the last message counted

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())

    @property
    def balanced(self) -> bool:
        return self.raw == self.clean + self.quarantined_total + self.duplicate + self.parked


@dataclass(frozen=True)
class ParkedEvent:
    """A raw message waiting for its subscription to become known."""

    family: str
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp_ms: int
    headers: tuple[tuple[str, bytes], ...]
    first_seen_us: int
    subscription_id: str

    @property
    def parked_id(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"

    def to_json(self) -> bytes:
        document: dict[str, Any] = asdict(self)
        document["key"] = None if self.key is None else base64.b64encode(self.key).decode()
        document["value"] = base64.b64encode(self.value).decode()
        document["headers"] = [[name, base64.b64encode(value).decode()] for name, value in self.headers]
        return json.dumps(document, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> ParkedEvent:
        document = json.loads(data)
        document["key"] = None if document["key"] is None else base64.b64decode(document["key"])
        document["value"] = base64.b64decode(document["value"])
        document["headers"] = tuple((name, base64.b64decode(value)) for name, value in document["headers"])
        return cls(**document)


class PartitionState:
    """Everything the processor remembers for one partition number, and what changed since."""

    def __init__(self, retention_us: int) -> None:
        self.seen = SeenIndex(retention_us)
        self.watermarks: dict[Family, int] = {}
        self.subscriptions: dict[str, tuple[str, int]] = {}
        self.parked: dict[str, ParkedEvent] = {}
        self.parked_by_subscription: dict[str, list[str]] = {}
        self.counts: dict[Family, Counts] = {family: Counts() for family in Family}
        self._dirty: set[bytes] = set()

    def counts_for(self, family: Family) -> Counts:
        self._dirty.add(_COUNTS_KEY[family])
        return self.counts[family]

    def set_watermark(self, family: Family, event_us: int) -> None:
        self.watermarks[family] = event_us
        self._dirty.add(_WATERMARK_KEY[family])

    def set_subscription(self, subscription_id: str, status: str, status_us: int) -> None:
        self.subscriptions[subscription_id] = (status, status_us)
        self._dirty.add(b"s|" + subscription_id.encode())

    def park(self, event: ParkedEvent) -> None:
        if event.parked_id not in self.parked:
            self.parked_by_subscription.setdefault(event.subscription_id, []).append(event.parked_id)
        self.parked[event.parked_id] = event
        self._dirty.add(b"p|" + event.parked_id.encode())

    def unpark(self, parked_id: str) -> ParkedEvent | None:
        event = self.parked.pop(parked_id, None)
        if event is not None:
            waiting = self.parked_by_subscription.get(event.subscription_id, [])
            if parked_id in waiting:
                waiting.remove(parked_id)
            if not waiting:
                self.parked_by_subscription.pop(event.subscription_id, None)
            self._dirty.add(b"p|" + parked_id.encode())
        return event

    def drain(self, partition: int, now_us: int) -> tuple[bytes | None, list[tuple[bytes, bytes | None]]]:
        """The seen blob and the state records written since the last drain."""
        records = [(key, self._encode(key, partition)) for key in sorted(self._dirty)]
        self._dirty.clear()
        return self.seen.take_blob(now_us), [
            (key + b"|%d" % partition if key[:2] in (b"n|", b"w|") else key, value) for key, value in records
        ]

    def _encode(self, key: bytes, partition: int) -> bytes | None:
        kind, name = key[:2], key[2:].decode()
        if kind == b"w|":
            return b"%d" % self.watermarks[Family(name)]
        if kind == b"n|":
            # vars(), not asdict(): asdict deep-copies recursively, a visible cost per batch at low rates
            return json.dumps(vars(self.counts[Family(name)]), separators=(",", ":")).encode()
        if kind == b"s|":
            status, status_us = self.subscriptions[name]
            return json.dumps([status, status_us]).encode()
        parked = self.parked.get(name)
        return None if parked is None else parked.to_json()

    def apply(self, key: bytes, value: bytes | None) -> None:
        """Restore one `state` changelog record (keys as written by `drain`)."""
        kind, rest = key[:2], key[2:].decode()
        if kind in (b"w|", b"n|"):
            family = Family(rest.rsplit("|", 1)[0])
            if value is None:
                return
            # Both only move forward; a replayed or re-ordered older record never rolls them back.
            if kind == b"w|":
                self.watermarks[family] = max(int(value), self.watermarks.get(family, int(value)))
            else:
                counts = Counts(**json.loads(value))
                if counts.next_offset >= self.counts[family].next_offset:
                    self.counts[family] = counts
        elif kind == b"s|" and value is not None:
            status, status_us = json.loads(value)
            self.subscriptions[rest] = (status, int(status_us))
        elif kind == b"p|":
            self.unpark(rest)
            if value is not None:
                self.park(ParkedEvent.from_json(value))
            self._dirty.discard(key)

    def parked_events(self) -> Iterator[ParkedEvent]:
        return iter(list(self.parked.values()))
