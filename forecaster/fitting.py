"""Final fits: each series' chosen model on its whole history, and the fallbacks beside them.

Series are fitted in one statsforecast call per chosen model (not one call per series), so the
process pool and the per-call overheads are paid a handful of times per run.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from forecaster.frames import FallbackReason, as_int
from forecaster.models import ModelDescription, build_model, describe, fallback_forecast, safety_net


@dataclass(frozen=True)
class FinalFit:
    forecasts: pl.DataFrame  # unique_id, t, mean, lo-<level>, hi-<level>, model
    descriptions: dict[str, ModelDescription]
    in_sample: pl.DataFrame | None  # unique_id, t, y, fitted


def bound_columns(levels: tuple[int, ...]) -> list[str]:
    return [f"{side}-{level}" for level in levels for side in ("lo", "hi")]


def fit_chosen(
    values: pl.DataFrame,
    name: str,
    season_length: int,
    horizon: int,
    levels: tuple[int, ...],
    *,
    approximation: bool,
    n_jobs: int,
    in_sample: bool,
) -> FinalFit:
    """Fit `name` on every series in `values` (gap-free) and forecast `horizon` periods."""
    from statsforecast import StatsForecast

    model = build_model(name, season_length, approximation=approximation)
    sf = StatsForecast(models=[model], freq=1, n_jobs=n_jobs, fallback_model=safety_net())
    frame = values.select("unique_id", pl.col("t").alias("ds"), "y").to_pandas()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sf.fit(frame)
        predicted_pd: Any = sf.predict(h=horizon, level=list(levels))
        predicted = pl.from_pandas(predicted_pd.reset_index(drop=True))
    column = repr(model)
    forecasts = predicted.select(
        pl.col("unique_id").cast(pl.String),
        pl.col("ds").cast(pl.Int64).alias("t"),
        pl.col(column).alias("mean"),
        *[pl.col(f"{column}-{bound}").alias(bound) for bound in bound_columns(levels)],
        pl.lit(name).alias("model"),
    )
    uids = [str(uid) for uid in sf.uids]
    descriptions = {uid: describe(sf.fitted_[i, 0], season_length) for i, uid in enumerate(uids)}
    fitted_frame = None
    if in_sample:
        parts = []
        for i, uid in enumerate(uids):
            history = values.filter(pl.col("unique_id") == uid)
            fitted = np.asarray(sf.fitted_[i, 0].predict_in_sample()["fitted"], dtype=np.float64)
            parts.append(history.select("unique_id", "t", "y").with_columns(pl.Series("fitted", fitted)))
        fitted_frame = pl.concat(parts)
    return FinalFit(forecasts, descriptions, fitted_frame)


def fit_fallbacks(
    values: pl.DataFrame, reasons: dict[str, FallbackReason], horizon: int, levels: tuple[int, ...]
) -> pl.DataFrame:
    """Forecast every degenerate series from its observed values; same columns as `fit_chosen`."""
    parts = []
    for (uid,), series in values.group_by("unique_id", maintain_order=True):
        observed = series["y"].drop_nulls().to_numpy().astype(np.float64)
        model, out = fallback_forecast(observed, reasons[str(uid)], horizon, levels)
        last = as_int(series["t"].max())
        parts.append(
            pl.DataFrame(
                {
                    "unique_id": [str(uid)] * horizon,
                    "t": np.arange(last + 1, last + 1 + horizon, dtype=np.int64),
                    "mean": out["mean"],
                    **{bound: out[bound] for bound in bound_columns(levels)},
                    "model": [model] * horizon,
                }
            )
        )
    return pl.concat(parts) if parts else pl.DataFrame()


def tidy_bounds(forecasts: pl.DataFrame, levels: tuple[int, ...], *, nonnegative: bool) -> pl.DataFrame:
    """Nest the intervals (lo-95 <= lo-80 <= mean <= hi-80 <= hi-95) and, for quantities that
    cannot go below zero (revenue, subscription counts), clip everything at zero."""
    mean = pl.col("mean").clip(lower_bound=0.0) if nonnegative else pl.col("mean")
    out = forecasts.with_columns(mean.alias("mean"))
    inner_lo, inner_hi = pl.col("mean"), pl.col("mean")
    for level in sorted(levels):
        lo = pl.min_horizontal(pl.col(f"lo-{level}"), inner_lo)
        hi = pl.max_horizontal(pl.col(f"hi-{level}"), inner_hi)
        lo = pl.when(pl.col(f"lo-{level}").is_nan()).then(pl.col(f"lo-{level}")).otherwise(lo)
        hi = pl.when(pl.col(f"hi-{level}").is_nan()).then(pl.col(f"hi-{level}")).otherwise(hi)
        if nonnegative:
            lo, hi = lo.clip(lower_bound=0.0), hi.clip(lower_bound=0.0)
        out = out.with_columns(lo.alias(f"lo-{level}"), hi.alias(f"hi-{level}"))
        inner_lo, inner_hi = pl.col(f"lo-{level}"), pl.col(f"hi-{level}")
    return out
