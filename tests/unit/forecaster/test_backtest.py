from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from forecaster.backtest import BacktestPlan, coverage, mase, plan_backtest, seasonal_scale, select, smape, wape


def arr(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def test_metrics_match_hand_computation() -> None:
    assert mase(arr(10, 12, 14), arr(11, 12, 12), scale=2.0) == pytest.approx(0.5)  # mean(1, 0, 2) / 2
    assert smape(arr(10, 0), arr(30, 0)) == pytest.approx(0.5)  # (2*20/40 + 0) / 2
    assert wape(arr(10, -10, 20), arr(12, -10, 15)) == pytest.approx(7 / 40)
    assert coverage(arr(1, 2, 3, 4), arr(0, 2.5, 3, np.nan), arr(2, 3, 3, 5)) == pytest.approx(2 / 3)


def test_undefined_metrics_are_nan_not_errors() -> None:
    assert math.isnan(mase(arr(1, 2), arr(1, 2), scale=math.nan))
    assert math.isnan(wape(arr(0, 0), arr(1, 1)))
    assert math.isnan(coverage(arr(1.0), arr(np.nan), arr(np.nan)))


def test_seasonal_scale_falls_back_to_lag_one_for_a_perfect_season() -> None:
    train = arr(1, 2, 3, 1, 2, 3, 1, 2, 3)
    assert seasonal_scale(train, 3) == pytest.approx(10 / 8)
    assert math.isnan(seasonal_scale(arr(4, 4, 4), 1))


@pytest.mark.parametrize(
    ("n", "horizon", "season", "expected"),
    [
        (730, 90, 7, BacktestPlan(90, 3, 30)),  # two years daily: the full horizon, three windows
        (48, 12, 12, BacktestPlan(12, 3, 4)),
        (24, 12, 12, BacktestPlan(8, 1, 3)),  # two years monthly: horizon shrinks, one window fits
        (10, 12, 7, BacktestPlan(1, 1, 1)),
        (9, 12, 7, None),  # cannot keep 9 training points and test one
    ],
)
def test_backtest_plan_shrinks_with_the_history(
    n: int, horizon: int, season: int, expected: BacktestPlan | None
) -> None:
    plan = plan_backtest(n, horizon, season, windows=3)
    assert plan == expected
    if plan is not None:
        assert n - plan.test_size >= season + 2


def test_select_prefers_lowest_error_and_the_baseline_on_ties() -> None:
    scores = pl.DataFrame(
        {
            "unique_id": ["a", "a", "a", "b", "b"],
            "model": ["AutoARIMA", "AutoETS", "SeasonalNaive", "AutoARIMA", "AutoETS"],
            "mae": [2.0, 1.0, 3.0, 1.0, 1.0],
        }
    )
    chosen = select(scores, ("AutoARIMA", "AutoETS", "AutoTheta", "SeasonalNaive")).sort("unique_id")
    assert chosen["model"].to_list() == ["AutoETS", "AutoARIMA"]
