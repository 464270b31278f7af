from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest

from platform_common.config import Settings
from platform_common.postgres import Role, apply_migrations, connect, create_database, drop_database, ensure_login_roles

pytestmark = pytest.mark.integration


@pytest.fixture
def empty_database(stack: Settings, unique_name: str) -> Iterator[Settings]:
    """Unlike the shared `fresh_database`, nothing is applied yet."""
    name = f"ledgerline_empty_{unique_name}"
    with connect(Role.ADMIN, stack, autocommit=True, dbname="postgres") as conn:
        create_database(conn, name)
    settings = stack.model_copy(update={"postgres": stack.postgres.model_copy(update={"database": name})})
    try:
        yield settings
    finally:
        with connect(Role.ADMIN, stack, autocommit=True, dbname="postgres") as conn:
            drop_database(conn, name)


def test_migrations_apply_to_empty_database_and_are_idempotent(empty_database: Settings) -> None:
    first = apply_migrations(empty_database)
    assert first, "an empty database must receive every migration"
    assert first == sorted(first)
    assert apply_migrations(empty_database) == []

    with connect(Role.ADMIN, empty_database) as conn:
        schemas = {row[0] for row in conn.execute("SELECT nspname FROM pg_namespace")}
        applied = conn.execute("SELECT count(*) FROM _yoyo_migration").fetchone()
    assert {"staging", "warehouse", "platform"} <= schemas
    assert applied is not None
    assert applied[0] == len(first)


def test_query_round_trips_through_writer_role(empty_database: Settings) -> None:
    apply_migrations(empty_database)
    ensure_login_roles(empty_database)
    with connect(Role.WRITER, empty_database) as conn:
        inserted = conn.execute(
            "INSERT INTO platform.setup_run (component) VALUES (%s) RETURNING setup_run_id, component, ran_at",
            ("round-trip",),
        ).fetchone()
        fetched = conn.execute(
            "SELECT setup_run_id, component, ran_at FROM platform.setup_run WHERE setup_run_id = %s",
            (inserted[0] if inserted else None,),
        ).fetchone()
    assert inserted == fetched
    assert fetched is not None
    assert fetched[2].tzinfo is not None


def test_reader_role_cannot_write(empty_database: Settings) -> None:
    apply_migrations(empty_database)
    ensure_login_roles(empty_database)
    with connect(Role.READER, empty_database) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("INSERT INTO platform.setup_run (component) VALUES ('nope')")


def test_login_roles_survive_concurrent_setups(stack: Settings) -> None:
    """Roles are cluster-wide: several databases set up at once (parallel test runs, a benchmark
    beside the demo) update the same role rows, which PostgreSQL may refuse with "tuple
    concurrently updated"; every setup must still succeed."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def set_up() -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(15):
                ensure_login_roles(stack)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=set_up) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with connect(Role.WRITER, stack) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_new_databases_compare_text_in_byte_order(
    stack: Settings, empty_database: Settings, fresh_database: Settings
) -> None:
    """`create_database` (used by the local stack, the test templates and the benchmarks) gives
    collation "C" whatever the cluster's default, and keeps the cluster's character classes."""
    with connect(Role.ADMIN, stack, autocommit=True, dbname="postgres") as conn:
        template = conn.execute("SELECT datctype FROM pg_database WHERE datname = 'template1'").fetchone()
    assert template is not None
    for settings in (empty_database, fresh_database):
        with connect(Role.ADMIN, settings) as conn:
            found = conn.execute(
                "SELECT datlocprovider, datcollate, datctype, pg_encoding_to_char(encoding) FROM pg_database"
                " WHERE datname = current_database()"
            ).fetchone()
            order = conn.execute("SELECT 'B' < 'a', 'é' > 'z', upper('é')").fetchone()
        assert found == ("c", "C", template[0], "UTF8")  # provider "c": libc
        assert order is not None
        assert order[:2] == (True, True)  # byte order is code-point order
        if template[0] != "C":
            assert order[2] == "É"  # upper/lower still know non-ASCII letters
