"""Read-model refresh, the per-refresh response cache, the read-only role, quarantine counts
(hand-inserted warehouse.quarantine_event rows), and database failures answered as 503 (each test has a database of its own)."""

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


QUARANTINE_INSERT = (
    "INSERT INTO warehouse.quarantine_event (quarantine_id, family, reason, reason_codes, message, event_id, "
    "first_seen_at, quarantined_at, source_topic, source_partition, source_offset, replay_of) "
    "VALUES (%s, %s, %s, ARRAY[%s], 'hand-inserted', %s, %s, %s, %s, 0, %s, %s)"
)


def _quarantine_row(
    offset: int, family: str, reason: str, event_id: str | None, at: str, replay_of: str | None = None
) -> tuple[object, ...]:
    return (f"q-{offset}", family, reason, reason, event_id, at, at, f"events.{family}.raw", offset, replay_of)


# Hand-made quarantine records (quarantined_at in UTC):
#   q-1 payment/out_of_range e1 Mar 1; q-2 the same raw record re-published by a backfill (new
#   offset, same event e1) Mar 20 -> one event, two records; q-3 payment/out_of_range e2 Mar 2;
#   q-4 subscription/unknown_plan e3 Mar 2; q-5 and q-6 undecodable bytes (no event_id) Mar 3 ->
#   two events; q-7 payment/missing_field e4 in 2025 (outside the window); q-8 usage/late e5
#   Mar 31 23:59:59 (inside), q-9 usage/late e6 Apr 1 00:00 (outside).
QUARANTINE = [
    _quarantine_row(1, "payment", "out_of_range", "e1", "2026-03-01T10:00Z"),
    _quarantine_row(2, "payment", "out_of_range", "e1", "2026-03-20T10:00Z", replay_of="q-1"),
    _quarantine_row(3, "payment", "out_of_range", "e2", "2026-03-02T10:00Z"),
    _quarantine_row(4, "subscription", "unknown_plan", "e3", "2026-03-02T11:00Z"),
    _quarantine_row(5, "unknown", "undecodable", None, "2026-03-03T00:00Z"),
    _quarantine_row(6, "unknown", "undecodable", None, "2026-03-03T00:00:01Z"),
    _quarantine_row(7, "payment", "missing_field", "e4", "2025-01-01T00:00Z"),
    _quarantine_row(8, "usage", "late", "e5", "2026-03-31T23:59:59Z"),
    _quarantine_row(9, "usage", "late", "e6", "2026-04-01T00:00Z"),
]


def test_quarantine_counts_distinct_events_per_family_and_reason(fresh_database: Settings) -> None:
    with connect(Role.ADMIN, fresh_database) as conn:
        with conn.cursor() as cur:
            cur.executemany(QUARANTINE_INSERT, QUARANTINE)
        conn.commit()
    window = {"start": "2026-03-01", "end": "2026-03-31"}
    with TestClient(create_app(fresh_database), headers=_key(fresh_database)) as client:
        body = client.get("/v1/data-quality/quarantine", params=window).json()
        assert (body["available"], body["detail"]) == (True, None)
        assert [(i["family"], i["reason"], i["event_count"], i["record_count"]) for i in body["items"]] == [
            ("payment", "out_of_range", 2, 3),  # e1 twice (backfill re-publish) + e2
            ("subscription", "unknown_plan", 1, 1),
            ("unknown", "undecodable", 2, 2),  # no event_id: each record is its own event
            ("usage", "late", 1, 1),  # Mar 31 23:59:59 in, Apr 1 00:00 out
        ]  # fmt: skip
        assert (body["total_items"], body["total_events"]) == (4, 6)
        payment = body["items"][0]
        assert (payment["first_quarantined_at"], payment["last_quarantined_at"]) == (
            "2026-03-01T10:00:00Z", "2026-03-20T10:00:00Z",
        )  # fmt: skip

        only = client.get("/v1/data-quality/quarantine", params={**window, "family": "unknown"}).json()
        assert [(i["reason"], i["event_count"]) for i in only["items"]] == [("undecodable", 2)]
        second = client.get("/v1/data-quality/quarantine", params={**window, "page": 2, "page_size": 3}).json()
        assert [(i["family"], i["event_count"]) for i in second["items"]] == [("usage", 1)]
        assert (second["total_items"], second["total_events"]) == (4, 1)
        past = client.get("/v1/data-quality/quarantine", params={**window, "page": 3, "page_size": 3}).json()
        assert (past["items"], past["total_items"]) == ([], 4)
        older = client.get("/v1/data-quality/quarantine", params={"start": "2025-01-01", "end": "2025-01-01"}).json()
        assert [(i["family"], i["reason"], i["event_count"]) for i in older["items"]] == [
            ("payment", "missing_field", 1)
        ]


def test_quarantine_counts_unavailable_without_the_table(fresh_database: Settings) -> None:
    """A warehouse migrated before 0309 answers `available: false`, not an error."""
    with connect(Role.ADMIN, fresh_database, autocommit=True) as conn:
        conn.execute("DROP TABLE warehouse.quarantine_event")
    with TestClient(create_app(fresh_database), headers=_key(fresh_database)) as client:
        response = client.get("/v1/data-quality/quarantine")
        assert response.status_code == 200
        body = response.json()
        assert (body["available"], body["items"], body["total_events"]) == (False, [], 0)
        assert "warehouse.quarantine_event" in body["detail"]


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
