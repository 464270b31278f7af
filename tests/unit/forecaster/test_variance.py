"""Variance arithmetic against hand-computed values (exact decimals)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

import polars as pl

from forecaster.variance import favourability, percent, variance_rows

RUN = "6f1c3f4e-0000-4000-8000-000000000001"
DEC = pl.Decimal(20, 2)
D = Decimal  # short, so the expected rows below stay readable


def forecasts(rows: list[tuple[str, str, date, str, str | None, str | None, str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(RUN, sid, freq, ds, *(None if v is None else D(v) for v in values)) for sid, freq, ds, *values in rows],
        schema={"run_id": pl.String, "series_id": pl.String, "freq": pl.String, "ds": pl.Date, "point": DEC,
                "lo_80": DEC, "hi_80": DEC, "lo_95": DEC, "hi_95": DEC},
        orient="row",
    )  # fmt: skip


def actuals(rows: list[tuple[str, str, date, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"series_id": pl.String, "freq": pl.String, "ds": pl.Date, "actual": pl.Int64}, orient="row"
    )


def test_variance_rows_match_hand_computation_across_month_and_quarter_ends() -> None:
    fc = forecasts(
        [
            ("mrr/total", "day", date(2025, 3, 30), "100.00", "90.00", "110.00", "80.00", "120.00"),
            ("mrr/total", "day", date(2025, 3, 31), "200.50", "190.00", "210.00", "180.00", "220.00"),
            ("mrr/total", "day", date(2025, 4, 1), "0.00", "0.00", "0.00", "0.00", "0.00"),
            ("mrr/total", "day", date(2025, 4, 2), "50.25", None, None, None, None),
            ("mrr/total", "day", date(2025, 4, 3), "70.00", "60.00", "80.00", "50.00", "90.00"),  # no actual yet
            ("mrr/total", "month", date(2025, 4, 1), "1000.00", "900.00", "1100.00", "800.00", "1200.00"),
        ]
    )
    act = actuals(
        [
            ("mrr/total", "day", date(2025, 3, 30), 110),
            ("mrr/total", "day", date(2025, 3, 31), 200),
            ("mrr/total", "day", date(2025, 4, 1), 5),
            ("mrr/total", "day", date(2025, 4, 2), 50),
            ("mrr/total", "month", date(2025, 4, 1), 1000),
            ("mrr/region=eu", "day", date(2025, 3, 30), 1),  # no forecast for it
        ]
    )
    rows = variance_rows(fc, act)
    run = UUID(RUN)
    #        actual  forecast   var     var%        in80   in95   direction     mtd a/f/var/%              qtd a/f/var/%
    assert rows == [
        (run, "mrr/total", "day", date(2025, 3, 30), D(110), D("100.00"), D("10.00"), D("10.0000"), True, True,
         "favourable", D(110), D("100.00"), D("10.00"), D("10.0000"), D(110), D("100.00"), D("10.00"), D("10.0000")),
        (run, "mrr/total", "day", date(2025, 3, 31), D(200), D("200.50"), D("-0.50"), D("-0.2494"), True, True,
         "unfavourable", D(310), D("300.50"), D("9.50"), D("3.1614"), D(310), D("300.50"), D("9.50"), D("3.1614")),
        (run, "mrr/total", "day", date(2025, 4, 1), D(5), D("0.00"), D("5.00"), None, False, False,
         "favourable", D(5), D("0.00"), D("5.00"), None, D(5), D("0.00"), D("5.00"), None),
        (run, "mrr/total", "day", date(2025, 4, 2), D(50), D("50.25"), D("-0.25"), D("-0.4975"), None, None,
         "unfavourable", D(55), D("50.25"), D("4.75"), D("9.4527"), D(55), D("50.25"), D("4.75"), D("9.4527")),
        (run, "mrr/total", "month", date(2025, 4, 1), D(1000), D("1000.00"), D("0.00"), D("0.0000"), True, True,
         "on_forecast", D(1000), D("1000.00"), D("0.00"), D("0.0000"), D(1000), D("1000.00"), D("0.00"), D("0.0000")),
    ]  # fmt: skip
    for row in rows:
        assert not any(isinstance(value, float) for value in row)


def test_month_to_date_restarts_but_quarter_to_date_carries_within_a_quarter() -> None:
    fc = forecasts(
        [
            ("s", "day", date(2025, 1, 31), "10.00", None, None, None, None),
            ("s", "day", date(2025, 2, 1), "10.00", None, None, None, None),
            ("s", "day", date(2025, 2, 2), "10.00", None, None, None, None),
        ]
    )
    rows = variance_rows(fc, actuals([("s", "day", date(2025, 1, 31), 12), ("s", "day", date(2025, 2, 1), 8),
                                      ("s", "day", date(2025, 2, 2), 11)]))  # fmt: skip
    mtd = [(row[11], row[12]) for row in rows]
    qtd = [(row[15], row[16]) for row in rows]
    assert mtd == [(D(12), D("10.00")), (D(8), D("10.00")), (D(19), D("20.00"))]
    assert qtd == [(D(12), D("10.00")), (D(20), D("20.00")), (D(31), D("30.00"))]


def test_each_run_accumulates_separately() -> None:
    other = "6f1c3f4e-0000-4000-8000-000000000002"
    fc = pl.concat(
        [
            forecasts([("s", "day", date(2025, 1, 1), "1.00", None, None, None, None)]),
            forecasts([("s", "day", date(2025, 1, 1), "3.00", None, None, None, None)]).with_columns(
                pl.lit(other).alias("run_id")
            ),
        ]
    )
    rows = variance_rows(fc, actuals([("s", "day", date(2025, 1, 1), 2)]))
    assert [(str(row[0]), row[6], row[11]) for row in rows] == [(RUN, D("1.00"), D(2)), (other, D("-1.00"), D(2))]


def test_percent_and_favourability_helpers() -> None:
    assert percent(D("1"), D("3")) == D("33.3333")
    assert percent(D("-2"), D("-4")) == D("-50.0000")  # relative to the size of the forecast
    assert percent(D("1"), D("0")) is None
    assert [favourability(D(a), D(f)) for a, f in ((2, 1), (1, 2), (1, 1))] == [
        "favourable",
        "unfavourable",
        "on_forecast",
    ]
