"""forecast_frame / fit_forecast: the Nixtla contract, degenerate series, accuracy, coverage."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from forecaster import EngineOptions, FallbackReason, FrameForecast, fit_forecast, forecast_frame
from forecaster.backtest import seasonal_scale
from tests.unit.forecaster.conftest import HOLDOUT

FAST = EngineOptions(windows=1)


def daily(uid: str, values: list[float], start: date = date(2024, 1, 1)) -> pl.DataFrame:
    return pl.DataFrame(
        {"unique_id": uid, "ds": [start + timedelta(days=i) for i in range(len(values))], "y": values},
        schema_overrides={"y": pl.Float64},
    )


def weekly_pattern(n: int, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return list(100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 2, n))


def test_contract_columns_dtypes_and_dates() -> None:
    frame = pl.concat([daily("a", weekly_pattern(42)), daily("b", weekly_pattern(35, 1), date(2024, 1, 8))])
    out = forecast_frame(frame, 5, [80, 95], "D", options=FAST)
    assert out.columns == ["unique_id", "ds", "y", "y-lo-80", "y-hi-80", "y-lo-95", "y-hi-95", "model"]
    assert out.schema["unique_id"] == pl.String
    assert out.schema["ds"] == pl.Date
    assert all(out.schema[c] == pl.Float64 for c in out.columns[2:7])
    assert out.height == 2 * 5
    first = out.group_by("unique_id").agg(pl.col("ds").min()).sort("unique_id")
    assert first["ds"].to_list() == [date(2024, 2, 12), date(2024, 2, 12)]  # day after each last date
    nested = out.select(
        (pl.col("y-lo-95") <= pl.col("y-lo-80"))
        & (pl.col("y-lo-80") <= pl.col("y"))
        & (pl.col("y") <= pl.col("y-hi-80"))
        & (pl.col("y-hi-80") <= pl.col("y-hi-95"))
    ).to_series()
    assert nested.all()


def test_zoned_datetimes_come_back_zoned() -> None:
    frame = daily("a", weekly_pattern(30)).with_columns(
        pl.col("ds").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    )
    out = forecast_frame(frame, 3, [95], "D", options=FAST)
    assert out.schema["ds"] == pl.Datetime("us", "UTC")
    assert out["ds"].to_list()[0] == datetime(2024, 1, 31, tzinfo=out["ds"].to_list()[0].tzinfo)
    assert out.columns == ["unique_id", "ds", "y", "y-lo-95", "y-hi-95", "model"]


def test_every_degenerate_series_is_forecast_with_its_reason() -> None:
    gappy = daily("gappy", [float(i) for i in range(60)]).filter(pl.int_range(pl.len()) % 3 != 0)
    frame = pl.concat(
        [
            daily("healthy", weekly_pattern(60)),
            daily("short", [4.0, 6.0]),
            daily("constant", [7.0] * 60),
            daily("zero", [0.0] * 60),
            gappy,
        ]
    )
    result = fit_forecast(frame, 4, (80, 95), "D", options=FAST)
    table = {row["unique_id"]: row for row in result.models.iter_rows(named=True)}
    assert {uid: row["fallback_reason"] for uid, row in table.items()} == {
        "healthy": None,
        "short": FallbackReason.TOO_SHORT,
        "constant": FallbackReason.CONSTANT,
        "zero": FallbackReason.ALL_ZERO,
        "gappy": FallbackReason.GAPPY,
    }
    out = result.forecasts
    assert out.group_by("unique_id").len().sort("unique_id")["len"].to_list() == [4] * 5  # nobody dropped
    by_id = {uid: part for (uid,), part in out.group_by("unique_id")}
    assert by_id["constant"]["y"].to_list() == [7.0] * 4
    assert by_id["constant"]["y-hi-95"].to_list() == [7.0] * 4
    assert by_id["zero"].select(pl.exclude("unique_id", "ds", "model")).to_numpy().max() == 0.0
    assert by_id["short"]["y"].to_list() == [6.0] * 4
    assert by_id["short"]["y-lo-80"].is_nan().all()  # spread unknowable from two points
    assert by_id["gappy"]["y"].to_list() == [59.0] * 4
    assert not by_id["gappy"]["y-lo-80"].is_nan().any()
    assert table["healthy"]["model"] in {"AutoARIMA", "AutoETS", "AutoTheta", "SeasonalNaive"}
    assert table["gappy"]["model"] == "Naive"


def test_model_table_records_specification_and_candidates(seasonal_fit: FrameForecast) -> None:
    table = seasonal_fit.models
    assert table["fallback_reason"].null_count() == table.height
    for row in table.iter_rows(named=True):
        assert set(json.loads(row["candidates"])) == {"AutoARIMA", "AutoETS", "AutoTheta", "SeasonalNaive"}
        assert (row["backtest_windows"], row["backtest_horizon"]) == (3, HOLDOUT)
        if row["model"] == "AutoARIMA":
            assert len(row["arima_order"]) == 7
            assert row["arima_order"][-1] == 12  # (p, d, q, P, D, Q, m)
            assert row["model_spec"].startswith("ARIMA(")
            assert row["aic"] is not None


def test_selected_model_beats_seasonal_naive_on_a_holdout(
    seasonal_full: pl.DataFrame, seasonal_fit: FrameForecast
) -> None:
    ours, naive = [], []
    for (uid,), series in seasonal_full.group_by("unique_id"):
        y = series.sort("ds")["y"].to_numpy()
        train, test = y[:-HOLDOUT], y[-HOLDOUT:]
        scale = seasonal_scale(train, 12)
        forecast = seasonal_fit.forecasts.filter(pl.col("unique_id") == uid).sort("ds")["y"].to_numpy()
        ours.append(np.mean(np.abs(test - forecast)) / scale)
        naive.append(np.mean(np.abs(test - train[-12:])) / scale)
    assert np.mean(ours) < np.mean(naive)
    assert np.mean(np.array(ours) < np.array(naive)) >= 0.75  # and on most series, not just on average


def test_backtest_coverage_of_the_95_interval_is_calibrated(seasonal_fit: FrameForecast) -> None:
    table = seasonal_fit.models
    points = table["backtest_points"].to_numpy()
    assert points.sum() == 16 * 3 * HOLDOUT
    pooled_95 = float((table["coverage_95"].to_numpy() * points).sum() / points.sum())
    pooled_80 = float((table["coverage_80"].to_numpy() * points).sum() / points.sum())
    assert 0.85 <= pooled_95 <= 0.99
    assert pooled_80 < pooled_95


def test_single_model_without_backtest_and_nonnegative_clipping() -> None:
    falling = daily("down", [float(50 - 2 * i) for i in range(25)])
    options = EngineOptions(models=("AutoETS",), backtest=False, nonnegative=True)
    result = fit_forecast(falling, 40, (95,), "D", options=options)
    assert result.forecasts["model"].unique().to_list() == ["AutoETS"]
    assert result.forecasts.select(pl.exclude("unique_id", "ds", "model")).to_numpy().min() >= 0.0
    assert result.models["backtest_windows"].to_list() == [None]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"horizon": 0}, "horizon"),
        ({"levels": [100]}, "levels"),
        ({"options": EngineOptions(models=("Prophet",))}, "models"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"horizon": 3, "levels": [95], "freq": "D", "options": FAST} | kwargs
    with pytest.raises(ValueError, match=message):
        forecast_frame(daily("a", weekly_pattern(30)), **arguments)  # type: ignore[arg-type]
