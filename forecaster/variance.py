"""Forecast vs actual for every vintage, recomputed whenever new actuals arrive.

`compute_variance` is idempotent: it rebuilds the actual series from the warehouse with the same
definitions the forecaster used (same levels, same month-end rule), joins them to the stored
forecasts and replaces the variance rows of the runs concerned in one transaction. Arithmetic is
exact decimal: actuals are integers (minor units, counts) and forecasts are numeric(20, 2).
Both metrics are "more is better" (revenue, active subscriptions), so actual above forecast is
favourable. Month- and quarter-to-date figures are running sums over the forecast dates of the
same calendar month / quarter that have actuals; for stock metrics (MRR, subscriptions) read
their percentage, which is the average gap over the period.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from uuid import UUID

import polars as pl

from forecaster import store
from forecaster.warehouse import METRICS, hierarchy, latest_actuals, monthly, read_facts
from platform_common.config import Settings, get_settings
from platform_common.postgres import Role, connect

log = logging.getLogger(__name__)
BASIS_POINT = Decimal("0.0001")


def percent(variance: Decimal, forecast: Decimal) -> Decimal | None:
    """100 * variance / |forecast|, four decimals; undefined (None) for a zero forecast."""
    if forecast == 0:
        return None
    return (variance * 100 / abs(forecast)).quantize(BASIS_POINT, rounding=ROUND_HALF_EVEN)


def favourability(actual: Decimal, forecast: Decimal) -> str:
    if actual > forecast:
        return "favourable"
    return "unfavourable" if actual < forecast else "on_forecast"


def _inside(actual: Decimal, lo: Decimal | None, hi: Decimal | None) -> bool | None:
    return None if lo is None or hi is None else lo <= actual <= hi


def variance_rows(forecasts: pl.DataFrame, actuals: pl.DataFrame) -> list[tuple[Any, ...]]:
    """Pure function behind `compute_variance`: rows for warehouse.forecast_variance.

    `forecasts`: run_id, series_id, freq, ds, point, lo_80, hi_80, lo_95, hi_95 (decimals).
    `actuals`: series_id, freq, ds, actual (integers or decimals).
    """
    joined = forecasts.join(actuals, on=["series_id", "freq", "ds"], how="inner").sort(
        "run_id", "series_id", "freq", "ds"
    )
    out: list[tuple[Any, ...]] = []
    running: dict[tuple[Any, ...], list[Decimal]] = {}
    for row in joined.iter_rows(named=True):
        actual, forecast = Decimal(row["actual"]), Decimal(row["point"])
        day: date = row["ds"]
        series = (row["run_id"], row["series_id"], row["freq"])
        month = running.setdefault((*series, "m", day.year, day.month), [Decimal(0), Decimal(0)])
        quarter = running.setdefault((*series, "q", day.year, (day.month - 1) // 3), [Decimal(0), Decimal(0)])
        for totals in (month, quarter):
            totals[0] += actual
            totals[1] += forecast
        variance = actual - forecast
        out.append(
            (
                UUID(str(row["run_id"])), row["series_id"], row["freq"], day, actual, forecast, variance,
                percent(variance, forecast),
                _inside(actual, row["lo_80"], row["hi_80"]), _inside(actual, row["lo_95"], row["hi_95"]),
                favourability(actual, forecast),
                month[0], month[1], month[0] - month[1], percent(month[0] - month[1], month[1]),
                quarter[0], quarter[1], quarter[0] - quarter[1], percent(quarter[0] - quarter[1], quarter[1]),
            )
        )  # fmt: skip
    return out


def actual_series(facts: Any, metrics: Iterable[str], as_of: date) -> pl.DataFrame:
    """Actuals on the forecaster's series definitions, integer-valued: series_id, freq, ds, actual."""
    parts = []
    for name in metrics:
        metric = METRICS[name]
        daily, _spec = hierarchy(facts.bottom(metric, dtype=pl.Int64), metric, as_of)
        parts.append(daily.with_columns(pl.lit("day").alias("freq")))
        parts.append(monthly(daily, metric, as_of).with_columns(pl.lit("month").alias("freq")))
    if not parts:
        return pl.DataFrame(schema={"series_id": pl.String, "freq": pl.String, "ds": pl.Date, "actual": pl.Int64})
    return pl.concat([p.select(pl.col("unique_id").alias("series_id"), "freq", "ds", pl.col("y").alias("actual"))
                      for p in parts])  # fmt: skip


def compute_variance(run_id: UUID | str | None = None, *, settings: Settings | None = None) -> int:
    """(Re)compute the variance of one run, or of every run when `run_id` is None.

    Safe to call any number of times, e.g. after each warehouse load; returns the rows written.
    """
    settings = settings or get_settings()
    run_ids = None if run_id is None else [UUID(str(run_id))]
    with connect(Role.WRITER, settings) as conn:
        until = latest_actuals(conn)
        forecasts = store.read_forecasts(conn, run_ids, until) if until else pl.DataFrame()
        rows: list[tuple[Any, ...]] = []
        if until is not None and forecasts.height:
            start = forecasts["ds"].min()
            assert isinstance(start, date)
            facts = read_facts(conn, start.replace(day=1), until)
            metrics = [m for m in forecasts["metric"].unique().to_list() if m in METRICS]
            rows = variance_rows(forecasts, actual_series(facts, metrics, until))
        written = store.replace_variance(conn, run_ids, rows)
    log.info("forecast variance computed", extra={"run_id": str(run_id) if run_id else "all", "rows": written})
    return written
