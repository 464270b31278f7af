"""From bottom-level warehouse facts to the hierarchy's daily and monthly series."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from forecaster.warehouse import METRICS, hierarchy, monthly, series_id


def bottom(rows: list[tuple[date, str, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"ds": pl.Date, "region_id": pl.String, "plan_id": pl.String, "y": pl.Int64}, orient="row"
    )


def test_levels_add_up_and_get_stable_ids() -> None:
    d1, d2 = date(2025, 1, 1), date(2025, 1, 2)
    facts = bottom([(d1, "eu", "pro", 10), (d1, "eu", "basic", 5), (d1, "us", "pro", 7), (d2, "eu", "pro", 11)])
    values, spec = hierarchy(facts, METRICS["mrr"], d2)
    by_id = {uid: part.sort("ds")["y"].to_list() for (uid,), part in values.group_by("unique_id")}
    assert by_id == {
        "mrr/total": [22, 11],
        "mrr/region=eu": [15, 11],
        "mrr/region=us": [7],  # no row on d2: a gap for a stock, not a zero
        "mrr/plan=pro": [17, 11],
        "mrr/plan=basic": [5],
        "mrr/region=eu/plan=pro": [10, 11],
        "mrr/region=eu/plan=basic": [5],
        "mrr/region=us/plan=pro": [7],
    }
    levels = dict(zip(spec["unique_id"].to_list(), spec["level"].to_list(), strict=True))
    assert (levels["mrr/total"], levels["mrr/plan=pro"]) == ("total", "plan")
    assert levels["mrr/region=eu/plan=pro"] == "region_plan"
    assert series_id("mrr", "eu", "pro") == "mrr/region=eu/plan=pro"
    assert series_id("mrr", None, None) == "mrr/total"


def test_flows_count_a_missing_day_as_zero() -> None:
    facts = bottom([(date(2025, 1, 1), "eu", "pro", 900), (date(2025, 1, 3), "eu", "pro", 900)])
    values, _ = hierarchy(facts, METRICS["billed"], date(2025, 1, 4))
    total = values.filter(pl.col("unique_id") == "billed/total").sort("ds")
    assert total["y"].to_list() == [900, 0, 900, 0]


def test_monthly_month_end_for_stocks_sum_for_flows_complete_months_only() -> None:
    start = date(2025, 1, 1)
    days = [start + timedelta(days=i) for i in range(31 + 28 + 10)]  # January, February, part of March
    daily = pl.DataFrame({"unique_id": "x", "ds": days, "y": [float(i) for i in range(len(days))]})
    stock = monthly(daily, METRICS["mrr"], as_of=days[-1])
    flow = monthly(daily, METRICS["billed"], as_of=days[-1])
    assert stock["ds"].to_list() == [date(2025, 1, 1), date(2025, 2, 1)]
    assert stock["y"].to_list() == [30.0, 58.0]  # value on the last day of the month
    assert flow["y"].to_list() == [float(sum(range(31))), float(sum(range(31, 59)))]
