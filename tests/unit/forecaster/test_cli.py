"""`ledgerline forecast file data.csv --horizon H --freq F` through typer's CliRunner."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from forecaster import forecast_cli
from tests.unit.forecaster.conftest import seasonal_monthly

runner = CliRunner()


def write_csv(path: Path) -> Path:
    frame = pl.concat(
        [
            seasonal_monthly(2, 30, seed=5),
            pl.DataFrame({"unique_id": "flat", "ds": [date(2016, 1, 1), date(2016, 2, 1)], "y": [3.0, 3.0]}),
        ]
    )
    frame.write_csv(path)
    return path


def test_file_command_prints_forecasts_as_csv(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "data.csv")
    result = runner.invoke(
        forecast_cli, ["file", str(data), "--horizon", "3", "--freq", "MS", "--windows", "1", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    out = pl.read_csv(io.StringIO(result.stdout), try_parse_dates=True)
    assert out.columns == ["unique_id", "ds", "y", "y-lo-80", "y-hi-80", "y-lo-95", "y-hi-95", "model"]
    assert out.height == 3 * 3
    assert out.filter(pl.col("unique_id") == "s00")["ds"].to_list() == [
        date(2017, 7, 1),
        date(2017, 8, 1),
        date(2017, 9, 1),
    ]
    assert out.filter(pl.col("unique_id") == "flat")["model"].to_list() == ["Constant"] * 3
    assert "constant" in result.stderr  # the summary names the fallback reason


def test_file_command_writes_parquet(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "data.csv")
    target = tmp_path / "out.parquet"
    result = runner.invoke(
        forecast_cli,
        ["file", str(data), "--horizon", "2", "--freq", "MS", "--level", "90", "-o", str(target), "--quiet",
         "--model", "AutoTheta", "--model", "SeasonalNaive", "--windows", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = pl.read_parquet(target)
    assert out.columns == ["unique_id", "ds", "y", "y-lo-90", "y-hi-90", "model"]
    assert set(out["model"].to_list()) <= {"AutoTheta", "SeasonalNaive", "Constant"}
    assert result.stdout == ""


def test_file_command_rejects_a_csv_without_the_contract_columns(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("series,date,value\na,2024-01-01,1\n")
    result = runner.invoke(forecast_cli, ["file", str(bad), "--horizon", "2", "--quiet"])
    assert result.exit_code == 2
    assert "missing columns" in result.stderr


def test_forecast_app_offers_run_file_and_variance() -> None:
    result = runner.invoke(forecast_cli, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "file", "variance"):
        assert command in result.stdout
