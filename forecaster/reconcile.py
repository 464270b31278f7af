"""Coherence: make total = sum of regions = sum of plans with MinTrace, if the backtest says so.

Base forecasts are made per series and do not add up. MinTrace (hierarchicalforecast) finds the
coherent forecasts closest to them; which weighting works best is an empirical question, so each
variant (ols, wls_struct, mint_shrink) is replayed on the backtest windows and adopted only when it
lowers the mean MASE over all series of the hierarchy by at least MIN_IMPROVEMENT (1%).
Non-negativity: the unconstrained MinTrace solution is used when its bottom level is already
non-negative (it is then also the constrained optimum, and it avoids the library's float32 cast of
QP solutions); otherwise the non-negative QP variant is solved. Intervals keep their base width and
move with the point (reconciliation adjusts the level, not the uncertainty); their backtest
coverage is re-measured.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from forecaster import backtest as bt
from forecaster.frames import as_int
from forecaster.models import FloatArray

METHODS: tuple[str, ...] = ("ols", "wls_struct", "mint_shrink")
# Adopt only a clear gain: float noise or a hair's difference should not flip vintages back and forth.
MIN_IMPROVEMENT = 0.01
_INSAMPLE = {"mint_shrink"}


@dataclass(frozen=True)
class Hierarchy:
    """Series ids with aggregates first and bottom series last (MinTrace's convention) and the
    summing matrix S (one row per series, one column per bottom series)."""

    ids: list[str]
    summing: FloatArray
    levels: dict[str, str]

    @property
    def n_bottom(self) -> int:
        return int(self.summing.shape[1])


def build_hierarchy(spec: pl.DataFrame, keys: tuple[str, ...], level_col: str = "level") -> Hierarchy:
    """Bottom series have every key set; an aggregate sums the bottoms matching its set keys."""
    complete = pl.all_horizontal([pl.col(key).is_not_null() for key in keys])
    bottom = spec.filter(complete).sort("unique_id")
    aggregates = spec.filter(~complete).sort(level_col, "unique_id")
    rows = []
    for agg in aggregates.iter_rows(named=True):
        match = np.ones(bottom.height, dtype=bool)
        for key in keys:
            if agg[key] is not None:
                match &= (bottom[key] == agg[key]).to_numpy()
        rows.append(match.astype(np.float64))
    summing = np.vstack([*rows, np.eye(bottom.height)]) if bottom.height else np.zeros((0, 0))
    ids = [*aggregates["unique_id"].to_list(), *bottom["unique_id"].to_list()]
    levels = dict(zip(spec["unique_id"].to_list(), spec[level_col].to_list(), strict=True))
    return Hierarchy(ids=ids, summing=summing, levels=levels)


def min_trace(
    hierarchy: Hierarchy, y_hat: FloatArray, method: str, residuals: tuple[FloatArray, FloatArray] | None = None
) -> FloatArray:
    """Coherent, non-negative forecasts (rows in `hierarchy.ids` order, columns = horizon)."""
    from hierarchicalforecast.methods import MinTrace

    y_in, y_hat_in = residuals if residuals is not None else (None, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = MinTrace(method=method).fit_predict(
            S=hierarchy.summing, y_hat=y_hat, y_insample=y_in, y_hat_insample=y_hat_in
        )["mean"]
        bottom = out[-hierarchy.n_bottom :]
        if (bottom < 0).any():
            out = MinTrace(method=method, nonnegative=True).fit_predict(
                S=hierarchy.summing, y_hat=y_hat, y_insample=y_in, y_hat_insample=y_hat_in
            )["mean"]
            bottom = out[-hierarchy.n_bottom :]
    return np.asarray(hierarchy.summing @ np.clip(bottom, 0.0, None), dtype=np.float64)


def _matrix(frame: pl.DataFrame, ids: list[str], column: str) -> FloatArray:
    wide = frame.pivot(on="t", index="unique_id", values=column, sort_columns=True)
    wide = pl.DataFrame({"unique_id": ids}).join(wide, on="unique_id", how="left")
    columns = sorted((c for c in wide.columns if c != "unique_id"), key=int)
    return wide.select(columns).to_numpy().astype(np.float64)


@dataclass(frozen=True)
class ReconciliationReport:
    evaluated: bool
    adopted: bool
    method: str | None
    reason: str
    base_mase: float | None = None
    method_mase: dict[str, float] = field(default_factory=dict)
    by_level: dict[str, dict[str, float]] = field(default_factory=dict)
    series_metrics: pl.DataFrame = field(default_factory=pl.DataFrame)

    def to_json(self) -> dict[str, Any]:
        return {
            "evaluated": self.evaluated,
            "adopted": self.adopted,
            "method": self.method,
            "reason": self.reason,
            "base_mase": _round(self.base_mase),
            "method_mase": {name: _round(value) for name, value in self.method_mase.items()},
            "by_level": {lv: {k: _round(v) for k, v in d.items()} for lv, d in self.by_level.items()},
        }


def _round(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, 6)


def evaluate(
    hierarchy: Hierarchy,
    backtests: pl.DataFrame,
    cv_fitted: pl.DataFrame,
    history: pl.DataFrame,
    season_length: int,
    levels: tuple[int, ...],
    methods: tuple[str, ...] = METHODS,
) -> ReconciliationReport:
    """Replay each MinTrace variant on the backtest origins and compare mean MASE with the base."""
    if hierarchy.n_bottom < 2:
        return ReconciliationReport(False, False, None, "fewer than two bottom series")
    present = backtests.filter(pl.col("unique_id").is_in(hierarchy.ids)) if backtests.height else backtests
    if present.height == 0 or present["unique_id"].n_unique() != len(hierarchy.ids):
        return ReconciliationReport(False, False, None, "some series have no backtest (fallbacks)")
    shapes = present.group_by("unique_id").agg(pl.struct("cutoff", "t").sort().alias("k"))
    if shapes["k"].n_unique() != 1:
        return ReconciliationReport(False, False, None, "backtest windows differ between series")
    first_cutoff = as_int(present["cutoff"].min())
    scales = {
        str(uid): bt.seasonal_scale(part.filter(pl.col("t") <= first_cutoff)["y"].to_numpy(), season_length)
        for (uid,), part in history.group_by("unique_id")
    }
    results: dict[str, pl.DataFrame] = {"base": present}
    for method in methods:
        parts: list[pl.DataFrame] = []
        for (cutoff,), window in present.group_by("cutoff", maintain_order=True):
            residuals = None
            if method in _INSAMPLE:
                fitted = cv_fitted.filter(pl.col("cutoff") == cutoff)
                residuals = (_matrix(fitted, hierarchy.ids, "y"), _matrix(fitted, hierarchy.ids, "fitted"))
            try:
                reconciled = min_trace(hierarchy, _matrix(window, hierarchy.ids, "yhat"), method, residuals)
            except Exception:  # noqa: BLE001 - an ill-conditioned variant is simply not a candidate
                parts = []
                break
            parts.append(shift(window, hierarchy.ids, reconciled, levels))
        if parts:
            results[method] = pl.concat(parts)
    per_series = {name: _series_metrics(frame, scales, levels) for name, frame in results.items()}
    means = {name: _mean(metrics["mase"]) for name, metrics in per_series.items()}
    base = means.pop("base")
    by_level = {
        level: {name: _mean(m.filter(pl.col("unique_id").is_in(ids))["mase"]) for name, m in per_series.items()}
        for level, ids in _ids_by_level(hierarchy).items()
    }
    finite = {name: value for name, value in means.items() if math.isfinite(value)}
    best = min(finite, key=finite.__getitem__) if finite else None
    adopted = best is not None and math.isfinite(base) and finite[best] < base * (1 - MIN_IMPROVEMENT)
    reason = (
        f"{best} lowers mean MASE from {base:.4f} to {finite[best]:.4f}"
        if adopted and best
        else f"no MinTrace variant lowered the base mean MASE by {MIN_IMPROVEMENT:.0%} or more"
    )
    chosen = per_series[best] if adopted and best else pl.DataFrame()
    return ReconciliationReport(True, adopted, best if adopted else None, reason, base, means, by_level, chosen)


def shift(frame: pl.DataFrame, ids: list[str], reconciled: FloatArray, levels: tuple[int, ...]) -> pl.DataFrame:
    """Replace `yhat` by the reconciled values and move each interval by the same amount."""
    ts = sorted(frame["t"].unique().to_list())
    long = pl.DataFrame(
        {"unique_id": np.repeat(ids, len(ts)), "t": np.tile(ts, len(ids)), "_new": reconciled.reshape(-1)}
    ).with_columns(pl.col("t").cast(frame.schema["t"]))
    merged = frame.join(long, on=["unique_id", "t"], how="left")
    delta = pl.col("_new") - pl.col("yhat")
    bounds = [
        (pl.col(f"{s}-{lv}") + delta).clip(lower_bound=0.0).alias(f"{s}-{lv}") for lv in levels for s in ("lo", "hi")
    ]
    return merged.with_columns(*bounds).with_columns(pl.col("_new").alias("yhat")).drop("_new")


def _series_metrics(frame: pl.DataFrame, scales: dict[str, float], levels: tuple[int, ...]) -> pl.DataFrame:
    rows = []
    for (uid,), part in frame.group_by("unique_id", maintain_order=True):
        y, yhat = part["y"].to_numpy().astype(np.float64), part["yhat"].to_numpy().astype(np.float64)
        row: dict[str, Any] = {
            "unique_id": str(uid),
            "mase": bt.mase(y, yhat, scales.get(str(uid), math.nan)),
            "smape": bt.smape(y, yhat),
            "wape": bt.wape(y, yhat),
        }
        for lv in levels:
            lo, hi = part[f"lo-{lv}"].to_numpy(), part[f"hi-{lv}"].to_numpy()
            row[f"coverage_{lv}"] = bt.coverage(y, lo.astype(np.float64), hi.astype(np.float64))
        rows.append(row)
    return pl.DataFrame(rows)


def _mean(values: pl.Series) -> float:
    finite = values.filter(values.is_finite())
    return float(np.mean(finite.to_numpy())) if finite.len() else math.nan


def _ids_by_level(hierarchy: Hierarchy) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for uid in hierarchy.ids:
        out.setdefault(hierarchy.levels[uid], []).append(uid)
    return out


def apply(
    hierarchy: Hierarchy, raw: pl.DataFrame, method: str, final_fitted: pl.DataFrame, levels: tuple[int, ...]
) -> pl.DataFrame:
    """Reconcile the final forecasts (`raw` grid frame from the engine) with the adopted method."""
    inside = pl.col("unique_id").is_in(hierarchy.ids)
    subset = raw.filter(inside).rename({"mean": "yhat"})
    residuals = None
    if method in _INSAMPLE:
        residuals = (_matrix(final_fitted, hierarchy.ids, "y"), _matrix(final_fitted, hierarchy.ids, "fitted"))
    reconciled = min_trace(hierarchy, _matrix(subset, hierarchy.ids, "yhat"), method, residuals)
    moved = shift(subset, hierarchy.ids, reconciled, levels).rename({"yhat": "mean"})
    return pl.concat([raw.filter(~inside), moved.select(raw.columns)]).sort("unique_id", "t")
