"""Synthetic series with known trend and seasonality, shared by the forecaster unit tests."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from forecaster import EngineOptions, FrameForecast, fit_forecast

HOLDOUT = 12


def seasonal_monthly(n_series: int, length: int, seed: int) -> pl.DataFrame:
    """Level + linear trend + yearly sine + Gaussian noise, one row per month from 2015-01."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    last = date(2015 + (length - 1) // 12, (length - 1) % 12 + 1, 1)
    months = pl.date_range(date(2015, 1, 1), last, "1mo", eager=True)
    parts = []
    for i in range(n_series):
        level = rng.uniform(500, 5000)
        y = (
            level
            + level * rng.uniform(0.002, 0.01) * t
            + level * rng.uniform(0.05, 0.2) * np.sin(2 * np.pi * t / 12 + rng.uniform(0, 6))
            + rng.normal(0, level * rng.uniform(0.01, 0.04), length)
        )
        parts.append(pl.DataFrame({"unique_id": f"s{i:02d}", "ds": months, "y": y}))
    return pl.concat(parts)


@pytest.fixture(scope="session")
def seasonal_full() -> pl.DataFrame:
    return seasonal_monthly(16, 60 + HOLDOUT, seed=2)


@pytest.fixture(scope="session")
def seasonal_fit(seasonal_full: pl.DataFrame) -> FrameForecast:
    """One backtested fit on everything but the last HOLDOUT months (shared: it takes seconds)."""
    train = seasonal_full.group_by("unique_id").head(60).sort("unique_id", "ds")
    return fit_forecast(train, HOLDOUT, (80, 95), "MS", options=EngineOptions(windows=3))
