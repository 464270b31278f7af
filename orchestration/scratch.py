"""A throw-away stack on the real services: own database, topic prefix and lake bucket.

Used by the e2e benchmark and the orchestration tests that need a pipeline of their own for a
whole module; everything it creates is removed on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

from platform_common.config import Settings
from platform_common.kafka import ensure_standard_topics, make_admin
from platform_common.postgres import Role, apply_migrations, connect, create_database, drop_database, ensure_login_roles
from platform_common.s3 import ensure_bucket, s3_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _bucket(settings: Settings, create: bool) -> None:
    bucket = settings.s3.lake_bucket
    async with s3_client(settings) as s3:
        if create:
            await ensure_bucket(s3, bucket)
            return
        paginator = s3.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                await s3.delete_object(Bucket=bucket, Key=item["Key"])
        await s3.delete_bucket(Bucket=bucket)


@contextlib.contextmanager
def scratch_stack(base: Settings, data_dir: Path, label: str = "scratch") -> Iterator[Settings]:
    """Settings for a new database, topic prefix, bucket, data folder and free API ports."""
    name = f"{label}_{uuid.uuid4().hex[:10]}"
    database, prefix, bucket = f"ledgerline_{name}", f"{name}.", name.replace("_", "-")
    with connect(Role.ADMIN, base, autocommit=True, dbname="postgres") as conn:
        create_database(conn, database)
    settings = base.model_copy(
        update={
            "postgres": base.postgres.model_copy(update={"database": database}),
            "kafka": base.kafka.model_copy(update={"topic_prefix": prefix}),
            "s3": base.s3.model_copy(update={"lake_bucket": bucket}),
            "services": base.services.model_copy(update={"data_dir": data_dir}),
            "api": base.api.model_copy(update={"gateway_port": free_port(), "query_port": free_port()}),
        }
    )
    try:
        apply_migrations(settings)
        ensure_login_roles(settings)
        ensure_standard_topics(settings)
        asyncio.run(_bucket(settings, True))
        yield settings
    finally:
        admin = make_admin(settings)
        names = [topic for topic in admin.list_topics(timeout=10).topics if topic.startswith(prefix)]
        if names:
            for future in admin.delete_topics(names, operation_timeout=30).values():
                with contextlib.suppress(Exception):
                    future.result(timeout=30)
        with contextlib.suppress(Exception):
            asyncio.run(_bucket(settings, False))
        with connect(Role.ADMIN, base, autocommit=True, dbname="postgres") as conn:
            drop_database(conn, database)
