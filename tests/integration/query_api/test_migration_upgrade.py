"""Migration 0503 on a warehouse that already holds data and refreshed read models (every
deployment and the benchmark database take this path, not the empty-database one of the other
tests): the recreated logo churn read model answers with the new definition at once, the reader
role can still read it, and reporting.refresh_read_models() keeps refreshing it (CONCURRENTLY,
which needs the unique index back)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from platform_common.config import Settings
from platform_common.postgres import (
    MIGRATIONS_DIR,
    Role,
    apply_migrations,
    connect,
    create_database,
    drop_database,
    ensure_login_roles,
)
from query_api import create_app, refresh_read_models
from tests.integration.query_api import scenario
from tests.integration.query_api.conftest import with_database

pytestmark = pytest.mark.integration
MIGRATION = "0503_query_api_logo_churn_transfers"
FEB_STARTER = {"granularity": "month", "plan_id": "starter-monthly-usd", "start": "2026-02-01", "end": "2026-02-28"}


@pytest.fixture
def database_before_0503(stack: Settings, unique_name: str, tmp_path: Path) -> Iterator[Settings]:
    """A new database with every migration but 0503 (a deployment made before it), the scenario
    loaded and the read models refreshed."""
    before = tmp_path / "migrations"
    before.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if path.stem != MIGRATION:
            shutil.copy(path, before / path.name)
    name = f"ledgerline_test_{unique_name}"
    with connect(Role.ADMIN, stack, autocommit=True, dbname="postgres") as conn:
        create_database(conn, name)
    isolated = with_database(stack, name)
    try:
        assert MIGRATION not in apply_migrations(isolated, before)
        ensure_login_roles(isolated)
        with connect(Role.WRITER, isolated) as conn:
            scenario.load(conn)
            conn.commit()
            refresh_read_models(conn)
        yield isolated
    finally:
        with connect(Role.ADMIN, stack, autocommit=True, dbname="postgres") as conn:
            drop_database(conn, name)


def _starter_february(settings: Settings) -> dict[str, object]:
    key = {"X-API-Key": settings.api.bootstrap_api_key.get_secret_value()}
    with TestClient(create_app(settings), headers=key) as client:
        response = client.get("/v1/churn", params=FEB_STARTER)
        assert response.status_code == 200, response.text
        [item] = response.json()["items"]
        found: dict[str, object] = item
        return found


def test_0503_on_a_populated_warehouse(database_before_0503: Settings) -> None:
    settings = database_before_0503
    with connect(Role.READER, settings) as conn:
        columns = conn.execute("SELECT * FROM reporting.logo_churn_period LIMIT 0").description
        assert columns is not None
        assert "transferred_out_customers" not in [column.name for column in columns], "0500's view before 0503"
        # 0500's definition: C2 moved to growth-monthly-usd and counted as a churned logo.
        old = conn.execute(
            "SELECT churned_customers FROM reporting.logo_churn_period WHERE period_kind = 'month' "
            "AND period_start = '2026-02-01' AND plan_id = 'starter-monthly-usd' AND NOT all_plans "
            "AND all_regions AND all_currencies"
        ).fetchone()
        assert old == (2,)

    assert apply_migrations(settings) == [MIGRATION]
    # Populated by the migration itself: the new numbers before any refresh.
    february = _starter_february(settings)
    assert (february["churned_customers"], february["transferred_out_customers"], february["logo_churn_rate"]) == (
        1, 1, 0.5,
    )  # fmt: skip

    with connect(Role.WRITER, settings) as conn:
        conn.execute("DELETE FROM warehouse.subscriptions_snapshot WHERE subscription_id = 'S2'")
        conn.commit()
        refresh_read_models(conn)
    # The refresh reached the recreated view: without S2, C2 was never in starter-monthly-usd.
    february = _starter_february(settings)
    assert (february["opening_customers"], february["churned_customers"], february["transferred_out_customers"]) == (
        1, 1, 0,
    )  # fmt: skip
