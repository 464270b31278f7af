"""Shared fixtures. The real services are started once per session (idempotently: a stack that
is already up, e.g. started by `.ci/run`, is only health-checked) and never stopped here.

Isolation: tests never share mutable state through the real services. `fresh_database` gives a
new database with every migration applied, `isolated_topics` a unique topic prefix with the
standard topics created, `isolated_bucket` a new lake bucket; `isolated_stack` combines them.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import pytest
from psycopg import sql

from platform_common.config import Settings, get_settings
from platform_common.kafka import ensure_standard_topics, make_admin
from platform_common.postgres import Role, apply_migrations, connect, ensure_login_roles
from platform_common.s3 import ensure_bucket, s3_client


@pytest.fixture(scope="session")
def settings() -> Settings:
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Settings:
    """The native stack, healthy, with topics, bucket and migrations in place."""
    from deploy.local_stack import status, up
    from platform_common.bootstrap import set_up_platform

    if os.environ.get("LEDGERLINE_TEST_SKIP_SERVICES_UP") != "1" and not all(
        item.state == "up" for item in status(settings, ["postgres", "kafka", "minio"])
    ):
        up(settings, ["postgres", "kafka", "minio"])
    set_up_platform(settings)
    return settings


@pytest.fixture
def unique_name() -> str:
    """A short unique suffix so concurrent tests and reruns never share topics, keys or tables."""
    return uuid.uuid4().hex[:12]


def _with(settings: Settings, **groups: dict[str, object]) -> Settings:
    return settings.model_copy(
        update={name: getattr(settings, name).model_copy(update=values) for name, values in groups.items()}
    )


@pytest.fixture
def fresh_database(stack: Settings, unique_name: str) -> Iterator[Settings]:
    """Settings pointing at a brand-new database with all migrations and login roles applied."""
    name = f"ledgerline_test_{unique_name}"
    with connect(Role.ADMIN, stack, autocommit=True, dbname="postgres") as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    isolated = _with(stack, postgres={"database": name})
    try:
        apply_migrations(isolated)
        ensure_login_roles(isolated)
        yield isolated
    finally:
        with connect(Role.ADMIN, stack, autocommit=True, dbname="postgres") as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def isolated_topics(stack: Settings, unique_name: str) -> Iterator[Settings]:
    """Settings with a unique topic prefix; the standard topics exist under it (deleted after)."""
    prefix = f"test-{unique_name}."
    isolated = _with(stack, kafka={"topic_prefix": prefix})
    ensure_standard_topics(isolated)
    yield isolated
    admin = make_admin(isolated)
    names = [name for name in admin.list_topics(timeout=10).topics if name.startswith(prefix)]
    if names:
        for future in admin.delete_topics(names, operation_timeout=30).values():
            future.result(timeout=30)


@pytest.fixture
def isolated_bucket(stack: Settings, unique_name: str) -> Iterator[Settings]:
    """Settings with a new, empty lake bucket (emptied and removed after)."""
    bucket = f"test-{unique_name}"
    isolated = _with(stack, s3={"lake_bucket": bucket})

    async def create() -> None:
        async with s3_client(isolated) as s3:
            await ensure_bucket(s3, bucket)

    async def remove() -> None:
        async with s3_client(isolated) as s3:
            paginator = s3.get_paginator("list_objects_v2")
            async for page in paginator.paginate(Bucket=bucket):
                for item in page.get("Contents", []):
                    await s3.delete_object(Bucket=bucket, Key=item["Key"])
            await s3.delete_bucket(Bucket=bucket)

    asyncio.run(create())
    yield isolated
    asyncio.run(remove())


@pytest.fixture
def isolated_stack(fresh_database: Settings, isolated_topics: Settings, isolated_bucket: Settings) -> Settings:
    """A database, topic prefix and bucket of this test's own, on the real services."""
    return fresh_database.model_copy(update={"kafka": isolated_topics.kafka, "s3": isolated_bucket.s3})
