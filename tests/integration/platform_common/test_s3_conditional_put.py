from __future__ import annotations

import asyncio

import pytest
from botocore.exceptions import ClientError

from platform_common.config import Settings
from platform_common.s3 import put_object_if_absent, s3_client

pytestmark = pytest.mark.integration


def test_second_write_to_same_key_is_refused_and_object_unchanged(stack: Settings, unique_name: str) -> None:
    bucket = stack.s3.lake_bucket
    key = f"tests/conditional/{unique_name}.bin"

    async def scenario() -> tuple[bool, bool, int, bytes]:
        async with s3_client(stack) as s3:
            first = await put_object_if_absent(s3, bucket, key, b"first version")
            second = await put_object_if_absent(s3, bucket, key, b"second version")
            # The raw request is answered 412 Precondition Failed by the server itself.
            try:
                await s3.put_object(Bucket=bucket, Key=key, Body=b"third", IfNoneMatch="*")
                status = 200
            except ClientError as error:
                status = int(error.response["ResponseMetadata"]["HTTPStatusCode"])
            stored = await s3.get_object(Bucket=bucket, Key=key)
            body = await stored["Body"].read()
            await s3.delete_object(Bucket=bucket, Key=key)
            return first.created, second.created, status, body

    first_created, second_created, status, body = asyncio.run(scenario())
    assert first_created is True
    assert second_created is False
    assert status == 412
    assert body == b"first version"
