"""Rolling-origin backtests: how many windows fit a series, the accuracy metrics, model choice.

Each series keeps the candidate with the lowest mean absolute error over its backtest windows.
MASE divides that error by a per-series constant (the in-sample seasonal-naive error), so choosing
by MAE and by MASE is the same ranking; MASE, sMAPE, WAPE and interval coverage are reported.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from forecaster.frames import min_train_length
from forecaster.models import FloatArray, build_model, safety_net


@dataclass(frozen=True, order=True)
class BacktestPlan:
    horizon: int
    windows: int
    step: int

    @property
    def test_size(self) -> int:
        return self.horizon + self.step * (self.windows - 1)


def plan_backtest(n: int, horizon: int, season_length: int, windows: int) -> BacktestPlan | None:
    """The most recent `windows` origins, `step` apart, each forecasting up to `horizon` ahead.

    The backtest horizon shrinks for short series (at most a third of the history, and the first
    window must still train on `min_train_length` points); None means the series is too short.
    """
    min_train = min_train_length(season_length)
    h = min(horizon, n // 3, n - min_train)
    if h < 1:
        return None
    step = max(1, math.ceil(h / max(windows, 1)))
    fitting = max(1, min(windows, 1 + (n - min_train - h) // step))
    return BacktestPlan(h, fitting, step)


def seasonal_scale(train: FloatArray, season_length: int) -> float:
    """In-sample MAE of the seasonal naive forecast (lag 1 if that is zero or undefined)."""
    for lag in (season_length, 1):
        if train.size > lag:
            scale = float(np.mean(np.abs(train[lag:] - train[:-lag])))
            if scale > 0:
                return scale
    return math.nan


def mase(y: FloatArray, yhat: FloatArray, scale: float) -> float:
    return float(np.mean(np.abs(y - yhat)) / scale) if scale > 0 else math.nan


def smape(y: FloatArray, yhat: FloatArray) -> float:
    """Symmetric MAPE as a fraction in [0, 2]; a point where both are zero counts as exact."""
    denominator = np.abs(y) + np.abs(yhat)
    ratio = np.divide(2 * np.abs(y - yhat), denominator, out=np.zeros_like(y), where=denominator > 0)
    return float(np.mean(ratio))


def wape(y: FloatArray, yhat: FloatArray) -> float:
    total = float(np.sum(np.abs(y)))
    return float(np.sum(np.abs(y - yhat)) / total) if total > 0 else math.nan


def coverage(y: FloatArray, lo: FloatArray, hi: FloatArray) -> float:
    known = ~(np.isnan(lo) | np.isnan(hi))
    if not known.any():
        return math.nan
    return float(np.mean((lo[known] <= y[known]) & (y[known] <= hi[known])))


def cross_validate(
    values: pl.DataFrame,
    names: tuple[str, ...],
    season_length: int,
    plan: BacktestPlan,
    levels: tuple[int, ...],
    *,
    approximation: bool,
    refit: bool,
    n_jobs: int,
    fitted: bool,
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """statsforecast `cross_validation` over gap-free series; returns forecasts and, if asked,
    the in-sample fitted values of every window (MinT-shrink reconciliation needs them)."""
    from statsforecast import StatsForecast

    models = [build_model(name, season_length, approximation=approximation) for name in names]
    sf = StatsForecast(models=models, freq=1, n_jobs=n_jobs, fallback_model=safety_net())
    frame = values.select("unique_id", pl.col("t").alias("ds"), "y").to_pandas()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv = sf.cross_validation(
            df=frame,
            h=plan.horizon,
            n_windows=plan.windows,
            step_size=plan.step,
            level=list(levels),
            refit=refit,
            fitted=fitted,
        )
    in_sample = _to_polars(sf.cross_validation_fitted_values()) if fitted else None
    return _to_polars(cv), in_sample


def _to_polars(frame: pd.DataFrame) -> pl.DataFrame:
    out = pl.from_pandas(frame.reset_index(drop=True))
    return out.rename({"ds": "t"}).with_columns(pl.col("unique_id").cast(pl.String))


def score(cv: pl.DataFrame, scales: dict[str, float], names: tuple[str, ...], levels: tuple[int, ...]) -> pl.DataFrame:
    """Per series and candidate: MAE, MASE, sMAPE, WAPE, coverage per level and point count."""
    rows: list[dict[str, Any]] = []
    for (uid,), part in cv.group_by("unique_id", maintain_order=True):
        y = part["y"].to_numpy().astype(np.float64)
        for name in names:
            yhat = part[name].to_numpy().astype(np.float64)
            row: dict[str, Any] = {
                "unique_id": str(uid),
                "model": name,
                "mae": float(np.mean(np.abs(y - yhat))),
                "mase": mase(y, yhat, scales.get(str(uid), math.nan)),
                "smape": smape(y, yhat),
                "wape": wape(y, yhat),
                "points": int(y.size),
            }
            for level in levels:
                lo = part[f"{name}-lo-{level}"].to_numpy().astype(np.float64)
                hi = part[f"{name}-hi-{level}"].to_numpy().astype(np.float64)
                row[f"coverage_{level}"] = coverage(y, lo, hi)
            rows.append(row)
    return pl.DataFrame(rows)


def select(scores: pl.DataFrame, names: tuple[str, ...]) -> pl.DataFrame:
    """Lowest MAE wins; ties go to the earlier candidate (AutoARIMA, the baseline, is first)."""
    rank = {name: i for i, name in enumerate(names)}
    ranked = scores.with_columns(
        pl.col("model").replace_strict(rank, return_dtype=pl.Int64).alias("_rank"),
        pl.col("mae").fill_nan(math.inf).alias("_mae"),
    )
    return (
        ranked.sort("unique_id", "_mae", "_rank")
        .group_by("unique_id", maintain_order=True)
        .first()
        .drop("_rank", "_mae")
    )


def chosen_rows(cv: pl.DataFrame, choice: pl.DataFrame, levels: tuple[int, ...]) -> pl.DataFrame:
    """The backtest forecasts of each series' chosen model, as `yhat` and `lo-<level>`/`hi-<level>`."""
    parts = []
    for (name,), ids in choice.group_by("model"):
        subset = cv.filter(pl.col("unique_id").is_in(ids["unique_id"].implode()))
        bounds = [pl.col(f"{name}-{side}-{lv}").alias(f"{side}-{lv}") for lv in levels for side in ("lo", "hi")]
        parts.append(subset.select("unique_id", "t", "cutoff", "y", pl.col(str(name)).alias("yhat"), *bounds))
    return pl.concat(parts).sort("unique_id", "cutoff", "t") if parts else pl.DataFrame()
