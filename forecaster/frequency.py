"""Frequencies the forecaster understands, and the mapping between timestamps and period numbers.

Why integers: statsforecast only needs an ordered, regular index. Working on period numbers makes
gap detection exact, keeps month-start and month-end calendars straight (a "1mo" offset from
31 January drifts to the 29th) and removes any dependence on pandas offset aliases. Every series in
one call shares one grid, so period numbers also line up across a hierarchy for reconciliation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

Unit = Literal["hour", "day", "month"]


@dataclass(frozen=True)
class Frequency:
    """A regular calendar grid: `step` units per period and the usual season length."""

    alias: str
    unit: Unit
    step: int
    season_length: int
    month_end: bool = False


_CANONICAL: dict[str, Frequency] = {
    "h": Frequency("h", "hour", 1, 24),
    "D": Frequency("D", "day", 1, 7),
    "W": Frequency("W", "day", 7, 52),
    "MS": Frequency("MS", "month", 1, 12),
    "ME": Frequency("ME", "month", 1, 12, month_end=True),
    "QS": Frequency("QS", "month", 3, 4),
    "QE": Frequency("QE", "month", 3, 4, month_end=True),
    "YS": Frequency("YS", "month", 12, 1),
    "YE": Frequency("YE", "month", 12, 1, month_end=True),
}
# pandas and polars spellings that mean the same grid.
_SYNONYMS = {
    "H": "h", "1h": "h", "d": "D", "1d": "D", "w": "W", "1w": "W",
    "M": "ME", "1mo": "MS", "mo": "MS", "Q": "QE", "1q": "QS", "3mo": "QS",
    "Y": "YE", "A": "YE", "AS": "YS", "1y": "YS", "12mo": "YS",
}  # fmt: skip


def parse_frequency(freq: str | Frequency) -> Frequency:
    """Accept pandas aliases (`D`, `MS`, `W-SUN`, ...) and polars intervals (`1d`, `1mo`, ...)."""
    if isinstance(freq, Frequency):
        return freq
    name = freq.strip()
    if name.upper().startswith("W-"):
        name = "W"
    name = _SYNONYMS.get(name, name)
    try:
        return _CANONICAL[name]
    except KeyError:
        known = sorted({*_CANONICAL, *_SYNONYMS})
        raise ValueError(f"unsupported frequency {freq!r}; use one of {', '.join(known)}") from None


def _wall_clock(ds: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Datetimes are read in their own time zone's wall clock, so a Berlin midnight is a day start."""
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        return ds.dt.replace_time_zone(None)
    return ds


def unit_keys(ds: pl.Series, freq: Frequency) -> pl.Series:
    """Integer unit numbers (epoch hours, epoch days or year*12+month-1) for on-grid timestamps.

    Raises ValueError when a timestamp is not on the frequency's calendar (e.g. a mid-month date
    for `MS`), because silently snapping it would misplace the observation.
    """
    dtype = ds.dtype
    if not isinstance(dtype, pl.Date | pl.Datetime):
        raise ValueError(f"ds must be a date or datetime column, got {dtype}")
    if freq.unit == "hour" and not isinstance(dtype, pl.Datetime):
        raise ValueError("hourly frequency needs datetime timestamps")
    frame = pl.DataFrame({"ds": ds})
    wall = _wall_clock(pl.col("ds"), dtype)
    if freq.unit == "hour":
        # epoch seconds count the instant, whatever the zone: hours are UTC hours
        keys = frame.select(pl.col("ds").dt.epoch("s")).to_series()
        if (keys % 3600 != 0).any():
            raise ValueError("hourly timestamps must fall on the hour")
        return (keys // 3600).alias("key")
    if isinstance(dtype, pl.Datetime):
        off_midnight = frame.select((wall.dt.time() != pl.time(0)).any()).item()
        if off_midnight:
            raise ValueError(f"timestamps must be at midnight for frequency {freq.alias}")
    dates = frame.select(wall.cast(pl.Date).alias("d")).to_series()
    if freq.unit == "day":
        return dates.cast(pl.Int64).alias("key")
    expected_day = dates.dt.month_end().dt.day() if freq.month_end else pl.Series([1] * len(dates))
    if (dates.dt.day() != expected_day).any():
        where = "last" if freq.month_end else "first"
        raise ValueError(f"frequency {freq.alias} needs dates on the {where} day of the month")
    return (dates.dt.year().cast(pl.Int64) * 12 + dates.dt.month().cast(pl.Int64) - 1).alias("key")


def keys_to_ds(keys: pl.Series, freq: Frequency, dtype: pl.DataType) -> pl.Series:
    """Inverse of `unit_keys`, producing the caller's dtype (Date, or Datetime with its zone)."""
    frame = pl.DataFrame({"key": keys.cast(pl.Int64)})
    if freq.unit == "hour":
        assert isinstance(dtype, pl.Datetime)
        utc = frame.select((pl.col("key") * 3_600_000_000).cast(pl.Datetime("us", "UTC"))).to_series()
        zone = dtype.time_zone
        out = utc.dt.convert_time_zone(zone) if zone else utc.dt.replace_time_zone(None)
        return out.cast(pl.Datetime(dtype.time_unit, zone)).alias("ds")
    if freq.unit == "day":
        dates = frame.select(pl.col("key").cast(pl.Int32).cast(pl.Date)).to_series()
    else:
        key = pl.col("key")
        dates = frame.select(pl.date(key // 12, key % 12 + 1, 1)).to_series()
        if freq.month_end:
            dates = dates.dt.month_end()
    if isinstance(dtype, pl.Datetime):
        naive = dates.cast(pl.Datetime(dtype.time_unit))
        return (naive.dt.replace_time_zone(dtype.time_zone) if dtype.time_zone else naive).alias("ds")
    return dates.alias("ds")
