"""Object keys: `family=<f>/date=YYYY-MM-DD/hour=HH/<topic>+<partition>+<start offset>.avro`.

The time partition comes from the Kafka record timestamp of the object's first record (arrival
time), so new data only ever lands in the current hour and a partition's objects are
append-only. The name carries the start offset only: the end of a batch depends on when a
time-based flush fired, which differs across restarts, while the start is always the committed
offset. Two writers that re-consume the same offsets therefore compute the same key, and
`If-None-Match: *` lets only one of them create it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from platform_common.topics import Family, quarantine_topic, raw_topic
from sinks.lake.envelope import EPOCH, QUARANTINE_FAMILY

HOUR_MS = 3_600_000
MANIFEST_PREFIX = "_manifests/"
OBJECT_SUFFIX = ".avro"
_NAME = re.compile(
    r"^family=(?P<family>[^/]+)/date=(?P<date>\d{4}-\d{2}-\d{2})/hour=(?P<hour>\d{2})/"
    r"(?P<topic>[^/]+)\+(?P<partition>\d+)\+(?P<start>\d{20})\.avro$"
)


@dataclass(frozen=True, order=True)
class LakeObject:
    """A data object's identity, parsed from its key alone."""

    key: str
    family: str
    hour: datetime
    topic: str
    partition: int
    start_offset: int


def hour_bucket(ts_ms: int) -> int:
    """Hours since the epoch; records without a timestamp (-1) go to the epoch, deterministically."""
    return max(ts_ms, 0) // HOUR_MS


def object_key(family: str, bucket: int, topic: str, partition: int, start_offset: int) -> str:
    hour = EPOCH + timedelta(hours=bucket)
    return f"{partition_prefix(family, hour)}hour={hour:%H}/{topic}+{partition:05d}+{start_offset:020d}{OBJECT_SUFFIX}"


def partition_prefix(family: str, day: datetime) -> str:
    return f"family={family}/date={day.astimezone(UTC):%Y-%m-%d}/"


def manifest_key(key: str) -> str:
    return f"{MANIFEST_PREFIX}{key}.json"


def data_key_of_manifest(key: str) -> str:
    if not key.startswith(MANIFEST_PREFIX) or not key.endswith(".json"):
        raise ValueError(f"not a manifest key: {key!r}")
    return key[len(MANIFEST_PREFIX) : -len(".json")]


def parse_key(key: str) -> LakeObject:
    match = _NAME.match(key)
    if match is None:
        raise ValueError(f"not a lake object key: {key!r}")
    hour = datetime.strptime(f"{match['date']} {match['hour']}", "%Y-%m-%d %H").replace(tzinfo=UTC)
    return LakeObject(key, match["family"], hour, match["topic"], int(match["partition"]), int(match["start"]))


def topic_families(prefix: str, include_quarantine: bool = True) -> dict[str, str]:
    """Topic name -> the `family=` partition it is archived under.

    The quarantine topic gets its own partition: its records are mostly copies of raw records,
    and mixing them into `family=<f>` would double-count them in a backfill of that family.
    """
    topics = {raw_topic(family, prefix): family.value for family in Family}
    if include_quarantine:
        topics[quarantine_topic(prefix)] = QUARANTINE_FAMILY
    return topics
