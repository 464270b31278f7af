"""Reconciling the lake with itself: every object has a matching manifest, and per topic-partition
the objects tile the offsets with no gap and no overlap.

A gap between two objects means records were never archived (or were deleted by retention
before the sink read them); an overlap would mean the same record is archived twice. Neither
may happen, so `verify` is what tests, and the reconcile flow, hold the sink to.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from platform_common.config import Settings
from platform_common.topics import Family
from sinks.lake.envelope import EPOCH, QUARANTINE_FAMILY
from sinks.lake.layout import LakeObject, parse_key
from sinks.lake.manifest import Manifest
from sinks.lake.objects import rebuild_manifest
from sinks.lake.reader import LakeReader


@dataclass(frozen=True)
class Problem:
    kind: str
    key: str
    detail: str


@dataclass
class VerifyReport:
    objects: int = 0
    records: int = 0
    bytes: int = 0
    problems: list[Problem] = field(default_factory=list)
    ranges: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    """`topic/partition` -> the inclusive offset ranges the lake covers, coalesced."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "objects": self.objects,
            "records": self.records,
            "bytes": self.bytes,
            "ranges": self.ranges,
            "problems": [problem.__dict__ for problem in self.problems],
        }


def check_chain(
    manifests: Iterable[Manifest], dense_offsets: bool = True
) -> tuple[list[Problem], dict[str, list[tuple[int, int]]]]:
    """Gaps, overlaps and impossible ranges among manifests, per topic-partition.

    With `dense_offsets` an object of a raw topic must also hold every offset of its range:
    raw topics are written by idempotent, non-transactional producers, so every offset is a
    record. The quarantine is exempt: the stream processor writes it in transactions, whose
    commit markers take offsets without being records. Turn it off for transactional raw topics.
    """
    problems: list[Problem] = []
    by_partition: dict[tuple[str, int], list[Manifest]] = defaultdict(list)
    for manifest in manifests:
        by_partition[(manifest.topic, manifest.partition)].append(manifest)
        if not (
            manifest.start_offset <= manifest.first_offset <= manifest.end_offset
            and 1 <= manifest.record_count <= manifest.end_offset - manifest.first_offset + 1
        ):
            problems.append(Problem("bad_range", manifest.key, _span(manifest)))
        elif (
            dense_offsets
            and manifest.family != QUARANTINE_FAMILY
            and manifest.record_count != manifest.end_offset - manifest.start_offset + 1
        ):
            problems.append(Problem("offset_holes", manifest.key, _span(manifest)))
    ranges: dict[str, list[tuple[int, int]]] = {}
    for (topic, partition), items in sorted(by_partition.items()):
        items.sort(key=lambda item: (item.start_offset, item.end_offset))
        covered: list[tuple[int, int]] = []
        for previous, current in itertools.pairwise(items):
            if current.start_offset > previous.end_offset + 1:
                problems.append(
                    Problem("gap", current.key, f"offsets {previous.end_offset + 1}..{current.start_offset - 1}")
                )
            elif current.start_offset <= previous.end_offset:
                problems.append(Problem("overlap", current.key, f"{_span(current)} overlaps {previous.key}"))
        for item in items:
            if covered and item.start_offset <= covered[-1][1] + 1:
                covered[-1] = (covered[-1][0], max(covered[-1][1], item.end_offset))
            else:
                covered.append((item.start_offset, item.end_offset))
        ranges[f"{topic}/{partition}"] = covered
    return problems, ranges


def check_object(item: LakeObject, manifest: Manifest, body: bytes) -> list[Problem]:
    """Recompute the manifest from the object's bytes and compare, field by field; also check that
    every record belongs to the object's topic-partition, offsets strictly increase and the key's
    hour is the arrival hour of the first record."""
    problems: list[Problem] = []
    last_offset = [-1]

    def check_record(record: dict[str, Any]) -> None:
        if (record["topic"], record["partition"]) != (item.topic, item.partition):
            raise ValueError(f"record of {record['topic']}/{record['partition']} in this object")
        first_hour = record["kafka_timestamp"].replace(minute=0, second=0, microsecond=0)
        if last_offset[0] < 0 and max(first_hour, EPOCH) != item.hour:
            raise ValueError(f"first record arrived {record['kafka_timestamp']}, key says hour {item.hour}")
        if record["offset"] <= last_offset[0]:
            raise ValueError(f"offset {record['offset']} after {last_offset[0]}")
        last_offset[0] = record["offset"]

    digest = hashlib.sha256(body).hexdigest()
    if digest != manifest.sha256:
        return [Problem("checksum_mismatch", item.key, f"{digest} != manifest {manifest.sha256}")]
    try:
        rebuilt = rebuild_manifest(item.key, body, check_record)
    except Exception as error:  # noqa: BLE001 - an unreadable object is a finding, not a crash
        return [Problem("bad_object", item.key, repr(error))]
    differing = [name for name in Manifest.model_fields if getattr(rebuilt, name) != getattr(manifest, name)]
    if differing:
        problems.append(Problem("manifest_mismatch", item.key, f"fields differ: {differing}"))
    return problems


def verify(
    family: Family | str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    settings: Settings | None = None,
    checksums: bool = True,
    dense_offsets: bool = True,
    reader: LakeReader | None = None,
    on_object: Callable[[LakeObject], None] | None = None,
) -> VerifyReport:
    """Check objects (optionally of one family and time window) against manifests and each other.

    With `checksums` every object is downloaded and its manifest recomputed; without, only the
    manifests are read (fast enough to run on every reconcile). See `check_chain` for
    `dense_offsets`.
    """
    reader = reader or LakeReader(settings)
    report = VerifyReport()
    objects = reader.list_objects(family, start, end)
    object_keys = {item.key for item in objects}
    manifests: list[Manifest] = []
    for item in objects:
        if on_object is not None:
            on_object(item)
        manifest = reader.read_manifest(item.key)
        report.objects += 1
        if manifest is None:
            report.problems.append(Problem("missing_manifest", item.key, "object has no manifest"))
            continue
        identity = (manifest.key, manifest.topic, manifest.partition, manifest.start_offset, manifest.family)
        if identity != (item.key, item.topic, item.partition, item.start_offset, item.family):
            report.problems.append(Problem("manifest_mismatch", item.key, "manifest names another object"))
        if checksums:
            report.problems.extend(check_object(item, manifest, reader.read_bytes(item.key)))
        report.records += manifest.record_count
        report.bytes += manifest.size_bytes
        manifests.append(manifest)
    for key in reader.manifest_keys(family, start, end):
        if key not in object_keys and _in_window(key, start, end):
            report.problems.append(Problem("orphan_manifest", key, "manifest without its object"))
    chain_problems, report.ranges = check_chain(manifests, dense_offsets)
    report.problems.extend(chain_problems)
    return report


def _in_window(key: str, start: datetime | None, end: datetime | None) -> bool:
    try:
        hour = parse_key(key).hour
    except ValueError:
        return True
    return (start is None or hour.timestamp() + 3600 > start.timestamp()) and (
        end is None or hour.timestamp() < end.timestamp()
    )


def _span(manifest: Manifest) -> str:
    return (
        f"start {manifest.start_offset} first {manifest.first_offset} end {manifest.end_offset} "
        f"count {manifest.record_count}"
    )
