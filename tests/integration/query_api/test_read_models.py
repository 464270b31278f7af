"""Read-model refresh, the per-refresh response cache, the read-only role, quarantine counts
(hand-inserted warehouse.quarantine_event rows), and database failures answered as 503 (each
test has a database of its own)."""

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
        # Refresh-ahead: the cached answer is recomputed in the background, so no request is
        # computed in between: the old answer (a hit until the poller notices refresh 2, then
        # `stale`) until the new one is a hit.
        seen: list[tuple[str | None, str | None, int]] = []
        deadline = time.monotonic() + 5
        while not seen or seen[-1][2] != 168650 + 1000:
            assert time.monotonic() < deadline, seen
            response = client.get(path)
            billed = response.json()["items"][0]["billed_minor"]
            seen.append((response.headers.get("x-cache"), response.headers.get("x-read-model-refresh"), billed))
            time.sleep(0.01)
        old, new = (str(first.refresh_id), 168650), (str(second.refresh_id), 168650 + 1000)
        assert all((cache, (refresh, billed)) in {("hit", old), ("stale", old), ("hit", new)}
                   for cache, refresh, billed in seen), seen  # fmt: skip
        updated = client.get(path).json()
        assert updated["read_models_refreshed_at"] != body["read_models_refreshed_at"]


def test_the_reader_role_cannot_write_or_refresh(fresh_database: Settings) -> None:
    with connect(Role.READER, fresh_database) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO warehouse.region VALUES ('x', 'x', 'USD')")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM reporting.refresh_read_models()")


# S10 (customer C10) moves mid-February from na / growth-monthly-usd at 10000 USD to
# emea / growth-monthly-eur at 11000 EUR: a change of currency.
MOVED = [
    scenario.State("S10", "C10", "na", "growth-monthly-usd", "USD", date(2026, 1, 1), date(2026, 2, 15), "active",
                   True, 1, 10000),
    scenario.State("S10", "C10", "emea", "growth-monthly-eur", "EUR", date(2026, 2, 15), None, "active", True, 1,
                   11000),
]  # fmt: skip


def test_a_currency_change_transfers_the_opening_converted_and_the_customer_is_not_churned(
    fresh_database: Settings,
) -> None:
    with connect(Role.WRITER, fresh_database) as conn:
        scenario.load(conn)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO warehouse.subscription_state (subscription_id, valid_from, valid_to, customer_id, "
                "plan_id, region_id, currency, status, is_active, quantity, unit_price_minor, billing_interval, "
                "billing_interval_count, is_discounted, mrr_minor) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, 'month', 1, false, %s)",
                [(s.subscription, s.start, s.end, s.customer, s.plan, s.region, s.currency, s.status, s.active,
                  s.quantity, s.mrr) for s in MOVED],
            )  # fmt: skip
            cur.executemany(
                "INSERT INTO warehouse.subscriptions_snapshot (snapshot_date, subscription_id, customer_id, plan_id, "
                "region_id, status, is_active, quantity, currency, mrr_minor, reporting_currency, fx_rate, "
                "mrr_reporting_minor) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                scenario.snapshot_rows(MOVED),
            )
        conn.commit()
        refresh_read_models(conn)
    feb = {"granularity": "month", "start": "2026-02-01", "end": "2026-02-28"}
    with TestClient(create_app(fresh_database), headers=_key(fresh_database)) as client:

        def movements(**params: str) -> dict[str, dict[str, int]]:
            body = client.get("/v1/mrr", params={**feb, **params}).json()
            return {item["currency"]: item["movements"] for item in body["items"]}

        # The new segment receives the opening converted at the Feb 28 rates: 10000 USD x 1 / 1.1
        # = 9090.9 -> 9091 EUR; the net change 11000 - 9091 = 1909 EUR is expansion.
        eur = movements(plan_id="growth-monthly-eur", currency="original")["EUR"]
        # growth-monthly-eur also has S3 moving out (-21900) and S8 churning (-7300).
        assert (eur["transfer_mrr_minor"], eur["expansion_mrr_minor"]) == (9091 - 21900, 1909)
        usd = movements(plan_id="growth-monthly-usd", currency="original")["USD"]
        assert usd["transfer_mrr_minor"] == 5800 - 10000  # S2 in, S10 out
        # Company-wide in USD: the transfer nets to 0 (-10000 + round(9091 x 1.1) = 10000); the move
        # is +2100 expansion (1909 x 1.1 = 2099.9 -> 2100 = 12100 - 10000), on top of S2's 10000.
        total = movements()["USD"]
        assert (total["transfer_mrr_minor"], total["expansion_mrr_minor"], total["fx_effect_minor"]) == (0, 12100, 0)
        # The scenario's 81470 -> 62390 plus S10: 10000 USD opening, 11000 EUR x 1.1 = 12100 closing.
        assert (total["opening_mrr_minor"], total["closing_mrr_minor"]) == (81470 + 10000, 62390 + 12100)
        assert total["opening_mrr_minor"] + 12100 - 18150 - 10930 == total["closing_mrr_minor"]

        def logos(**params: str) -> dict[str, tuple[int, ...]]:
            body = client.get("/v1/churn", params={**feb, **params}).json()
            fields = ("opening_customers", "churned_customers", "transferred_out_customers", "gained_customers",
                      "transferred_in_customers", "closing_customers", "logo_churn_rate")  # fmt: skip
            return {item["currency"]: tuple(item[f] for f in fields) for item in body["items"]}

        # Logos (opening, churned, transferred out, gained, transferred in, closing, rate): C10 leaves
        # region na, plan growth-monthly-usd and currency USD but stays a customer: transferred, not
        # churned. na: C1, C2, C5, C6, C7, C10 open; C5 churns (canceled), C10 moves to emea.
        assert logos(region_id="na") == {"USD": (6, 1, 1, 0, 0, 4, 0.166667)}
        # emea: C3, C4, C8 open; C8 churns (past due beyond grace); C10 arrives.
        assert logos(region_id="emea") == {"USD": (3, 1, 0, 0, 1, 3, 0.333333)}
        # growth-monthly-eur: C3 (downgraded to starter) out, C8 churned, C10 in.
        assert logos(plan_id="growth-monthly-eur") == {"USD": (2, 1, 1, 0, 1, 1, 0.5)}
        # A change of currency is a transfer between the currencies' items in original currency ...
        assert logos(currency="original") == {
            "USD": (6, 1, 1, 0, 0, 4, 0.166667), "EUR": (3, 1, 0, 0, 1, 3, 0.333333),
        }  # fmt: skip
        # ... and nothing company-wide: C5 and C8 are the only churned logos of 9.
        assert logos() == {"USD": (9, 2, 0, 0, 0, 7, 0.222222)}


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
