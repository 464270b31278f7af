"""Forecast vs actual for the paths `test_metrics.py` leaves out: billings (`metric=billed`, a flow:
daily values and month sums), monthly MRR (a stock: month-end values), and the refused windows.

The scenario's latest vintage (as of 2026-01-31, 60 days / 2 months ahead) gets three more series
here, written as the forecaster writes them (this module has a database of its own). Actuals
by hand from `scenario.py` (reporting currency USD; EUR at 1.1 until February, 1.2 in March):

  billed, per day (invoices on their service period's first day):
    Jan 1  C1 annual 120000 + C2 5800 + C3 21900 EUR x 1.1 = 24090 -> 149890
    Feb 1  C2 5800; Mar 1 C4 10800 EUR x 1.2 = 12960; every other day 0
  billed, per month (sums): Jan 149890, Feb 5800, Mar 12960
  mrr, month-end (as test_metrics.py): Jan 31 81470, Feb 28 62390, Mar 31 68660;
    emea: Mar 31 (S3 8100 + S4 16200) x 1.2 = 29160
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from platform_common.config import Settings
from platform_common.postgres import Role, connect
from tests.integration.query_api import scenario

pytestmark = pytest.mark.integration
VS_ACTUAL = "/v1/forecasts/vs-actual"
# (series, freq, metric, unit, level, region, values: (ds, point, lo80, hi80, lo95, hi95))
EXTRA_FORECASTS = [
    ("billed/total", "day", "billed", "minor_units", "total", None,
     [("2026-01-01", "150000.00", "148000.00", "152000.00", "145000.00", "155000.00"),
      ("2026-02-02", "1000.00", "500.00", "1500.00", "0.00", "2000.00"),
      ("2026-03-01", "12000.00", "11000.00", "13000.00", "10000.00", "14000.00")]),
    ("billed/total", "month", "billed", "minor_units", "total", None,
     [("2026-01-01", "150000.00", "140000.00", "160000.00", "130000.00", "170000.00"),
      ("2026-02-01", "5000.00", "4000.00", "6000.00", "3000.00", "7000.00"),
      ("2026-03-01", "16000.00", "15000.00", "17000.00", "12000.00", "20000.00"),
      ("2026-04-01", "15000.00", "14000.00", "16000.00", "13000.00", "17000.00")]),
    ("mrr/total", "month", "mrr", "minor_units", "total", None,
     [("2026-02-01", "65000.00", "63000.00", "67000.00", "60000.00", "70000.00"),
      ("2026-03-01", "70000.00", "68000.00", "72000.00", "67000.00", "73000.00")]),
    ("mrr/region=emea", "month", "mrr", "minor_units", "region", "emea",
     [("2026-03-01", "30000.00", "29500.00", "30500.00", "29000.00", "31000.00")]),
]  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def extra_forecasts(scenario_settings: Settings) -> None:
    with connect(Role.WRITER, scenario_settings) as conn:
        for series, freq, metric, unit, level, region, values in EXTRA_FORECASTS:
            conn.execute(
                "INSERT INTO warehouse.forecast_model (run_id, series_id, freq, metric, unit, hierarchy_level, "
                "region_id, plan_id, model, model_spec, training_start, training_end, n_obs, gaps_filled, reconciled, "
                "candidates) VALUES (%s, %s, %s, %s, %s, %s, %s, NULL, 'AutoETS', 'ETS(A,N,N)', '2026-01-01', "
                "'2026-01-31', 31, 0, false, %s)",
                (scenario.RUN_LATEST, series, freq, metric, unit, level, region, json.dumps({"AutoETS": 0.5})),
            )
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO warehouse.forecast_value (run_id, series_id, freq, ds, point, lo_80, hi_80, lo_95, "
                    "hi_95, model) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'AutoETS')",
                    [(scenario.RUN_LATEST, series, freq, *value) for value in values],
                )
        conn.commit()


def vs_actual(client: TestClient, **params: str) -> dict[str, Any]:
    response = client.get(VS_ACTUAL, params={"page_size": "500", **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["vintage"]["run_id"] == str(scenario.RUN_LATEST)
    return body


def compared(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    """(ds, actual, variance, variance_pct, inside_80, inside_95) of the items with a forecast."""
    fields = ("ds", "actual", "variance", "variance_pct", "inside_80", "inside_95")
    return [tuple(item[f] for f in fields) for item in body["items"] if item["point"] is not None]


def test_daily_billings_against_their_forecast(client: TestClient) -> None:
    body = vs_actual(client, metric="billed", start="2026-01-01", end="2026-03-01")
    assert body["series"]["series_id"] == "billed/total"
    assert body["window"] == {"start": "2026-01-01", "end": "2026-03-01"}
    assert compared(body) == [
        # 149890 - 150000 = -110; -110 / 150000 = -0.0733 %; inside 148000..152000.
        ("2026-01-01", 149890, "-110.00", "-0.0733", True, True),
        # Nothing billed on Feb 2: 0 - 1000 = -100 %; below 500..1500, on the 95 % bound 0 (inclusive).
        ("2026-02-02", 0, "-1000.00", "-100.0000", False, True),
        # 12960 - 12000 = +960 = +8 %.
        ("2026-03-01", 12960, "960.00", "8.0000", True, True),
    ]
    # Every day of the window has an actual (Jan 1 .. Mar 1 = 60 days); days without a forecast
    # carry no point and no variance.
    assert body["total_items"] == 60
    actuals = {item["ds"]: item["actual"] for item in body["items"]}
    assert (actuals["2026-02-01"], actuals["2026-02-05"]) == (5800, 0), "a chargeback is not billed"
    assert sum(actuals.values()) == 149890 + 5800 + 12960
    unforecast = next(item for item in body["items"] if item["ds"] == "2026-02-01")
    assert (unforecast["point"], unforecast["variance"], unforecast["inside_80"]) == (None, None, None)


def test_monthly_billings_are_month_sums(client: TestClient) -> None:
    body = vs_actual(client, metric="billed", freq="month", start="2026-01-01", end="2026-04-01")
    assert body["series"]["series_id"] == "billed/total"
    assert [(item["ds"], item["point"], item["actual"]) for item in body["items"]][-1] == (
        "2026-04-01", "15000.00", None,
    ), "April is past the data horizon: a forecast without an actual"  # fmt: skip
    assert compared(body)[:3] == [
        ("2026-01-01", 149890, "-110.00", "-0.0733", True, True),
        ("2026-02-01", 5800, "800.00", "16.0000", True, True),  # +800 / 5000
        ("2026-03-01", 12960, "-3040.00", "-19.0000", False, True),  # -3040 / 16000; below 15000
    ]


def test_monthly_mrr_takes_the_month_end_value(client: TestClient) -> None:
    body = vs_actual(client, metric="mrr", freq="month", start="2026-01-01", end="2026-03-01")
    assert body["series"]["series_id"] == "mrr/total"
    assert [(item["ds"], item["point"], item["actual"]) for item in body["items"]] == [
        ("2026-01-01", None, 81470),  # an actual without a forecast
        ("2026-02-01", "65000.00", 62390),
        ("2026-03-01", "70000.00", 68660),
    ]
    assert compared(body) == [
        # 62390 - 65000 = -2610; -2610 / 65000 = -4.01538 %; below 63000, inside 60000..70000.
        ("2026-02-01", 62390, "-2610.00", "-4.0154", False, True),
        # 68660 - 70000 = -1340; -1340 / 70000 = -1.91429 %; inside 68000..72000.
        ("2026-03-01", 68660, "-1340.00", "-1.9143", True, True),
    ]
    # The default monthly window: 12 months before the vintage (2025-01-01) through its horizon
    # (2 months after January); no actuals before the scenario's first month.
    default = vs_actual(client, metric="mrr", freq="month")
    assert default["window"] == {"start": "2025-01-01", "end": "2026-03-01"}
    assert [item["ds"] for item in default["items"]] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    # emea: 29160 - 30000 = -840 = -2.8 %; below 29500, inside 29000..31000.
    emea = vs_actual(client, metric="mrr", freq="month", region_id="emea", start="2026-03-01", end="2026-03-01")
    assert emea["series"]["series_id"] == "mrr/region=emea"
    assert compared(emea) == [("2026-03-01", 29160, "-840.00", "-2.8000", False, True)]


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [({"start": "2026-03-01", "end": "2026-02-01"}, "end", "before start"),
     ({"start": "2026-03-01", "end": "2026-02-01", "freq": "month", "metric": "billed"}, "end", "before start"),
     # The daily horizon: 2026-01-31 + 60 days = 2026-04-01.
     ({"start": "2026-04-02"}, "start", "start (2026-04-02) is after end (2026-04-01"),
     # Monthly: start truncates to 2026-04-01, after the 2-month horizon 2026-03-01.
     ({"start": "2026-04-15", "freq": "month"}, "start", "start (2026-04-01) is after end (2026-03-01"),
     # The default daily start is 90 days before the vintage (2025-11-02).
     ({"end": "2025-11-01"}, "end", "start (2025-11-02) is after end (2025-11-01")],
)  # fmt: skip
def test_a_window_ending_before_it_starts_is_refused(
    client: TestClient, params: dict[str, str], field: str, fragment: str
) -> None:
    response = client.get(VS_ACTUAL, params=params)
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["query", field]
    assert fragment in problem["msg"]
