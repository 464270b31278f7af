"""The MRR rules' settings, on the hand-computed scenario of test_warehouse_mrr_rules (its
docstring has the events): loaded under non-default rules, re-derived by `refresh` under other
ones, then under the defaults, which must land on the default scenario's numbers again.

Rules 1: past_due_grace_days 0, apply_discounts false, trials_count_as_active true.
  A 158000/yr undiscounted: round_half_even(158000 / 12) = 13167 from 2024-01-10 (default 10533
    until 2024-04-09).
  B trialing 2024-01-05..01-18 counts, with its would-be MRR 7300 (default: inactive, 0).
  C payment_failed 2024-02-02: keeps MRR on that day only (2024-02-02 + 0), 0 from 2024-02-03.
Rules 2: past_due_grace_days 30, discounts applied, trials excluded.
  C keeps 8700 through 2024-03-03 (2024-02-02 + 30; 2024 is a leap year), 0 from 2024-03-04: it
    is still in February's closing MRR and churns in March (default: churns in February).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_warehouse_mrr_rules import FX, MONTH_ENDS
from warehouse_scenario_events import scenario
from warehouse_sink_helpers import drain, publish, query, sink_settings

from platform_common.config import Settings
from sinks.warehouse import MrrRules, load_fx, refresh

pytestmark = pytest.mark.integration

RULES_1 = MrrRules(past_due_grace_days=0, apply_discounts=False, trials_count_as_active=True)
RULES_2 = MrrRules(past_due_grace_days=30, apply_discounts=True, trials_count_as_active=False)
MONTH_ENDS_1 = {
    "2024-01-31": {"A": 13167, "B": 7300, "C": 8700, "D": 6500, "E": 2900, "F": 2},
    "2024-02-29": {"A": 13167, "B": 7300, "D": 6500, "E": 7900, "F": 2},
    "2024-03-31": {"A": 13167, "E": 7900, "F": 2},
    "2024-04-30": {"A": 13167, "B": 7300, "E": 7900, "F": 2},
    "2024-05-31": {"A": 13167, "B": 7300, "D": 6500, "E": 7900, "F": 2},
}
MONTH_ENDS_2 = {
    **MONTH_ENDS,
    "2024-02-29": {"A": 10533, "B": 7300, "C": 8700, "D": 6500, "E": 7900, "F": 2},
}
STARTER = (
    "SELECT month_start_date::text, opening_mrr_minor, contraction_mrr_minor, churned_mrr_minor, closing_mrr_minor"
    " FROM warehouse.mrr_movement_monthly WHERE plan_id = 'starter-monthly-usd' AND month_start_date <= '2024-03-01'"
    " ORDER BY 1"
)


def _month_ends(settings: Settings) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = {}
    for day in MONTH_ENDS:
        rows = query(
            settings,
            "SELECT subscription_id, mrr_minor FROM warehouse.subscriptions_snapshot"
            " WHERE snapshot_date = %s AND is_active",
            (day,),
        )
        result[day] = {sub.removeprefix("sub-"): mrr for sub, mrr in rows}
    return result


def _snapshot(settings: Settings, day: str, customer: str) -> tuple[Any, ...]:
    rows: list[tuple[Any, ...]] = query(
        settings,
        "SELECT status, is_active, mrr_minor, mrr_reporting_minor FROM warehouse.subscriptions_snapshot"
        " WHERE snapshot_date = %s AND subscription_id = %s",
        (day, f"sub-{customer}"),
    )
    assert len(rows) == 1, (day, customer)
    return rows[0]


def _total_mrr(settings: Settings, day: str) -> int:
    return int(
        query(settings, "SELECT sum(mrr_minor) FROM warehouse.revenue_daily WHERE revenue_date = %s", (day,))[0][0]
    )


def test_mrr_rules_settings_change_mrr_as_documented(
    fresh_database: Settings, isolated_topics: Settings, tmp_path: Path
) -> None:
    settings = fresh_database.model_copy(update={"kafka": isolated_topics.kafka})
    rates = tmp_path / "fx.csv"
    rates.write_text(FX, encoding="utf-8")
    load_fx(settings, rates, sink_settings())
    publish(settings, scenario())
    drain(settings, sink_settings(mrr=RULES_1))

    assert _month_ends(settings) == MONTH_ENDS_1
    assert _snapshot(settings, "2024-01-10", "B") == ("trialing", True, 7300, 8030)  # EUR at 1.1
    assert _snapshot(settings, "2024-01-10", "A") == ("active", True, 13167, 13167)
    assert _snapshot(settings, "2024-04-09", "A") == ("active", True, 13167, 13167)
    assert _snapshot(settings, "2024-02-02", "C") == ("past_due", True, 8700, 8700)
    assert _snapshot(settings, "2024-02-03", "C") == ("past_due", False, 0, 0)
    # 2024-01-12: A 13167 + B 7300 (trial) + C 8700 + E 2900 + F 2; defaults: 10533 + 0 + ... = 22135.
    assert _total_mrr(settings, "2024-01-12") == 32069
    assert query(settings, STARTER) == [
        ("2024-01-01", 0, 0, 0, 11600),
        ("2024-02-01", 11600, -2900, -8700, 0),
    ]  # no March row: nothing left on the plan

    refresh(settings, sink_settings(mrr=RULES_2))
    assert _month_ends(settings) == MONTH_ENDS_2
    assert _snapshot(settings, "2024-01-10", "B") == ("trialing", False, 0, 0)
    assert _snapshot(settings, "2024-02-17", "C") == ("past_due", True, 8700, 8700)
    assert _snapshot(settings, "2024-03-03", "C") == ("past_due", True, 8700, 8700)
    assert _snapshot(settings, "2024-03-04", "C") == ("past_due", False, 0, 0)
    assert _snapshot(settings, "2024-04-09", "A")[2] == 10533
    assert _total_mrr(settings, "2024-01-12") == 22135
    assert query(settings, STARTER) == [
        ("2024-01-01", 0, 0, 0, 11600),
        ("2024-02-01", 11600, -2900, 0, 8700),
        ("2024-03-01", 8700, 0, -8700, 0),
    ]

    refresh(settings, sink_settings())
    assert _month_ends(settings) == MONTH_ENDS
    assert _snapshot(settings, "2024-02-17", "C") == ("past_due", False, 0, 0)
