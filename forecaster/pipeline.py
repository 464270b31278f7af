"""One frequency of the warehouse job: build the hierarchy's series, forecast, reconcile.

All metrics of a frequency go through one engine call (fewer process-pool start-ups, better use
of both cores); reconciliation is then decided per metric, since MRR and subscription counts
behave differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl

from forecaster import reconcile as rc
from forecaster.engine import EngineOptions, Progress, fit_forecast
from forecaster.frames import fill_gaps
from forecaster.warehouse import KEYS, METRICS, Facts, hierarchy, monthly

LEVELS = (80, 95)
FREQS = {"day": "D", "month": "MS"}


@dataclass(frozen=True)
class FrequencyResult:
    freq: str
    models: pl.DataFrame  # engine model table + metric dims, reconciled, base_mase
    raw: pl.DataFrame  # final forecasts on the grid (reconciled where adopted)
    ds: pl.Series  # dates of `raw`, row for row
    spec: pl.DataFrame
    coherent: list[rc.Hierarchy]
    reports: dict[str, dict[str, Any]]


def series_for(
    facts: Facts, metrics: tuple[str, ...], freq: str, as_of: date, daily_days: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Long `unique_id, ds, y` frame of every level of every metric, and the hierarchy spec."""
    frames, specs = [], []
    for name in metrics:
        metric = METRICS[name]
        daily, spec = hierarchy(facts.bottom(metric), metric, as_of)
        if daily.height == 0:
            continue
        if freq == "day":
            frames.append(daily.filter(pl.col("ds") > as_of - timedelta(days=daily_days)))
        else:
            frames.append(monthly(daily, metric, as_of))
        specs.append(spec)
    if not frames:
        return pl.DataFrame(), pl.DataFrame()
    frame = pl.concat(frames)
    spec = pl.concat(specs).filter(pl.col("unique_id").is_in(frame["unique_id"].unique().implode()))
    return frame, spec


def forecast_frequency(
    frame: pl.DataFrame,
    spec: pl.DataFrame,
    freq: str,
    horizon: int,
    engine: EngineOptions,
    *,
    reconcile: bool,
    progress: Progress,
) -> FrequencyResult:
    options = EngineOptions(
        models=engine.models, windows=engine.windows, refit=engine.refit, approximation=engine.approximation,
        max_gap_fraction=engine.max_gap_fraction, n_jobs=engine.n_jobs,
        nonnegative=True, align_end=True, keep_backtests=reconcile,
    )  # fmt: skip
    result = fit_forecast(frame, horizon, LEVELS, FREQS[freq], options=options, progress=progress)
    models = result.models.with_columns(pl.lit(False).alias("reconciled"), pl.col("mase").alias("base_mase"))
    raw = result.raw
    coherent: list[rc.Hierarchy] = []
    reports: dict[str, dict[str, Any]] = {}
    history = fill_gaps(result.grid.values)
    for (metric,), metric_spec in spec.group_by("metric", maintain_order=True):
        tree = rc.build_hierarchy(metric_spec, KEYS)
        if not reconcile:
            reports[f"{metric}/{freq}"] = {"evaluated": False, "adopted": False, "reason": "disabled"}
            continue
        report = rc.evaluate(tree, result.backtests, result.cv_fitted, history, result.grid.freq.season_length, LEVELS)
        reports[f"{metric}/{freq}"] = report.to_json()
        if report.adopted and report.method:
            raw = rc.apply(tree, raw, report.method, result.final_fitted, LEVELS)
            update = report.series_metrics.with_columns(pl.lit(True).alias("reconciled"))
            models = models.update(update, on="unique_id", how="left")
            coherent.append(tree)
    progress("reconcile")
    dims = spec.select("unique_id", "metric", "level", *KEYS)
    return FrequencyResult(
        freq=freq,
        models=models,
        raw=raw,
        ds=result.grid.to_ds(raw["t"]),
        spec=dims,
        coherent=coherent,
        reports=reports,
    )
