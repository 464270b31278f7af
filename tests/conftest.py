"""Shared fixtures. The real services are started once per session (idempotently: a stack that
is already up, e.g. started by `.ci/run`, is only health-checked) and never stopped here.

Isolation: tests never share mutable state through the real services. `fresh_database` gives a
new database with every migration applied, `isolated_topics` a unique topic prefix with the
standard topics created, `isolated_bucket` a new lake bucket; `isolated_stack` combines them.

The migrations run once per session, into `migrated_template`; every new database is a copy of it
(`CREATE DATABASE ... TEMPLATE`, ~0.1 s instead of ~0.9 s of migrations each time), made by
`new_database`, which `fresh_database` and the module-scoped databases of some packages use.

`prefect_server` is Prefect's test server (`prefect_test_harness`: a subprocess API on a temporary
SQLite database), started once for the session by the first test that asks for it: its startup
costs ~10 s, and the e2e demo and the orchestration flow, reconcile and forecast modules each used
to start their own. Flow runs never collide there: every test looks its runs up by id, by its own
stack's deployment names, or reads its results from its own database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
from psycopg import sql

from platform_common.config import Settings, get_settings
from platform_common.kafka import ensure_standard_topics, make_admin
from platform_common.postgres import Role, apply_migrations, connect, create_database, drop_database, ensure_login_roles
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


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """Prefect's in-process test server for the session; yields its API URL (a CLI subprocess or
    `python -m prefect.engine` given it runs its flows there too)."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        url = PREFECT_API_URL.value()
        assert url
        yield str(url)


@pytest.fixture
def unique_name() -> str:
    """A short unique suffix so concurrent tests and reruns never share topics, keys or tables."""
    return uuid.uuid4().hex[:12]


def _with(settings: Settings, **groups: dict[str, object]) -> Settings:
    return settings.model_copy(
        update={name: getattr(settings, name).model_copy(update=values) for name, values in groups.items()}
    )


def _drop_database(stack: Settings, name: str) -> None:
    with connect(Role.ADMIN, stack, autocommit=True, dbname="postgres") as conn:
        drop_database(conn, name)


@pytest.fixture(scope="session")
def migrated_template(stack: Settings) -> Iterator[str]:
    """The name of a database with every migration and the login roles applied, made once for
    the session and dropped at its end. Only `new_database` uses it, as the template of its copies;
    nothing else connects to it (a copy needs the template without other sessions)."""
    name = f"ledgerline_test_template_{uuid.uuid4().hex[:12]}"
    with connect(Role.ADMIN, stack, autocommit=True, dbname="postgres") as conn:
        create_database(conn, name)
    try:
        template = _with(stack, postgres={"database": name})
        apply_migrations(template)
        ensure_login_roles(template)
        yield name
    finally:
        _drop_database(stack, name)


@contextlib.contextmanager
def _copied_database(stack: Settings, template: str, name: str) -> Iterator[Settings]:
    with connect(Role.ADMIN, stack, autocommit=True, dbname="postgres") as conn:
        # A session left on the template (say, the migration tool's, not yet collected) would make
        # the copy fail; nothing of a test ever uses the template.
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (template,),
        )
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
    # The copy has every migration (the template was made this session) and roles are
    # cluster-wide (the template's set-up made them): nothing to apply again.
    isolated = _with(stack, postgres={"database": name})
    try:
        yield isolated
    finally:
        _drop_database(stack, name)


NewDatabase = Callable[[str], AbstractContextManager[Settings]]


@pytest.fixture(scope="session")
def new_database(stack: Settings, migrated_template: str) -> NewDatabase:
    """`with new_database(name) as settings:` a brand-new database `name` with all migrations and
    login roles applied (a copy of `migrated_template`), dropped on exit."""
    return lambda name: _copied_database(stack, migrated_template, name)


@pytest.fixture
def fresh_database(new_database: NewDatabase, unique_name: str) -> Iterator[Settings]:
    """Settings pointing at a brand-new database with all migrations and login roles applied."""
    with new_database(f"ledgerline_test_{unique_name}") as isolated:
        yield isolated


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
