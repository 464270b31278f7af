"""S3-compatible object storage (MinIO here) through one aioboto3 session per process.

The lake is write-once: `put_object_if_absent` sends `If-None-Match: *`, so a writer that crashed
after a successful upload and retries cannot replace or duplicate an object.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import aioboto3
from botocore.config import Config
from botocore.exceptions import ClientError

from platform_common.config import Settings, get_settings


@lru_cache(maxsize=1)
def _session() -> aioboto3.Session:
    return aioboto3.Session()


def client_kwargs(settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or get_settings()
    return {
        "endpoint_url": settings.s3.endpoint_url,
        "aws_access_key_id": settings.s3.access_key,
        "aws_secret_access_key": settings.s3.secret_key.get_secret_value(),
        "region_name": settings.s3.region,
        "config": Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 5, "mode": "standard"},
            signature_version="s3v4",
        ),
    }


def s3_client(settings: Settings | None = None) -> AbstractAsyncContextManager[Any]:
    """`async with s3_client() as s3:` — an aiobotocore S3 client for the configured endpoint."""
    client: AbstractAsyncContextManager[Any] = _session().client("s3", **client_kwargs(settings))
    return client


@dataclass(frozen=True)
class PutResult:
    key: str
    created: bool
    etag: str | None


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


async def put_object_if_absent(s3: Any, bucket: str, key: str, body: bytes, **extra: Any) -> PutResult:
    """Write `body` unless `key` exists; an existing object is never touched (HTTP 412)."""
    try:
        response = await s3.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*", **extra)
    except ClientError as error:
        if _error_code(error) in {"PreconditionFailed", "412", "ConditionalRequestConflict"}:
            return PutResult(key, False, None)
        raise
    return PutResult(key, True, response.get("ETag"))


async def ensure_bucket(s3: Any, bucket: str) -> bool:
    """Create the bucket when missing; returns True when it was created."""
    try:
        await s3.head_bucket(Bucket=bucket)
        return False
    except ClientError as error:
        if _error_code(error) not in {"404", "NoSuchBucket", "NotFound"}:
            raise
    try:
        await s3.create_bucket(Bucket=bucket)
    except ClientError as error:
        if _error_code(error) in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
            return False
        raise
    return True


async def ensure_lake_bucket(settings: Settings | None = None) -> bool:
    settings = settings or get_settings()
    async with s3_client(settings) as s3:
        return await ensure_bucket(s3, settings.s3.lake_bucket)
