"""Scratch stacks for the benchmarks: a database of their own (migrated, with the login roles)
and a topic prefix of their own, so a run never touches the development data, and their
removal afterwards."""

from __future__ import annotations

import time

from platform_common.config import Settings
from platform_common.kafka import ensure_standard_topics, make_admin
from platform_common.postgres import Role, apply_migrations, connect, create_database, drop_database, ensure_login_roles


def scratch_database(base: Settings, database: str, topic_prefix: str, replace: bool = False) -> Settings:
    """Settings for `database` (created; with `replace`, dropped first) and the standard topics
    under `topic_prefix` (created; with `replace`, any topic already under it deleted first)."""
    with connect(Role.ADMIN, base, autocommit=True, dbname="postgres") as conn:
        if replace:
            drop_database(conn, database)
        create_database(conn, database)
    settings = base.model_copy(
        update={
            "postgres": base.postgres.model_copy(update={"database": database}),
            "kafka": base.kafka.model_copy(update={"topic_prefix": topic_prefix}),
        }
    )
    apply_migrations(settings)
    ensure_login_roles(settings)
    if replace:
        drop_topics(settings, topic_prefix)
    ensure_standard_topics(settings)
    return settings


def drop_topics(settings: Settings, prefix: str) -> None:
    """Delete every topic whose name starts with `prefix` and wait until they are gone."""
    admin = make_admin(settings)
    names = [name for name in admin.list_topics(timeout=10).topics if name.startswith(prefix)]
    if not names:
        return
    for future in admin.delete_topics(names, operation_timeout=60).values():
        future.result(timeout=60)
    deadline = time.monotonic() + 60
    while any(name in admin.list_topics(timeout=10).topics for name in names) and time.monotonic() < deadline:
        time.sleep(0.5)


def drop_stack(base: Settings, settings: Settings) -> None:
    """Remove what `scratch_database` made: the database and the topics under its prefix."""
    with connect(Role.ADMIN, base, autocommit=True, dbname="postgres") as conn:
        drop_database(conn, settings.postgres.database)
    drop_topics(settings, settings.kafka.topic_prefix)
