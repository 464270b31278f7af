"""The competing statsforecast models, what we record about a fitted one, and the fallbacks.

statsforecast is imported inside functions: `import forecaster` happens on every `ledgerline`
invocation (the CLI is mounted there) and should not pay the library's import time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

from forecaster.frames import FallbackReason

CANDIDATES: tuple[str, ...] = ("AutoARIMA", "AutoETS", "AutoTheta", "SeasonalNaive")
BASELINE = "AutoARIMA"
FloatArray = npt.NDArray[np.float64]


def build_model(name: str, season_length: int, *, approximation: bool) -> Any:
    """A fresh, unfitted statsforecast model; its repr is the column name statsforecast uses."""
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, SeasonalNaive

    if name == "AutoARIMA":
        return AutoARIMA(season_length=season_length, approximation=approximation)
    if name == "AutoETS":
        return AutoETS(season_length=season_length)
    if name == "AutoTheta":
        return AutoTheta(season_length=season_length)
    if name == "SeasonalNaive":
        return SeasonalNaive(season_length=season_length)
    raise ValueError(f"unknown model {name!r}; choose from {', '.join(CANDIDATES)}")


def safety_net() -> Any:
    """statsforecast's `fallback_model`: used only when a candidate raises on a series (e.g. ETS on
    a tiny window), so one bad fit cannot abort the whole batch. `describe` reports it."""
    from statsforecast.models import Naive

    return Naive()


@dataclass(frozen=True)
class ModelDescription:
    spec: str
    arima_order: tuple[int, ...] | None
    aic: float | None


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def describe(fitted: Any, season_length: int) -> ModelDescription:
    """Human-readable specification, ARIMA orders as (p, d, q, P, D, Q, m) and AIC when defined."""
    kind = type(fitted).__name__
    state: dict[str, Any] = getattr(fitted, "model_", None) or {}
    if kind == "AutoARIMA":
        p, q, big_p, big_q, m, d, big_d = (int(v) for v in state["arma"])
        order = (p, d, q, big_p, big_d, big_q, m)
        return ModelDescription(f"ARIMA({p},{d},{q})({big_p},{big_d},{big_q})[{m}]", order, _finite(state["aic"]))
    if kind == "AutoETS":
        return ModelDescription(str(state.get("method", "ETS")), None, _finite(state.get("aic")))
    if kind == "AutoTheta":
        return ModelDescription(f"Theta({state.get('modeltype', '?')})", None, None)
    if kind == "SeasonalNaive":
        return ModelDescription(f"SeasonalNaive[{season_length}]", None, None)
    return ModelDescription(f"{kind} (candidate failed to fit)", None, None)


def z_value(level: int | float) -> float:
    return NormalDist().inv_cdf(0.5 + float(level) / 200.0)


def fallback_forecast(
    observed: FloatArray, reason: FallbackReason, horizon: int, levels: tuple[int, ...]
) -> tuple[str, dict[str, FloatArray]]:
    """Forecasts for series no model should be trusted with.

    all_zero and constant series repeat their value with zero-width intervals (there is no
    variation to extrapolate). Short and gappy series get a random-walk (naive) forecast with
    intervals from the spread of their observed changes, widening with sqrt(step); with fewer than
    three observations that spread is unknowable and the intervals are NaN (stored as NULL).
    """
    if reason is FallbackReason.ALL_ZERO or reason is FallbackReason.CONSTANT:
        value = 0.0 if reason is FallbackReason.ALL_ZERO else float(observed[-1])
        flat = np.full(horizon, value, dtype=np.float64)
        out = {"mean": flat}
        for level in levels:
            out[f"lo-{level}"] = flat.copy()
            out[f"hi-{level}"] = flat.copy()
        return ("Zero" if reason is FallbackReason.ALL_ZERO else "Constant"), out
    if observed.size == 0:
        nan = np.full(horizon, np.nan, dtype=np.float64)
        return "Naive", {"mean": nan, **{f"{side}-{lv}": nan.copy() for lv in levels for side in ("lo", "hi")}}
    point = np.full(horizon, float(observed[-1]), dtype=np.float64)
    changes = np.diff(observed)
    sigma = float(np.std(changes, ddof=1)) if changes.size >= 2 else math.nan
    spread = sigma * np.sqrt(np.arange(1, horizon + 1, dtype=np.float64))
    out = {"mean": point}
    for level in levels:
        out[f"lo-{level}"] = point - z_value(level) * spread
        out[f"hi-{level}"] = point + z_value(level) * spread
    return "Naive", out
