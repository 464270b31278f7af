from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import polars as pl
import pytest

from forecaster.frames import FallbackReason, classify, fill_gaps, make_grid, min_series_length


def daily(uid: str, values: Sequence[float | None], start: date = date(2024, 1, 1)) -> pl.DataFrame:
    days = [start + timedelta(days=i) for i in range(len(values))]
    frame = pl.DataFrame({"unique_id": uid, "ds": days, "y": values}, schema_overrides={"y": pl.Float64})
    return frame.filter(pl.col("y").is_not_null())  # a missing day is a missing row


def reasons(frame: pl.DataFrame, freq: str = "D") -> dict[str, str | None]:
    table = classify(make_grid(frame, freq))
    return dict(zip(table["unique_id"].to_list(), table["fallback_reason"].to_list(), strict=True))


def test_each_degenerate_kind_gets_its_reason() -> None:
    healthy = [float(10 + i % 7 + i) for i in range(60)]
    gappy = [float(i) if i % 3 else None for i in range(60)]
    frame = pl.concat(
        [
            daily("healthy", healthy),
            daily("short", [1.0, 2.0, 3.0]),
            daily("constant", [5.0] * 60),
            daily("zero", [0.0] * 60),
            daily("gappy", gappy),
        ]
    )
    assert reasons(frame) == {
        "healthy": None,
        "short": FallbackReason.TOO_SHORT,
        "constant": FallbackReason.CONSTANT,
        "zero": FallbackReason.ALL_ZERO,
        "gappy": FallbackReason.GAPPY,
    }


def test_short_means_fewer_observations_than_a_backtest_needs() -> None:
    n = min_series_length(7)
    assert reasons(daily("s", [float(i) for i in range(n)])) == {"s": None}
    assert reasons(daily("s", [float(i) for i in range(n - 1)])) == {"s": FallbackReason.TOO_SHORT}


def test_a_few_gaps_are_filled_not_fallen_back() -> None:
    values: list[float | None] = [float(i) for i in range(40)]
    values[10] = values[20] = None
    grid = make_grid(daily("s", values), "D")
    table = classify(grid)
    assert table["fallback_reason"].to_list() == [None]
    assert table["n_missing"].to_list() == [2]
    filled = fill_gaps(grid.values)
    assert filled["y"].to_list() == [float(i) for i in range(40)]  # linear interpolation


def test_align_end_extends_every_series_to_the_latest_period() -> None:
    frame = pl.concat([daily("long", [1.0] * 30), daily("early", [float(i) for i in range(20)])])
    grid = make_grid(frame, "D", align_end=True)
    ends = grid.values.group_by("unique_id").agg(pl.col("t").max()).sort("unique_id")
    assert ends["t"].to_list() == [29, 29]
    tail = fill_gaps(grid.values).filter(pl.col("unique_id") == "early").tail(3)
    assert tail["y"].to_list() == [19.0, 19.0, 19.0]  # carried forward


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pl.DataFrame({"unique_id": ["a"], "ds": [date(2024, 1, 1)]}), "missing columns"),
        (pl.DataFrame({"unique_id": ["a", "a"], "ds": [date(2024, 1, 1)] * 2, "y": [1.0, 2.0]}), "duplicate"),
        (pl.DataFrame({"unique_id": [None], "ds": [date(2024, 1, 1)], "y": [1.0]}), "must not be null"),
    ],
)
def test_contract_violations_are_errors(frame: pl.DataFrame, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_grid(frame, "D")
