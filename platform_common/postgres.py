"""PostgreSQL access: connection strings per role, a pool per process, and migrations.

Three roles keep the blast radius small: the admin role owns the schema and runs migrations,
the writer role is what sinks and the gateway use, the reader role is all the query API gets.
"""

from __future__ import annotations

import logging
import random
import time
from enum import StrEnum
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool

from platform_common.config import Settings, get_settings

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQL_DIR = Path(__file__).parent / "sql"


class Role(StrEnum):
    ADMIN = "admin"
    WRITER = "writer"
    READER = "reader"


def _credentials(settings: Settings, role: Role) -> tuple[str, str]:
    pg = settings.postgres
    if role is Role.ADMIN:
        return pg.admin_user, pg.admin_password.get_secret_value()
    if role is Role.WRITER:
        return pg.writer_user, pg.writer_password.get_secret_value()
    return pg.reader_user, pg.reader_password.get_secret_value()


def conninfo(role: Role = Role.WRITER, settings: Settings | None = None, **extra: Any) -> str:
    settings = settings or get_settings()
    user, password = _credentials(settings, role)
    return make_conninfo(
        host=settings.postgres.host,
        port=settings.postgres.port,
        dbname=extra.pop("dbname", settings.postgres.database),
        user=user,
        password=password,
        application_name=extra.pop("application_name", "ledgerline"),
        **extra,
    )


def connect(
    role: Role = Role.WRITER, settings: Settings | None = None, autocommit: bool = False, **extra: Any
) -> psycopg.Connection[Any]:
    return psycopg.connect(conninfo(role, settings, **extra), autocommit=autocommit)


def make_pool(role: Role = Role.WRITER, settings: Settings | None = None, **kwargs: Any) -> ConnectionPool:
    settings = settings or get_settings()
    return ConnectionPool(
        conninfo(role, settings),
        min_size=kwargs.pop("min_size", settings.postgres.pool_min_size),
        max_size=kwargs.pop("max_size", settings.postgres.pool_max_size),
        open=True,
        **kwargs,
    )


def read_sql(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def create_database(conn: psycopg.Connection[Any], name: str) -> None:
    """CREATE DATABASE `name` (on an autocommit connection to another database) with byte-order
    collation, whatever the cluster's default.

    Every key here is text (event, customer, subscription and plan ids, ISO codes) and is
    compared in primary keys, sorts and merges. Under any libc collation but "C" (C.UTF-8
    included) PostgreSQL compares through strcoll and sorts without abbreviated keys; on 1M
    events the warehouse sink's usage insert took ~17% longer that way. Byte order is UTF-8
    code-point order, which is what C.UTF-8 sorted by anyway, so no ordering changes."""
    row = conn.execute(read_sql(SQL_DIR / "template_ctype.sql")).fetchone()
    statement = sql.SQL(read_sql(SQL_DIR / "create_database.sql"))
    conn.execute(statement.format(database=sql.Identifier(name), ctype=sql.Literal(row[0] if row else "C")))


def drop_database(conn: psycopg.Connection[Any], name: str) -> None:
    """DROP DATABASE `name` if it exists (on an autocommit connection to another database),
    ending its sessions first: what undoes `create_database` for scratch and test databases."""
    conn.execute(sql.SQL(read_sql(SQL_DIR / "drop_database.sql")).format(database=sql.Identifier(name)))


def ensure_login_roles(settings: Settings | None = None) -> None:
    """Create (or update the password of) the writer and reader logins, members of the group
    roles that the migrations grant privileges to. Identifiers and literals are composed by
    psycopg, never string-formatted."""
    settings = settings or get_settings()
    statement = sql.SQL(read_sql(SQL_DIR / "ensure_login_role.sql"))
    with connect(Role.ADMIN, settings, autocommit=True) as conn:
        for role, group in ((Role.WRITER, "ledgerline_write"), (Role.READER, "ledgerline_read")):
            user, password = _credentials(settings, role)
            query = statement.format(
                user_literal=sql.Literal(user),
                user=sql.Identifier(user),
                password=sql.Literal(password),
                group=sql.Identifier(group),
            )
            _execute_role_change(conn, query)


def _execute_role_change(conn: psycopg.Connection[Any], query: sql.Composed, attempts: int = 30) -> None:
    """Roles are cluster-wide, so two databases of one cluster being set up at once (two test
    runs, a benchmark beside the demo) can update the same role row: PostgreSQL then fails one
    with "tuple concurrently updated" instead of waiting. The statement is idempotent, so it
    is simply tried again, after a random pause so racing sessions fall out of step."""
    for attempt in range(1, attempts + 1):
        try:
            conn.execute(query)
            return
        except psycopg.errors.InternalError as error:
            if "concurrently" not in str(error) or attempt == attempts:
                raise
            log.warning("role update raced another session; retrying", extra={"attempt": attempt})
            time.sleep(random.uniform(0.01, 0.1))  # noqa: S311 - jitter, not security


def yoyo_uri(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    from urllib.parse import quote

    user, password = _credentials(settings, Role.ADMIN)
    pg = settings.postgres
    return (
        f"postgresql+psycopg://{quote(user, safe='')}:{quote(password, safe='')}"
        f"@{pg.host}:{pg.port}/{quote(pg.database, safe='')}"
    )


def apply_migrations(settings: Settings | None = None, migrations_dir: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations under yoyo's lock; returns the ids applied (empty when current)."""
    from yoyo import get_backend, read_migrations

    backend = get_backend(yoyo_uri(settings))
    migrations = read_migrations(str(migrations_dir))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    applied = [migration.id for migration in pending]
    if applied:
        log.info("migrations applied", extra={"migrations": applied})
    return applied


def set_up_database(settings: Settings | None = None) -> list[str]:
    """Everything the warehouse needs before any stage starts; safe to run any number of times."""
    settings = settings or get_settings()
    applied = apply_migrations(settings)
    ensure_login_roles(settings)
    return applied
