"""SCD type 2 on the customer (region, segment) and plan (price) dimensions, through the real
topics and sink: a change closes the version in force (valid_to = the change's event time,
is_current false) and opens a current one; the facts of the days after the change carry the new
attributes (they hold natural ids; a fact's version is the one in force at the end of its day,
the time its snapshot describes); sending the same events again adds no version.

  G starter-monthly-usd, na/smb; 2024-03-10 12:00 a quantity change (1 -> 2) also moves it to
    latam/mid_market: versions [01-02 09:00, 03-10 12:00) na/smb and [03-10 12:00, -) latam/mid_market.
  J growth-annual-usd, na/smb; 2024-04-01 08:00 a change to enterprise (region unchanged).
  H growth-monthly-usd at 7900 from 01-05; its price rises to 8900 effective 2024-03-01 (sent
    02-20 10:00), K subscribes at 8900 on 03-20: plan versions [01-05 09:00, 02-20 10:00) 7900 and
    [02-20 10:00, -) 8900; H's MRR is 7900 to 02-29, 8900 from 03-01.
Versions start at the event time of the first disagreeing observation (dimensions.sql: runs of
equal attributes in event-time order), facts change on the effective date: for a change sent
ahead of its effective date (H) the two differ in between (02-20..02-29), so the fact/version
agreement below is checked from the effective dates on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from warehouse_scenario_events import sub
from warehouse_sink_helpers import checksums, drain, publish, query

from platform_common.config import Settings

pytestmark = pytest.mark.integration

AT = datetime.fromisoformat


def events() -> list[tuple[str, dict[str, Any]]]:
    change = {"change_kind": "quantity_change"}
    return [
        sub("created", "2024-01-02T09:00:00Z", "G", "starter-monthly-usd"),
        sub("activated", "2024-01-02T09:00:05Z", "G", "starter-monthly-usd"),
        sub("created", "2024-01-03T09:00:00Z", "J", "growth-annual-usd"),
        sub("activated", "2024-01-03T09:00:05Z", "J", "growth-annual-usd"),
        sub("created", "2024-01-05T09:00:00Z", "H", "growth-monthly-usd"),
        sub("activated", "2024-01-05T09:00:05Z", "H", "growth-monthly-usd"),
        sub(
            "plan_changed",
            "2024-02-20T10:00:00Z",
            "H",
            "growth-monthly-usd",
            change_kind="upgrade",
            effective_date="2024-03-01",
            unit_price_minor=8_900,
        ),
        sub(
            "plan_changed",
            "2024-03-10T12:00:00Z",
            "G",
            "starter-monthly-usd",
            2,
            effective_date="2024-03-10",
            region_id="latam",
            customer_segment="mid_market",
            **change,
        ),
        sub("created", "2024-03-20T09:00:00Z", "K", "growth-monthly-usd", unit_price_minor=8_900),
        sub("activated", "2024-03-20T09:00:05Z", "K", "growth-monthly-usd", unit_price_minor=8_900),
        sub(
            "plan_changed",
            "2024-04-01T08:00:00Z",
            "J",
            "growth-annual-usd",
            effective_date="2024-04-01",
            customer_segment="enterprise",
            **change,
        ),
    ]


def _versions(settings: Settings, table: str, natural: str, attributes: str) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = query(
        settings,
        f"SELECT {natural}, {attributes}, valid_from, valid_to, is_current FROM warehouse.{table}"
        f" ORDER BY {natural}, valid_from",
    )
    return rows


def test_scd2_versions_follow_changes_and_facts_follow_versions(
    fresh_database: Settings, isolated_topics: Settings
) -> None:
    settings = fresh_database.model_copy(update={"kafka": isolated_topics.kafka})
    sent = events()
    publish(settings, sent)
    drain(settings)

    customers = _versions(settings, "customer", "customer_id", "region_id, customer_segment")
    assert customers == [
        ("cus-G", "na", "smb", AT("2024-01-02T09:00:00Z"), AT("2024-03-10T12:00:00Z"), False),
        ("cus-G", "latam", "mid_market", AT("2024-03-10T12:00:00Z"), None, True),
        ("cus-H", "na", "smb", AT("2024-01-05T09:00:00Z"), None, True),
        ("cus-J", "na", "smb", AT("2024-01-03T09:00:00Z"), AT("2024-04-01T08:00:00Z"), False),
        ("cus-J", "na", "enterprise", AT("2024-04-01T08:00:00Z"), None, True),
        ("cus-K", "na", "smb", AT("2024-03-20T09:00:00Z"), None, True),
    ]
    plans = _versions(settings, "plan", "plan_id", "unit_price_minor")
    assert plans == [
        ("growth-annual-usd", 79_000, AT("2024-01-03T09:00:00Z"), None, True),
        ("growth-monthly-usd", 7_900, AT("2024-01-05T09:00:00Z"), AT("2024-02-20T10:00:00Z"), False),
        ("growth-monthly-usd", 8_900, AT("2024-02-20T10:00:00Z"), None, True),
        ("starter-monthly-usd", 2_900, AT("2024-01-02T09:00:00Z"), None, True),
    ]
    _facts_follow_the_versions(settings)

    # The same events again (same ids): no new version, no changed row (surrogate keys included).
    before = checksums(settings, derived=True)
    keys = query(settings, "SELECT customer_key, customer_id, valid_from FROM warehouse.customer ORDER BY 1")
    plan_keys = query(settings, "SELECT plan_key, plan_id, valid_from FROM warehouse.plan ORDER BY 1")
    publish(settings, sent)
    drain(settings)
    assert checksums(settings, derived=True) == before
    assert query(settings, "SELECT customer_key, customer_id, valid_from FROM warehouse.customer ORDER BY 1") == keys
    assert query(settings, "SELECT plan_key, plan_id, valid_from FROM warehouse.plan ORDER BY 1") == plan_keys


def _facts_follow_the_versions(settings: Settings) -> None:
    g = query(
        settings,
        "SELECT snapshot_date::text, region_id, quantity, mrr_minor FROM warehouse.subscriptions_snapshot"
        " WHERE subscription_id = 'sub-G' AND snapshot_date IN ('2024-03-09', '2024-03-10', '2024-04-01')"
        " ORDER BY 1",
    )
    assert g == [("2024-03-09", "na", 1, 2_900), ("2024-03-10", "latam", 2, 5_800), ("2024-04-01", "latam", 2, 5_800)]
    revenue_regions = query(
        settings,
        "SELECT region_id, min(revenue_date)::text, max(revenue_date)::text FROM warehouse.revenue_daily"
        " WHERE customer_id = 'cus-G' GROUP BY 1 ORDER BY 2",
    )
    assert revenue_regions == [("na", "2024-01-02", "2024-03-09"), ("latam", "2024-03-10", "2024-04-01")]
    h = query(
        settings,
        "SELECT s.snapshot_date::text, i.unit_price_minor, s.mrr_minor FROM warehouse.subscriptions_snapshot s"
        " JOIN warehouse.subscription_state i ON i.subscription_id = s.subscription_id"
        "  AND i.valid_from <= s.snapshot_date AND (i.valid_to IS NULL OR i.valid_to > s.snapshot_date)"
        " WHERE s.subscription_id = 'sub-H' AND snapshot_date IN ('2024-02-29', '2024-03-01') ORDER BY 1",
    )
    assert h == [("2024-02-29", 7_900, 7_900), ("2024-03-01", 8_900, 8_900)]
    # Every revenue row, joined to the customer version in force at the end of its day, has one
    # and agrees with its region; every growth-monthly-usd MRR row from the new price's effective
    # date on is at the plan version's price.
    disagreeing = query(
        settings,
        "SELECT f.revenue_date, f.customer_id, f.region_id, c.region_id FROM warehouse.revenue_daily f"
        " LEFT JOIN warehouse.customer c ON c.customer_id = f.customer_id"
        "  AND c.valid_from < f.revenue_date + 1 AND (c.valid_to IS NULL OR c.valid_to >= f.revenue_date + 1)"
        " WHERE c.region_id IS DISTINCT FROM f.region_id",
    )
    assert disagreeing == []
    plan_prices = query(
        settings,
        "SELECT DISTINCT f.customer_id, p.unit_price_minor, f.mrr_minor FROM warehouse.revenue_daily f"
        " JOIN warehouse.plan p ON p.plan_id = f.plan_id"
        "  AND p.valid_from < f.revenue_date + 1 AND (p.valid_to IS NULL OR p.valid_to >= f.revenue_date + 1)"
        " WHERE f.plan_id = 'growth-monthly-usd' AND f.revenue_date >= '2024-03-01' ORDER BY 1",
    )
    assert plan_prices == [("cus-H", 8_900, 8_900), ("cus-K", 8_900, 8_900)]
