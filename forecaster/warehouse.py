"""What the forecaster reads: daily facts from the warehouse, turned into hierarchical series.

Revenue is forecast as recurring revenue: `mrr_reporting_minor` summed per day. MRR is a smooth
stock that subscription businesses plan against; billings (`billed_reporting_minor`) are lumpy
(annual invoices land on one day) and are available as the opt-in metric `billed`. Active
subscriptions are the count of `is_active` rows per snapshot day. Each metric is read per
(region, plan) and summed up to region, plan and total, so the levels add up by construction.
Monthly series hold the month-end value for stocks (MRR, active subscriptions) and the month's sum
for flows (billings), for complete months only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import polars as pl
import psycopg

SQL_DIR = Path(__file__).parent / "sql"
KEYS = ("region_id", "plan_id")


@dataclass(frozen=True)
class Metric:
    name: str
    source: Literal["revenue", "subscriptions"]
    stock: bool  # a level at the end of the day (True) or an amount during the day (False)
    unit: Literal["minor_units", "count"]


METRICS: dict[str, Metric] = {
    "mrr": Metric("mrr", "revenue", stock=True, unit="minor_units"),
    "active_subscriptions": Metric("active_subscriptions", "subscriptions", stock=True, unit="count"),
    "billed": Metric("billed", "revenue", stock=False, unit="minor_units"),
}
DEFAULT_METRICS = ("mrr", "active_subscriptions")


@dataclass(frozen=True)
class Facts:
    """Bottom-level daily facts: ds, region_id, plan_id and one column per metric of the source."""

    revenue: pl.DataFrame
    subscriptions: pl.DataFrame
    reporting_currency: str | None

    def bottom(self, metric: Metric, dtype: type[pl.Float64] | type[pl.Int64] = pl.Float64) -> pl.DataFrame:
        """Float for the models (Nixtla's contract), Int64 for exact variance arithmetic."""
        frame = self.revenue if metric.source == "revenue" else self.subscriptions
        return frame.select("ds", *KEYS, pl.col(metric.name).cast(dtype).alias("y"))


def _sql(name: str) -> str:
    return (SQL_DIR / name).read_text(encoding="utf-8")


def latest_actuals(conn: psycopg.Connection[Any], until: date | None = None) -> date | None:
    """The last day both sources have facts for (the earlier of the two maxima)."""
    row = conn.execute(_sql("read_latest_actuals.sql"), {"until": until}).fetchone()
    days = [day for day in (row or ()) if day is not None]
    return min(days) if days else None


def read_facts(conn: psycopg.Connection[Any], start: date, end: date) -> Facts:
    params = {"start": start, "end": end}
    revenue_rows = conn.execute(_sql("read_revenue_daily.sql"), params).fetchall()
    revenue = pl.DataFrame(
        revenue_rows,
        schema={"ds": pl.Date, "region_id": pl.String, "plan_id": pl.String, "currency": pl.String,
                "mrr": pl.Int64, "billed": pl.Int64},
        orient="row",
    )  # fmt: skip
    currencies = revenue["currency"].unique().to_list()
    if len(currencies) > 1:
        raise ValueError(f"revenue facts mix reporting currencies {sorted(currencies)}; refusing to add them up")
    subscription_rows = conn.execute(_sql("read_active_subscriptions.sql"), params).fetchall()
    subscriptions = pl.DataFrame(
        subscription_rows,
        schema={"ds": pl.Date, "region_id": pl.String, "plan_id": pl.String, "active_subscriptions": pl.Int64},
        orient="row",
    )
    return Facts(revenue.drop("currency"), subscriptions, currencies[0] if currencies else None)


def series_id(metric: str, region_id: str | None, plan_id: str | None) -> str:
    parts = [metric]
    if region_id is None and plan_id is None:
        parts.append("total")
    if region_id is not None:
        parts.append(f"region={region_id}")
    if plan_id is not None:
        parts.append(f"plan={plan_id}")
    return "/".join(parts)


def _level(region: pl.Expr, plan: pl.Expr) -> pl.Expr:
    return (
        pl.when(region.is_null() & plan.is_null()).then(pl.lit("total"))
        .when(plan.is_null()).then(pl.lit("region"))
        .when(region.is_null()).then(pl.lit("plan"))
        .otherwise(pl.lit("region_plan"))
    )  # fmt: skip


def hierarchy(bottom: pl.DataFrame, metric: Metric, end: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Daily series of every level as a long `unique_id, ds, y` frame, plus the hierarchy spec
    (`unique_id, metric, level, region_id, plan_id`). Flow metrics count a day without rows as 0."""
    null = pl.lit(None, dtype=pl.String)
    levels = [
        bottom.group_by("ds").agg(pl.col("y").sum()).with_columns(null.alias("region_id"), null.alias("plan_id")),
        bottom.group_by("ds", "region_id").agg(pl.col("y").sum()).with_columns(null.alias("plan_id")),
        bottom.group_by("ds", "plan_id").agg(pl.col("y").sum()).with_columns(null.alias("region_id")),
        bottom.group_by("ds", *KEYS).agg(pl.col("y").sum()),
    ]
    values = pl.concat([frame.select("ds", *KEYS, "y") for frame in levels]) if bottom.height else bottom
    region, plan = pl.col("region_id"), pl.col("plan_id")
    ident = (
        pl.concat_str(
            [pl.lit(metric.name),
             pl.when(region.is_null() & plan.is_null()).then(pl.lit("/total")).otherwise(pl.lit("")),
             pl.when(region.is_not_null()).then(pl.lit("/region=") + region).otherwise(pl.lit("")),
             pl.when(plan.is_not_null()).then(pl.lit("/plan=") + plan).otherwise(pl.lit(""))]
        )
    )  # fmt: skip
    values = values.with_columns(ident.alias("unique_id"))
    spec = (
        values.select("unique_id", *KEYS)
        .unique()
        .with_columns(pl.lit(metric.name).alias("metric"), _level(region, plan).alias("level"))
        .sort("unique_id")
    )
    if not metric.stock:
        values = _zero_fill(values, end)
    return values.select("unique_id", "ds", "y").sort("unique_id", "ds"), spec


def _zero_fill(values: pl.DataFrame, end: date) -> pl.DataFrame:
    spans = values.group_by("unique_id").agg(pl.col("ds").min().alias("first"))
    days = spans.select("unique_id", pl.date_ranges("first", pl.lit(end)).alias("ds")).explode("ds")
    return days.join(values.select("unique_id", "ds", "y"), on=["unique_id", "ds"], how="left").with_columns(
        pl.col("y").fill_null(0)
    )


def monthly(daily: pl.DataFrame, metric: Metric, as_of: date) -> pl.DataFrame:
    """Month-start keyed series: last observed value (stocks) or sum (flows) of complete months."""
    month = pl.col("ds").dt.truncate("1mo")
    value = pl.col("y").sort_by("ds").last() if metric.stock else pl.col("y").sum()
    return (
        daily.filter(pl.col("ds").dt.month_end() <= as_of)
        .group_by("unique_id", month.alias("month"))
        .agg(value.alias("y"))
        .rename({"month": "ds"})
        .sort("unique_id", "ds")
    )
