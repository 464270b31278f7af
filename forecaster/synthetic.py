"""A synthetic but plausible subscription business, for benchmarks, tests and demos.

Per (region, plan) cell the active subscriptions follow a birth-death process (weekday-dependent
sign-ups, daily churn, growth that differs by cell); MRR is the active count times the plan price
with a little upgrade/discount noise; billings land on sign-up days. Revenue facts are written as
one aggregate customer per cell and day (the forecaster only reads sums), subscription snapshots
as one row per subscription and day, plus a few cancelled rows so `is_active` matters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import psycopg

from forecaster.warehouse import Facts

SQL_DIR = Path(__file__).parent / "sql"
PRICES = (900, 2900, 7900, 29900)
WEEKDAY_SIGNUPS = np.array([1.25, 1.2, 1.1, 1.05, 0.95, 0.7, 0.75])  # Monday first


@dataclass(frozen=True)
class SyntheticSpec:
    regions: int = 4
    plans: int = 4
    days: int = 730
    end: date = date(2025, 12, 31)
    prefix: str = "syn"
    seed: int = 7
    base_subscriptions: tuple[int, int] = (20, 60)
    currency: str = "USD"

    @property
    def start(self) -> date:
        return self.end - timedelta(days=self.days - 1)


def generate(spec: SyntheticSpec) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(revenue_daily rows, subscriptions_snapshot rows) as polars frames."""
    rng = np.random.default_rng(spec.seed)
    days = [spec.start + timedelta(days=i) for i in range(spec.days)]
    weekday = np.array([d.weekday() for d in days])
    revenue: list[dict[str, Any]] = []
    snapshots: list[pl.DataFrame] = []
    for r in range(spec.regions):
        for p in range(spec.plans):
            region, plan = f"{spec.prefix}-region-{r}", f"{spec.prefix}-plan-{p}"
            price = PRICES[p % len(PRICES)] * (1 + r // len(PRICES))
            active = int(rng.integers(*spec.base_subscriptions))
            churn = rng.uniform(0.002, 0.006)
            signup_rate = active * churn * rng.uniform(1.1, 1.8)
            counts, signups = np.empty(spec.days, dtype=np.int64), np.empty(spec.days, dtype=np.int64)
            for i in range(spec.days):
                signups[i] = rng.poisson(signup_rate * WEEKDAY_SIGNUPS[weekday[i]])
                active = max(active + int(signups[i]) - int(rng.binomial(active, churn)), 0)
                counts[i] = active
            uplift = 1 + rng.normal(0, 0.004, spec.days).cumsum() / 10
            mrr = np.rint(counts * price * uplift).astype(np.int64)
            for i, day in enumerate(days):
                revenue.append(
                    {"revenue_date": day, "customer_id": f"{region}/{plan}", "plan_id": plan, "region_id": region,
                     "mrr": int(mrr[i]), "billed": int(signups[i] * price)}
                )  # fmt: skip
            cell = pl.DataFrame({"snapshot_date": days, "n": counts, "gone": rng.poisson(1.0, spec.days)})
            snapshots.append(
                cell.with_columns(pl.int_ranges(0, pl.col("n") + pl.col("gone")).alias("k"))
                .explode("k")
                .drop_nulls("k")
                .select(
                    "snapshot_date",
                    pl.format("{}/{}/sub-{}", pl.lit(region), pl.lit(plan), pl.col("k")).alias("subscription_id"),
                    pl.format("{}/{}/cust-{}", pl.lit(region), pl.lit(plan), pl.col("k")).alias("customer_id"),
                    pl.lit(plan).alias("plan_id"),
                    pl.lit(region).alias("region_id"),
                    (pl.col("k") < pl.col("n")).alias("is_active"),
                    pl.lit(price).alias("price"),
                )
            )
    return pl.DataFrame(revenue), pl.concat(snapshots)


def insert(conn: psycopg.Connection[Any], spec: SyntheticSpec) -> tuple[int, int]:
    """COPY the generated facts into the warehouse tables; returns (revenue rows, snapshot rows)."""
    revenue, snapshots = generate(spec)
    currency = spec.currency
    with conn.cursor() as cur:
        with cur.copy((SQL_DIR / "copy_synthetic_revenue.sql").read_text(encoding="utf-8")) as copy:
            for row in revenue.iter_rows(named=True):
                copy.write_row(
                    (row["revenue_date"], row["customer_id"], row["plan_id"], row["region_id"], currency,
                     row["billed"], row["mrr"], currency, 1, row["billed"], row["mrr"])
                )  # fmt: skip
        with cur.copy((SQL_DIR / "copy_synthetic_snapshots.sql").read_text(encoding="utf-8")) as copy:
            for day, sub, customer, plan, region, is_active, price in snapshots.iter_rows():
                status = "active" if is_active else "canceled"
                mrr = price if is_active else 0
                copy.write_row(
                    (day, sub, customer, plan, region, status, is_active, 1, currency, mrr, currency, 1, mrr)
                )
    return revenue.height, snapshots.height


def facts(spec: SyntheticSpec) -> Facts:
    """The generated business aggregated as `read_facts` would return it, without a database."""
    revenue, snapshots = generate(spec)
    daily_revenue = revenue.select(pl.col("revenue_date").alias("ds"), "region_id", "plan_id", "mrr", "billed")
    active = snapshots.group_by(pl.col("snapshot_date").alias("ds"), "region_id", "plan_id").agg(
        pl.col("is_active").sum().cast(pl.Int64).alias("active_subscriptions")
    )
    return Facts(daily_revenue, active.sort("ds", "region_id", "plan_id"), spec.currency)
