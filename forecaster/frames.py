"""From a caller's long `unique_id, ds, y` frame to regular series on one grid, and triage.

Every series is checked before any model sees it: short, constant, all-zero and gappy series get
an explicit fallback with the reason recorded, so a degenerate series never crashes a run and is
never silently dropped. Small gaps in otherwise healthy series are filled (linear inside, carried
forward at the end) and counted, because the statsforecast models need a gap-free history.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import polars as pl

from forecaster.frequency import Frequency, keys_to_ds, parse_frequency, unit_keys

REQUIRED_COLUMNS = ("unique_id", "ds", "y")


class FallbackReason(StrEnum):
    TOO_SHORT = "too_short"
    CONSTANT = "constant"
    ALL_ZERO = "all_zero"
    GAPPY = "gappy"


@dataclass(frozen=True)
class Grid:
    """Series on one shared grid: a row per (unique_id, t) over each series' span, y null where
    nothing was observed. `t` counts periods from the earliest timestamp in the input."""

    values: pl.DataFrame
    origin_key: int
    freq: Frequency
    ds_dtype: pl.DataType

    def to_ds(self, t: pl.Series) -> pl.Series:
        return keys_to_ds(self.origin_key + t.cast(pl.Int64) * self.freq.step, self.freq, self.ds_dtype)


def as_int(value: object) -> int:
    """polars types scalar aggregates loosely; the columns these come from hold integers."""
    if not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def make_grid(frame: pl.DataFrame, freq: str | Frequency, *, align_end: bool = False) -> Grid:
    """Validate the Nixtla contract and lay every series on the shared grid.

    `align_end` extends every series to the latest period in the frame (missing tails count as
    gaps), so that all forecasts of a hierarchy start on the same date.
    """
    grid_freq = parse_frequency(freq)
    missing = [name for name in REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        raise ValueError(f"frame is missing columns {missing}; expected {list(REQUIRED_COLUMNS)}")
    if frame.height == 0:
        raise ValueError("frame has no rows")
    df = frame.select(
        pl.col("unique_id").cast(pl.String),
        pl.col("ds"),
        pl.col("y").cast(pl.Float64).fill_nan(None),
    )
    if df["unique_id"].null_count() or df["ds"].null_count():
        raise ValueError("unique_id and ds must not be null")
    keys = unit_keys(df["ds"], grid_freq)
    origin = as_int(keys.min())
    offsets = keys - origin
    if (offsets % grid_freq.step != 0).any():
        raise ValueError(f"timestamps are not on one shared {grid_freq.alias} grid")
    df = df.with_columns((offsets // grid_freq.step).alias("t")).drop("ds")
    if df.select(pl.struct("unique_id", "t").is_duplicated().any()).item():
        raise ValueError("duplicate (unique_id, ds) rows")

    observed = pl.col("t").filter(pl.col("y").is_not_null())
    spans = df.group_by("unique_id").agg(
        pl.coalesce(observed.min(), pl.col("t").min()).alias("first"),
        pl.coalesce(observed.max(), pl.col("t").max()).alias("last"),
    )
    if align_end:
        spans = spans.with_columns(pl.lit(as_int(df["t"].max())).alias("last"))
    values = (
        spans.select("unique_id", pl.int_ranges("first", pl.col("last") + 1).alias("t"))
        .explode("t")
        .join(df, on=["unique_id", "t"], how="left")
        .sort("unique_id", "t")
    )
    return Grid(values=values, origin_key=origin, freq=grid_freq, ds_dtype=frame.schema["ds"])


def min_train_length(season_length: int) -> int:
    """Shortest training window a backtest may use: one season plus two points, and never < 6."""
    return max(season_length + 2, 6)


def min_series_length(season_length: int) -> int:
    """Below this many observations a series cannot be backtested and gets the naive fallback."""
    return min_train_length(season_length) + 1


def classify(grid: Grid, *, max_gap_fraction: float = 0.1) -> pl.DataFrame:
    """One row per series: observations, missing periods and the fallback reason (null = model).

    Order matters and is documented: all-zero before constant (all-zero is constant too), then
    too short, then gappy (more than `max_gap_fraction` of the span unobserved).
    """
    minimum = min_series_length(grid.freq.season_length)
    y = pl.col("y")
    stats = grid.values.group_by("unique_id").agg(
        y.count().alias("n_obs"),
        y.null_count().alias("n_missing"),
        pl.len().alias("n_span"),
        (y.drop_nulls() == 0).all().alias("all_zero"),
        (y.drop_nulls().n_unique() == 1).alias("constant"),
    )
    reason = (
        pl.when(pl.col("n_obs") == 0)
        .then(pl.lit(FallbackReason.GAPPY.value))
        .when(pl.col("all_zero"))
        .then(pl.lit(FallbackReason.ALL_ZERO.value))
        .when(pl.col("constant"))
        .then(pl.lit(FallbackReason.CONSTANT.value))
        .when(pl.col("n_obs") < minimum)
        .then(pl.lit(FallbackReason.TOO_SHORT.value))
        .when(pl.col("n_missing") > max_gap_fraction * pl.col("n_span"))
        .then(pl.lit(FallbackReason.GAPPY.value))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    return stats.select("unique_id", "n_obs", "n_missing", "n_span", reason.alias("fallback_reason")).sort("unique_id")


def fill_gaps(values: pl.DataFrame) -> pl.DataFrame:
    """Linear interpolation inside a series, last value carried forward over a missing tail."""
    return values.with_columns(pl.col("y").interpolate().forward_fill().over("unique_id"))
