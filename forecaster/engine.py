"""`forecast_frame`: any long `unique_id, ds, y` polars frame in, forecasts with intervals out.

This is the one code path for the warehouse job, the CSV command and other stages: triage the
series, backtest the candidates (rolling origin), keep each series' best model, refit it on the
whole history and forecast. The warehouse job adds hierarchy reconciliation on top.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import polars as pl

from forecaster import backtest as bt
from forecaster.fitting import bound_columns, fit_chosen, fit_fallbacks, tidy_bounds
from forecaster.frames import FallbackReason, Grid, classify, fill_gaps, make_grid
from forecaster.frequency import Frequency
from forecaster.models import CANDIDATES, ModelDescription

Progress = Callable[[str], None]


@dataclass(frozen=True)
class EngineOptions:
    """How hard to work. Defaults are the production choices; tests and benchmarks shrink them."""

    models: tuple[str, ...] = CANDIDATES
    backtest: bool = True
    windows: int = 3
    refit: bool = False  # False: fit at the first origin, roll forward (statsforecast `forward`)
    approximation: bool | None = None  # AutoARIMA's stepwise approximation; None = on for daily/hourly
    max_gap_fraction: float = 0.1
    nonnegative: bool = False
    align_end: bool = False
    n_jobs: int = -1
    keep_backtests: bool = False  # keep chosen-model backtests and in-sample fits (reconciliation)


@dataclass(frozen=True)
class FrameForecast:
    forecasts: pl.DataFrame  # unique_id, ds, y, y-lo-<l>, y-hi-<l>, model
    models: pl.DataFrame  # one row per series: choice, fallback reason, backtest metrics
    grid: Grid
    raw: pl.DataFrame  # forecasts on the grid: unique_id, t, mean, lo-<l>, hi-<l>, model
    backtests: pl.DataFrame = field(default_factory=pl.DataFrame)  # unique_id, cutoff, t, y, yhat, bounds
    cv_fitted: pl.DataFrame = field(default_factory=pl.DataFrame)  # unique_id, cutoff, t, y, fitted
    final_fitted: pl.DataFrame = field(default_factory=pl.DataFrame)  # unique_id, t, y, fitted


PARALLEL_MIN_SERIES = 8  # below this a process pool costs more (~0.25 s to start) than it saves


def _jobs(requested: int, n_series: int) -> int:
    return 1 if n_series < PARALLEL_MIN_SERIES else requested


def normalise_levels(levels: Sequence[int]) -> tuple[int, ...]:
    out = tuple(sorted({int(level) for level in levels}))
    if not out or any(not 0 < level < 100 for level in out):
        raise ValueError(f"levels must be integers in (0, 100), got {list(levels)}")
    return out


def forecast_frame(
    frame: pl.DataFrame,
    horizon: int,
    levels: Sequence[int] = (80, 95),
    freq: str | Frequency = "D",
    *,
    options: EngineOptions | None = None,
) -> pl.DataFrame:
    """Forecast every series of a long frame (Nixtla's contract).

    Returns `unique_id, ds, y` (point forecast) plus `y-lo-<level>` / `y-hi-<level>` and the
    `model` used per series. `ds` keeps the input dtype; `y` is float, as in Nixtla's libraries.
    """
    return fit_forecast(frame, horizon, levels, freq, options=options).forecasts


def fit_forecast(
    frame: pl.DataFrame,
    horizon: int,
    levels: Sequence[int] = (80, 95),
    freq: str | Frequency = "D",
    *,
    options: EngineOptions | None = None,
    progress: Progress | None = None,
) -> FrameForecast:
    """`forecast_frame` with everything the warehouse job stores: per-series model choice,
    specification, fallback reason and backtest metrics (and backtests for reconciliation)."""
    if horizon < 1:
        raise ValueError("horizon must be at least 1")
    opts = options or EngineOptions()
    names = tuple(dict.fromkeys(opts.models))
    if not names or any(name not in CANDIDATES for name in names):
        raise ValueError(f"models must be a non-empty subset of {CANDIDATES}")
    levels_t = normalise_levels(levels)
    note = progress or (lambda _stage: None)
    grid = make_grid(frame, freq, align_end=opts.align_end)
    season = grid.freq.season_length
    approximation = opts.approximation if opts.approximation is not None else grid.freq.unit != "month"
    triage = classify(grid, max_gap_fraction=opts.max_gap_fraction)
    note("triage")

    modelled_ids = triage.filter(pl.col("fallback_reason").is_null())["unique_id"]
    filled = fill_gaps(grid.values.filter(pl.col("unique_id").is_in(modelled_ids.implode())))
    selection, backtests, cv_fitted = _backtest(filled, names, season, horizon, levels_t, opts, approximation)
    note("backtest")

    finals, descriptions, fitted_parts = [], {}, []
    for (name,), ids in selection.group_by("model", maintain_order=True):
        subset = filled.filter(pl.col("unique_id").is_in(ids["unique_id"].implode()))
        final = fit_chosen(
            subset, str(name), season, horizon, levels_t,
            approximation=approximation, n_jobs=_jobs(opts.n_jobs, ids.height), in_sample=opts.keep_backtests,
        )  # fmt: skip
        finals.append(final.forecasts)
        descriptions.update(final.descriptions)
        if final.in_sample is not None:
            fitted_parts.append(final.in_sample)
    degenerate = triage.filter(pl.col("fallback_reason").is_not_null())
    reasons = {
        str(uid): FallbackReason(reason)
        for uid, reason in degenerate.select("unique_id", "fallback_reason").iter_rows()
    }
    fallback_values = grid.values.filter(pl.col("unique_id").is_in(list(reasons)))
    finals.append(fit_fallbacks(fallback_values, reasons, horizon, levels_t))
    note("fit")

    raw = tidy_bounds(pl.concat([part for part in finals if part.height]), levels_t, nonnegative=opts.nonnegative).sort(
        "unique_id", "t"
    )
    forecasts = raw.select(
        "unique_id",
        grid.to_ds(raw["t"]),
        pl.col("mean").alias("y"),
        *[pl.col(bound).alias(f"y-{bound}") for bound in bound_columns(levels_t)],
        "model",
    )
    models = _model_table(grid, triage, raw, selection, descriptions, levels_t)
    return FrameForecast(
        forecasts=forecasts,
        models=models,
        grid=grid,
        raw=raw,
        backtests=backtests,
        cv_fitted=cv_fitted,
        final_fitted=pl.concat(fitted_parts) if fitted_parts else pl.DataFrame(),
    )


def _backtest(
    filled: pl.DataFrame,
    names: tuple[str, ...],
    season: int,
    horizon: int,
    levels: tuple[int, ...],
    opts: EngineOptions,
    approximation: bool,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Choose a model per series. Series with the same backtest plan share one statsforecast call."""
    lengths = filled.group_by("unique_id").len().sort("unique_id")
    if lengths.height == 0:
        return pl.DataFrame(schema={"unique_id": pl.String, "model": pl.String}), pl.DataFrame(), pl.DataFrame()
    if not opts.backtest:
        return lengths.select("unique_id", pl.lit(names[0]).alias("model")), pl.DataFrame(), pl.DataFrame()
    plans: dict[bt.BacktestPlan, list[str]] = {}
    for uid, n in lengths.iter_rows():
        plan = bt.plan_backtest(int(n), horizon, season, opts.windows)
        assert plan is not None, "triage guarantees every modelled series can be backtested"
        plans.setdefault(plan, []).append(str(uid))
    selections, backtests, fitted = [], [], []
    for plan, ids in sorted(plans.items()):
        values = filled.filter(pl.col("unique_id").is_in(ids))
        cv, in_sample = bt.cross_validate(
            values, names, season, plan, levels,
            approximation=approximation, refit=opts.refit, n_jobs=_jobs(opts.n_jobs, len(ids)),
            fitted=opts.keep_backtests,
        )  # fmt: skip
        scales = {
            str(uid): bt.seasonal_scale(part["y"].to_numpy()[: part.height - plan.test_size], season)
            for (uid,), part in values.group_by("unique_id")
        }
        scores = bt.score(cv, scales, names, levels)
        chosen = bt.select(scores, names)
        candidates = scores.group_by("unique_id").agg(pl.struct("model", "mase").alias("candidates"))
        selections.append(
            chosen.join(candidates, on="unique_id").with_columns(
                pl.lit(plan.windows).alias("backtest_windows"), pl.lit(plan.horizon).alias("backtest_horizon")
            )
        )
        if opts.keep_backtests:
            backtests.append(bt.chosen_rows(cv, chosen, levels))
            fitted.append(_chosen_fitted(in_sample, chosen))
    return (
        pl.concat(selections, how="diagonal_relaxed"),
        pl.concat(backtests) if backtests else pl.DataFrame(),
        pl.concat(fitted) if fitted else pl.DataFrame(),
    )


def _chosen_fitted(in_sample: pl.DataFrame | None, chosen: pl.DataFrame) -> pl.DataFrame:
    assert in_sample is not None
    parts = [
        in_sample.filter(pl.col("unique_id").is_in(ids["unique_id"].implode())).select(
            "unique_id", "cutoff", "t", "y", pl.col(str(name)).alias("fitted")
        )
        for (name,), ids in chosen.group_by("model")
    ]
    return pl.concat(parts)


def _model_table(
    grid: Grid,
    triage: pl.DataFrame,
    raw: pl.DataFrame,
    selection: pl.DataFrame,
    descriptions: dict[str, ModelDescription],
    levels: tuple[int, ...],
) -> pl.DataFrame:
    spans = grid.values.group_by("unique_id").agg(pl.col("t").min().alias("first"), pl.col("t").max().alias("last"))
    used = raw.group_by("unique_id").agg(pl.col("model").first())
    table = (
        triage.join(spans, on="unique_id")
        .join(used, on="unique_id")
        .join(selection.drop("model", strict=False), on="unique_id", how="left")
    )
    rows = []
    for row in table.sort("unique_id").iter_rows(named=True):
        description = descriptions.get(row["unique_id"])
        candidates = {c["model"]: _json_number(c["mase"]) for c in row.get("candidates") or []}
        rows.append(
            {
                "unique_id": row["unique_id"],
                "model": row["model"],
                "model_spec": description.spec if description else row["model"],
                "fallback_reason": row["fallback_reason"],
                "arima_order": list(description.arima_order) if description and description.arima_order else None,
                "aic": description.aic if description else None,
                "n_obs": row["n_obs"],
                "gaps_filled": row["n_missing"] if row["fallback_reason"] is None else 0,
                "first_t": row["first"],
                "last_t": row["last"],
                "backtest_windows": row.get("backtest_windows"),
                "backtest_horizon": row.get("backtest_horizon"),
                "backtest_points": row.get("points"),
                "mase": _nullable(row.get("mase")),
                "smape": _nullable(row.get("smape")),
                "wape": _nullable(row.get("wape")),
                **{f"coverage_{lv}": _nullable(row.get(f"coverage_{lv}")) for lv in levels},
                "candidates": json.dumps(candidates, sort_keys=True),
            }
        )
    table_out = pl.DataFrame(rows, infer_schema_length=None)
    return table_out.with_columns(
        grid.to_ds(table_out["first_t"]).alias("training_start"),
        grid.to_ds(table_out["last_t"]).alias("training_end"),
    )


def _nullable(value: object) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    number = float(value)
    return number if math.isfinite(number) else None


def _json_number(value: object) -> float | None:
    number = _nullable(value)
    return None if number is None else round(number, 6)
