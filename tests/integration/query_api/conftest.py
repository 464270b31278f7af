"""Fixtures of the query API tests: the fixed scenario in a database of its own, and clients.

`scenario_settings` is the module-scoped twin of the shared `fresh_database` fixture (made the
same way, by `new_database`: a new database, every migration, the login roles; dropped
afterwards): the tests that use it only read, so one database per module keeps the suite fast
without sharing state with any other test. Tests that change the database use `fresh_database`
itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from platform_common.config import Settings
from platform_common.postgres import Role, connect
from query_api import create_app, refresh_read_models
from tests.conftest import NewDatabase
from tests.integration.query_api import scenario


def with_database(settings: Settings, name: str) -> Settings:
    return settings.model_copy(update={"postgres": settings.postgres.model_copy(update={"database": name})})


def load_scenario(settings: Settings) -> None:
    with connect(Role.WRITER, settings) as conn:
        scenario.load(conn)
        conn.commit()
        refresh_read_models(conn)
    with connect(Role.ADMIN, settings) as conn:
        scenario.load_quarantine(conn)
        conn.commit()


@pytest.fixture(scope="module")
def scenario_settings(new_database: NewDatabase) -> Iterator[Settings]:
    with new_database(f"ledgerline_test_{uuid.uuid4().hex[:12]}") as isolated:
        load_scenario(isolated)
        yield isolated


@pytest.fixture(scope="module")
def api_key(scenario_settings: Settings) -> str:
    return scenario_settings.api.bootstrap_api_key.get_secret_value()


@pytest.fixture(scope="module")
def client(scenario_settings: Settings, api_key: str) -> Iterator[TestClient]:
    """The app in process (lifespan run), authenticated."""
    with TestClient(create_app(scenario_settings), headers={"X-API-Key": api_key}) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def anonymous(scenario_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(scenario_settings)) as test_client:
        yield test_client
