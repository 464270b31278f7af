from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from forecaster.frequency import keys_to_ds, parse_frequency, unit_keys


@pytest.mark.parametrize(
    ("alias", "canonical", "season"),
    [("D", "D", 7), ("1d", "D", 7), ("W-SUN", "W", 52), ("MS", "MS", 12), ("1mo", "MS", 12),
     ("M", "ME", 12), ("ME", "ME", 12), ("QS", "QS", 4), ("YS", "YS", 1), ("h", "h", 24)],
)  # fmt: skip
def test_pandas_and_polars_aliases(alias: str, canonical: str, season: int) -> None:
    freq = parse_frequency(alias)
    assert (freq.alias, freq.season_length) == (canonical, season)


def test_unknown_frequency_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported frequency"):
        parse_frequency("fortnightly")


@pytest.mark.parametrize(
    ("alias", "values"),
    [
        ("MS", [date(2024, 1, 1), date(2024, 2, 1), date(2025, 12, 1)]),
        ("ME", [date(2024, 1, 31), date(2024, 2, 29), date(2023, 2, 28)]),
        ("D", [date(1969, 12, 31), date(2024, 2, 29), date(2024, 3, 1)]),
    ],
)
def test_dates_round_trip_through_keys(alias: str, values: list[date]) -> None:
    freq = parse_frequency(alias)
    ds = pl.Series("ds", values)
    assert keys_to_ds(unit_keys(ds, freq), freq, pl.Date()).to_list() == values


def test_zoned_midnights_are_days_in_their_own_zone() -> None:
    freq = parse_frequency("D")
    ds = pl.Series("ds", [datetime(2024, 3, 30), datetime(2024, 3, 31), datetime(2024, 4, 1)]).dt.replace_time_zone(
        "Europe/Berlin"
    )
    keys = unit_keys(ds, freq)
    assert keys.diff().drop_nulls().to_list() == [1, 1]  # across the DST change
    assert keys_to_ds(keys, freq, ds.dtype).to_list() == ds.to_list()


def test_hours_are_utc_instants() -> None:
    freq = parse_frequency("h")
    ds = pl.Series("ds", [datetime(2024, 1, 1, 0, tzinfo=UTC), datetime(2024, 1, 1, 5, tzinfo=UTC)])
    keys = unit_keys(ds, freq)
    assert int(keys[1] - keys[0]) == 5
    assert keys_to_ds(keys, freq, ds.dtype).to_list() == ds.to_list()


@pytest.mark.parametrize(
    ("alias", "value", "message"),
    [
        ("MS", date(2024, 1, 15), "first day of the month"),
        ("ME", date(2024, 2, 28), "last day of the month"),
        ("D", datetime(2024, 1, 1, 12), "midnight"),
        ("h", date(2024, 1, 1), "datetime"),
    ],
)
def test_off_grid_timestamps_are_refused(alias: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        unit_keys(pl.Series("ds", [value]), parse_frequency(alias))
