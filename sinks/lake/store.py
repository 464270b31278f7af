"""Write-once persistence of one batch: data object first, manifest second, both `If-None-Match: *`.

If the data key already exists, some earlier run (crashed before committing, or a fenced-out
replica) already archived a batch starting at this offset. The object is never replaced: its
manifest is read (or rebuilt from the object when that run died before writing it) and the
caller skips to the object's end. That is what keeps objects from overlapping even though
time-based flushes cut batches at different offsets after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from platform_common.logging import TRACE_HEADER, trace_ids_field
from platform_common.s3 import put_object_if_absent
from sinks.lake.batch import Batch, PartitionBuffer
from sinks.lake.layout import manifest_key
from sinks.lake.manifest import Manifest
from sinks.lake.objects import build_manifest, encode_batch, rebuild_manifest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlushResult:
    buffer: PartitionBuffer
    batch: Batch
    created: bool
    manifest: Manifest
    seconds: float

    @property
    def next_offset(self) -> int:
        return self.manifest.end_offset + 1


def _trace_ids(batch: Batch) -> Iterator[bytes | None]:
    """The `trace_id` header of each record: the gateway request that sent it, if any."""
    for record in batch.records:
        for header in record["headers"]:
            if header["key"] == TRACE_HEADER:
                yield header["value"]
                break


class LakeStore:
    def __init__(self, s3: Any, bucket: str, codec: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.codec = codec

    async def write(self, buffer: PartitionBuffer, batch: Batch) -> FlushResult:
        started = time.perf_counter()
        body = await asyncio.to_thread(encode_batch, batch, self.codec)
        manifest = build_manifest(batch, body, self.codec)
        put = await put_object_if_absent(
            self.s3,
            self.bucket,
            batch.key,
            body,
            ContentType="application/avro",
            Metadata={"end-offset": str(manifest.end_offset), "sha256": manifest.sha256},
        )
        if put.created:
            await self.put_manifest(manifest)
            log.info(
                "lake object written",
                extra={
                    "key": batch.key,
                    "records": len(batch.records),
                    "start_offset": manifest.start_offset,
                    "end_offset": manifest.end_offset,
                    **trace_ids_field(_trace_ids(batch)),
                },
            )
            return FlushResult(buffer, batch, True, manifest, time.perf_counter() - started)
        existing = await self.existing_manifest(batch.key)
        log.info(
            "lake object already exists; skipping past it",
            extra={"key": batch.key, "end_offset": existing.end_offset, "batch_end": manifest.end_offset},
        )
        return FlushResult(buffer, batch, False, existing, time.perf_counter() - started)

    async def put_manifest(self, manifest: Manifest) -> None:
        await put_object_if_absent(
            self.s3,
            self.bucket,
            manifest_key(manifest.key),
            manifest.to_json_bytes(),
            ContentType="application/json",
        )

    async def existing_manifest(self, key: str) -> Manifest:
        """The manifest of an existing object, written now if its writer died before doing so."""
        stored = await self._get(manifest_key(key))
        if stored is not None:
            return Manifest.from_json_bytes(stored)
        body = await self._get(key)
        if body is None:
            raise RuntimeError(f"lake object {key} was reported as existing but cannot be read")
        manifest = await asyncio.to_thread(rebuild_manifest, key, body)
        await self.put_manifest(manifest)
        log.warning("rebuilt a missing lake manifest", extra={"key": key})
        return manifest

    async def _get(self, key: str) -> bytes | None:
        try:
            response = await self.s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code", "")) in {"NoSuchKey", "404", "NotFound"}:
                return None
            raise
        async with response["Body"] as stream:
            data: bytes = await stream.read()
        return data
