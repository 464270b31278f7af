"""Reading the lake back, for orchestration's backfill and reconcile flows.

Synchronous on purpose (a plain boto3 client built from the shared S3 settings): the callers
are Prefect tasks and CLIs that iterate records, and a sync iterator works from inside and
outside an event loop alike. Objects are bounded by the batch limits, so an object is fetched
whole and then decoded lazily.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.exceptions import ClientError

from platform_common.config import Settings, get_settings
from platform_common.s3 import client_kwargs
from platform_common.topics import Family
from sinks.lake.envelope import LakeRecord
from sinks.lake.layout import (
    MANIFEST_PREFIX,
    LakeObject,
    data_key_of_manifest,
    manifest_key,
    parse_key,
    partition_prefix,
)
from sinks.lake.manifest import Manifest
from sinks.lake.objects import iter_lake_records

_HOUR = timedelta(hours=1)


class LakeReader:
    """One S3 client over the lake bucket; reuse it for many calls (each module-level helper below
    builds a new one)."""

    def __init__(self, settings: Settings | None = None, bucket: str | None = None) -> None:
        self.settings = settings or get_settings()
        self.bucket = bucket or self.settings.s3.lake_bucket
        self._s3: Any = boto3.session.Session().client("s3", **client_kwargs(self.settings))

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield str(item["Key"])

    def list_objects(
        self, family: Family | str | None = None, start: datetime | None = None, end: datetime | None = None
    ) -> list[LakeObject]:
        """Data objects whose `hour=` partition overlaps [start, end), sorted by key.

        A partition hour is the Kafka (arrival) timestamp of the object's first record; records
        stamped earlier by a skewed producer clock can sit in the following hour's object, so
        a backfill that filters records by timestamp should widen `start` by the tolerated skew.
        """
        families = [_family_name(family)] if family is not None else self._families()
        found: list[LakeObject] = []
        for name in families:
            for prefix in _day_prefixes(name, start, end):
                for key in self.list_keys(prefix):
                    if not key.endswith(".avro"):
                        continue
                    item = parse_key(key)
                    if (start is None or item.hour + _HOUR > _aware(start)) and (
                        end is None or item.hour < _aware(end)
                    ):
                        found.append(item)
        return sorted(found)

    def read_bytes(self, key: str) -> bytes:
        response = self._s3.get_object(Bucket=self.bucket, Key=key)
        data: bytes = response["Body"].read()
        return data

    def read_object(self, key: str, expected_sha256: str | None = None) -> Iterator[LakeRecord]:
        """The records of one object in offset order; checks the checksum first when given one."""
        body = self.read_bytes(key)
        if expected_sha256 is not None and hashlib.sha256(body).hexdigest() != expected_sha256:
            raise ValueError(f"{key}: checksum does not match its manifest")
        return iter_lake_records(body)

    def read_manifest(self, key: str) -> Manifest | None:
        """The manifest of data object `key`, or None when it has none."""
        try:
            return Manifest.from_json_bytes(self.read_bytes(manifest_key(key)))
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code", "")) in {"NoSuchKey", "404", "NotFound"}:
                return None
            raise

    def iter_manifests(
        self, family: Family | str | None = None, start: datetime | None = None, end: datetime | None = None
    ) -> Iterator[Manifest]:
        for item in self.list_objects(family, start, end):
            manifest = self.read_manifest(item.key)
            if manifest is not None:
                yield manifest

    def manifest_keys(
        self, family: Family | str | None = None, start: datetime | None = None, end: datetime | None = None
    ) -> list[str]:
        """Data keys that have a manifest, listed from `_manifests/` (whole days of the window)."""
        families = [_family_name(family)] if family is not None else None
        if families is None:
            prefixes = [MANIFEST_PREFIX]
        else:
            prefixes = [MANIFEST_PREFIX + prefix for name in families for prefix in _day_prefixes(name, start, end)]
        return [
            data_key_of_manifest(key) for prefix in prefixes for key in self.list_keys(prefix) if key.endswith(".json")
        ]

    def _families(self) -> list[str]:
        response = self._s3.list_objects_v2(Bucket=self.bucket, Delimiter="/")
        names = []
        for item in response.get("CommonPrefixes", []):
            prefix = str(item["Prefix"])
            if prefix.startswith("family="):
                names.append(prefix[len("family=") : -1])
        return sorted(names)


def _family_name(family: Family | str) -> str:
    return family.value if isinstance(family, Family) else str(family)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("lake time bounds must be timezone-aware")
    return value.astimezone(UTC)


def _day_prefixes(family: str, start: datetime | None, end: datetime | None) -> list[str]:
    if start is None or end is None:
        return [f"family={family}/"]
    day = _aware(start).replace(hour=0, minute=0, second=0, microsecond=0)
    prefixes = []
    while day < _aware(end):
        prefixes.append(partition_prefix(family, day))
        day += timedelta(days=1)
    return prefixes


def list_objects(
    family: Family | str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    settings: Settings | None = None,
) -> list[LakeObject]:
    return LakeReader(settings).list_objects(family, start, end)


def read_object(
    key: str, *, settings: Settings | None = None, expected_sha256: str | None = None
) -> Iterator[LakeRecord]:
    return LakeReader(settings).read_object(key, expected_sha256)


def iter_manifests(
    family: Family | str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    settings: Settings | None = None,
) -> Iterator[Manifest]:
    return LakeReader(settings).iter_manifests(family, start, end)
