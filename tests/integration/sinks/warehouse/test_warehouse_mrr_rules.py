"""The MRR rules on a hand-computed scenario (see warehouse_scenario_events.scenario()).

Worked numbers (minor units):
  A growth-annual-usd x2 = 158000/yr, 20 % off for 3 months from 2024-01-10:
      round_half_even((158000 - 31600) / 12) = 10533 until 2024-04-09, then 158000 / 12 -> 13167.
  B growth-monthly-eur 7300: trialing (0) until 2024-01-19, active, paused from 2024-03-19 (0),
      resumed 2024-04-25 (7300).
  C starter-monthly-usd x3 = 8700: payment_failed 2024-02-02, never paid: past_due with MRR up to
      2024-02-16 (14-day grace), 0 from 2024-02-17.
  D growth-monthly-gbp 6500: cancel sent 2024-02-10 effective 2024-03-15, reactivated 2024-05-20.
  E starter-monthly-usd 2900 -> growth-monthly-usd 7900 effective 2024-02-03.
  F tiny-2y-usd: 60 per 2 years -> 60 / 24 = 2.5 -> 2 (ties to even).
FX to USD: EUR 1.1 from 2023-12-01 and 1.2 from 2024-03-01; GBP 1.25.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from warehouse_scenario_events import scenario
from warehouse_sink_helpers import checksums, drain, publish, query, run_cli, sink_settings

from platform_common.config import Settings
from sinks.warehouse import load_fx, refresh

pytestmark = pytest.mark.integration

FX = """currency,reporting_currency,effective_date,rate
EUR,USD,2023-12-01,1.1
EUR,USD,2024-03-01,1.2
GBP,USD,2023-12-01,1.25
"""
MONTH_ENDS = {
    "2024-01-31": {"A": 10533, "B": 7300, "C": 8700, "D": 6500, "E": 2900, "F": 2},
    "2024-02-29": {"A": 10533, "B": 7300, "D": 6500, "E": 7900, "F": 2},
    "2024-03-31": {"A": 10533, "E": 7900, "F": 2},
    "2024-04-30": {"A": 13167, "B": 7300, "E": 7900, "F": 2},
    "2024-05-31": {"A": 13167, "B": 7300, "D": 6500, "E": 7900, "F": 2},
}
# (month, region, plan, currency) -> (opening, new, expansion, contraction, churned, reactivation, closing)
MOVEMENTS = {
    ("2024-01-01", "na", "growth-annual-usd", "USD"): (0, 10533, 0, 0, 0, 0, 10533),
    ("2024-01-01", "emea", "growth-monthly-eur", "EUR"): (0, 7300, 0, 0, 0, 0, 7300),
    ("2024-01-01", "na", "starter-monthly-usd", "USD"): (0, 11600, 0, 0, 0, 0, 11600),
    ("2024-01-01", "uki", "growth-monthly-gbp", "GBP"): (0, 6500, 0, 0, 0, 0, 6500),
    ("2024-01-01", "na", "tiny-2y-usd", "USD"): (0, 2, 0, 0, 0, 0, 2),
    ("2024-02-01", "na", "starter-monthly-usd", "USD"): (11600, 0, 0, -2900, -8700, 0, 0),
    ("2024-02-01", "na", "growth-monthly-usd", "USD"): (0, 0, 7900, 0, 0, 0, 7900),
    ("2024-03-01", "emea", "growth-monthly-eur", "EUR"): (7300, 0, 0, 0, -7300, 0, 0),
    ("2024-03-01", "uki", "growth-monthly-gbp", "GBP"): (6500, 0, 0, 0, -6500, 0, 0),
    ("2024-04-01", "na", "growth-annual-usd", "USD"): (10533, 0, 2634, 0, 0, 0, 13167),
    ("2024-04-01", "emea", "growth-monthly-eur", "EUR"): (0, 0, 0, 0, 0, 7300, 7300),
    ("2024-05-01", "uki", "growth-monthly-gbp", "GBP"): (0, 0, 0, 0, 0, 6500, 6500),
}
COLUMNS = (
    "opening_mrr_minor, new_mrr_minor, expansion_mrr_minor, contraction_mrr_minor, churned_mrr_minor,"
    " reactivation_mrr_minor, closing_mrr_minor"
)


@pytest.fixture
def loaded(fresh_database: Settings, isolated_topics: Settings, tmp_path: Path) -> Settings:
    settings = fresh_database.model_copy(update={"kafka": isolated_topics.kafka})
    rates = tmp_path / "fx.csv"
    rates.write_text(FX, encoding="utf-8")
    load_fx(settings, rates, sink_settings())
    publish(settings, scenario())
    drain(settings)
    return settings


def test_scenario_follows_the_mrr_rules(loaded: Settings) -> None:
    """One load, several views of it (each service fixture costs seconds, so they are shared)."""
    _month_end_mrr_follows_the_rules(loaded)
    _states_on_the_days_the_rules_turn(loaded)
    _movements_bridge_and_fx_effect(loaded)
    _revenue_facts_and_dimensions(loaded)


def _snapshot(settings: Settings, day: str, customer: str) -> tuple[Any, ...] | None:
    rows = query(
        settings,
        "SELECT status, is_active, mrr_minor, mrr_reporting_minor FROM warehouse.subscriptions_snapshot"
        " WHERE snapshot_date = %s AND subscription_id = %s",
        (day, f"sub-{customer}"),
    )
    return rows[0] if rows else None


def _month_end_mrr_follows_the_rules(loaded: Settings) -> None:
    for day, expected in MONTH_ENDS.items():
        rows = query(
            loaded,
            "SELECT subscription_id, mrr_minor FROM warehouse.subscriptions_snapshot"
            " WHERE snapshot_date = %s AND is_active",
            (day,),
        )
        assert {sub.removeprefix("sub-"): mrr for sub, mrr in rows} == expected, day


def _states_on_the_days_the_rules_turn(loaded: Settings) -> None:
    assert _snapshot(loaded, "2024-01-10", "B") == ("trialing", False, 0, 0)
    assert _snapshot(loaded, "2024-01-19", "B") == ("active", True, 7300, 8030)
    assert _snapshot(loaded, "2024-02-01", "A") == ("active", True, 10533, 10533)  # refund day: no change
    assert _snapshot(loaded, "2024-02-10", "C") == ("past_due", True, 8700, 8700)
    assert _snapshot(loaded, "2024-02-16", "C") == ("past_due", True, 8700, 8700)
    assert _snapshot(loaded, "2024-02-17", "C") == ("past_due", False, 0, 0)
    assert _snapshot(loaded, "2024-03-14", "D") == ("active", True, 6500, 8125)
    assert _snapshot(loaded, "2024-03-15", "D") == ("canceled", False, 0, 0)
    assert _snapshot(loaded, "2024-03-16", "D") is None
    assert _snapshot(loaded, "2024-03-19", "B") == ("paused", False, 0, 0)
    assert _snapshot(loaded, "2024-04-09", "A")[2] == 10533  # type: ignore[index]
    assert _snapshot(loaded, "2024-04-10", "A")[2] == 13167  # type: ignore[index]
    assert _snapshot(loaded, "2024-05-31", "F") == ("active", True, 2, 2)


def _movements_bridge_and_fx_effect(loaded: Settings) -> None:
    rows = query(
        loaded,
        f"SELECT month_start_date::text, region_id, plan_id, currency, {COLUMNS} FROM warehouse.mrr_movement_monthly",
    )
    changed = {row[:4]: row[4:] for row in rows if row[4:] != (row[4], 0, 0, 0, 0, 0, row[4])}
    assert changed == MOVEMENTS
    eur = {
        row[0]: row[1:]
        for row in query(
            loaded,
            "SELECT month_start_date::text, opening_mrr_reporting_minor, churned_mrr_reporting_minor,"
            " reactivation_mrr_reporting_minor, fx_effect_minor, closing_mrr_reporting_minor, fx_rate"
            " FROM warehouse.mrr_movement_monthly WHERE currency = 'EUR'",
        )
    }
    assert eur["2024-02-01"][:5] == (8030, 0, 0, 0, 8030)
    assert eur["2024-03-01"][:5] == (8030, -8760, 0, 730, 0)  # churn at March's rate; the rest is FX
    assert eur["2024-04-01"][:5] == (0, 0, 8760, 0, 8760)
    assert str(eur["2024-04-01"][5]) == "1.2000000000"


def _revenue_facts_and_dimensions(loaded: Settings) -> None:
    b = query(
        loaded,
        "SELECT plan_id, region_id, billed_minor, collected_minor, mrr_minor, fx_rate::text,"
        " billed_reporting_minor, collected_reporting_minor, mrr_reporting_minor"
        " FROM warehouse.revenue_daily WHERE revenue_date = '2024-02-19' AND customer_id = 'cus-B'",
    )
    assert b == [("growth-monthly-eur", "emea", 7300, 7300, 7300, "1.1000000000", 8030, 8030, 8030)]
    c = query(
        loaded,
        "SELECT billed_minor, collected_minor, mrr_minor FROM warehouse.revenue_daily"
        " WHERE revenue_date = '2024-02-02' AND customer_id = 'cus-C'",
    )
    assert c == [(8700, 0, 8700)]
    a = query(
        loaded,
        "SELECT refunded_minor, refunded_reporting_minor, mrr_minor FROM warehouse.revenue_daily"
        " WHERE revenue_date = '2024-02-01' AND customer_id = 'cus-A'",
    )
    assert a == [(10000, 10000, 10533)]
    assert query(loaded, "SELECT count(*) FROM warehouse.customer WHERE is_current")[0][0] == 6
    assert query(loaded, "SELECT count(*), count(DISTINCT plan_id) FROM warehouse.plan")[0] == (6, 6)
    assert dict(query(loaded, "SELECT region_id, currency FROM warehouse.region")) == {
        "na": "USD",
        "emea": "EUR",
        "uki": "GBP",
    }
    usage = query(loaded, "SELECT quantity, billable_quantity, event_count FROM warehouse.usage_daily")
    assert usage == [(5, 5, 1)]


def test_refresh_is_identical_and_load_fx_reconverts(loaded: Settings, tmp_path: Path) -> None:
    before = checksums(loaded)
    refresh(loaded, sink_settings())
    assert checksums(loaded) == before

    rates = tmp_path / "fx-update.csv"
    rates.write_text("currency,reporting_currency,effective_date,rate\nEUR,USD,2024-03-01,1.3\n", encoding="utf-8")
    result = run_cli(loaded, "load-fx", str(rates))
    assert result.returncode == 0, result.stderr
    assert _snapshot(loaded, "2024-04-30", "B") == ("active", True, 7300, 9490)
    assert _snapshot(loaded, "2024-02-29", "B") == ("active", True, 7300, 8030)
    reconverted = checksums(loaded)
    assert reconverted != before
    assert run_cli(loaded, "refresh").returncode == 0
    assert checksums(loaded) == reconverted
