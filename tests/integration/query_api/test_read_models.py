"""Read-model refresh, the per-refresh response cache, the read-only role, the quarantine read
model appearing, and database failures answered as 503 (each test has a database of its own)."""

from __future__ import annotations

import time
from datetime import date

import psycopg
import pytest
from fastapi.testclient import TestClient

from platform_common.config import Settings
from platform_common.postgres import Role, connect
from query_api import create_app, refresh_read_models
from query_api.settings import QuerySettings
from tests.integration.query_api import scenario

pytestmark = pytest.mark.integration
FAST_CACHE = QuerySettings(cache_check_interval_s=0.05)


def _key(settings: Settings) -> dict[str, str]:
    return {"X-API-Key": settings.api.bootstrap_api_key.get_secret_value()}


def _wait_for(client: TestClient, path: str, predicate: object, timeout_s: float = 5.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while True:
        body: dict[str, object] = client.get(path).json()
        if callable(predicate) and predicate(body):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_numbers_change_only_when_the_read_models_are_refreshed(fresh_database: Settings) -> None:
    path = "/v1/revenue?granularity=quarter&start=2026-01-01&end=2026-03-31"
    with TestClient(create_app(fresh_database, FAST_CACHE), headers=_key(fresh_database)) as client:
        empty = client.get(path).json()
        assert (empty["items"], empty["data_as_of"]) == ([], None)
        with connect(Role.WRITER, fresh_database) as conn:
            scenario.load(conn)
            conn.commit()
            assert client.get(path).json()["items"] == [], "facts alone do not reach the API"
            first = refresh_read_models(conn)
        assert (first.horizon_date, first.reporting_currency) == (date(2026, 3, 31), "USD")
        body = _wait_for(client, path, lambda b: b["items"])
        assert body["data_as_of"] == "2026-03-31"
        deadline = time.monotonic() + 5
        while "x-cache" not in (hit := client.get(path)).headers:  # the poller has to notice refresh 1
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert hit.headers["x-cache"] == "hit"
        assert hit.headers["x-read-model-refresh"] == str(first.refresh_id)
        assert hit.json() == body

        with connect(Role.WRITER, fresh_database) as conn:
            conn.execute(
                "INSERT INTO warehouse.revenue_daily (revenue_date, customer_id, plan_id, region_id, currency, "
                "billed_minor, reporting_currency, fx_rate, billed_reporting_minor) "
                "VALUES ('2026-03-15', 'C9', 'growth-annual-usd', 'na', 'USD', 1000, 'USD', 1, 1000)"
            )
            conn.commit()
            assert client.get(path).json() == body, "still the refresh the cache holds"
            second = refresh_read_models(conn)
        assert second.refresh_id == first.refresh_id + 1
        updated = _wait_for(client, path, lambda b: b["items"][0]["billed_minor"] == 168650 + 1000)
        assert updated["read_models_refreshed_at"] != body["read_models_refreshed_at"]


def test_the_reader_role_cannot_write_or_refresh(fresh_database: Settings) -> None:
    with connect(Role.READER, fresh_database) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO warehouse.region VALUES ('x', 'x', 'USD')")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM reporting.refresh_read_models()")


def test_quarantine_counts_once_the_read_model_exists(fresh_database: Settings) -> None:
    with TestClient(create_app(fresh_database), headers=_key(fresh_database)) as client:
        before = client.get("/v1/data-quality/quarantine").json()
        assert (before["available"], before["items"]) == (False, [])
        assert "warehouse.quarantine_event" in before["detail"]
        # The read model this API expects from stream processing (see the report of issue 7).
        with connect(Role.ADMIN, fresh_database) as conn:
            conn.execute(
                "CREATE TABLE warehouse.quarantine_event (quarantine_id bigint GENERATED ALWAYS AS IDENTITY, "
                "event_id text, family text NOT NULL, reason text NOT NULL, detail text, event_time timestamptz, "
                "quarantined_at timestamptz NOT NULL, kafka_topic text, kafka_partition integer, kafka_offset bigint)"
            )
            conn.execute(
                "INSERT INTO warehouse.quarantine_event (event_id, family, reason, quarantined_at) VALUES "
                "('a', 'payment', 'out_of_range', '2026-03-01T10:00Z'), ('b', 'payment', 'out_of_range', "
                "'2026-03-02T10:00Z'), ('c', 'subscription', 'unknown_plan', '2026-03-02T11:00Z'), "
                "(NULL, 'unknown', 'undecodable', '2026-03-03T00:00Z'), "
                "('d', 'payment', 'missing', '2025-01-01T00:00Z')"
            )
            conn.commit()
        window = {"start": "2026-03-01", "end": "2026-03-31"}
        after = client.get("/v1/data-quality/quarantine", params=window).json()
        assert after["available"] is True
        assert after["total_events"] == 4
        assert [(i["family"], i["reason"], i["event_count"]) for i in after["items"]] == [
            ("payment", "out_of_range", 2), ("subscription", "unknown_plan", 1), ("unknown", "undecodable", 1),
        ]  # fmt: skip
        payment = client.get("/v1/data-quality/quarantine", params={**window, "family": "payment"}).json()
        assert payment["items"][0]["last_quarantined_at"] == "2026-03-02T10:00:00Z"


def test_a_missing_read_model_answers_503_not_500(fresh_database: Settings) -> None:
    with connect(Role.ADMIN, fresh_database, autocommit=True) as conn:
        conn.execute("DROP MATERIALIZED VIEW reporting.logo_churn_period")
    with TestClient(create_app(fresh_database), headers=_key(fresh_database)) as client:
        response = client.get("/v1/churn")
        assert response.status_code == 503
        assert "ledgerline setup" in response.json()["detail"]
        assert client.get("/v1/mrr").status_code == 200, "the other read models still answer"


def test_an_unreachable_warehouse_answers_503(fresh_database: Settings) -> None:
    down = fresh_database.model_copy(update={"postgres": fresh_database.postgres.model_copy(update={"port": 1})})
    with TestClient(create_app(down, QuerySettings(db_timeout_s=0.5)), headers=_key(down)) as client:
        response = client.get("/v1/mrr")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert client.get("/health").status_code == 503
