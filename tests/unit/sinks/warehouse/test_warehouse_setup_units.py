"""The warehouse's setup step without services: its settings and the refusals that need no database."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from platform_common.config import Settings
from sinks.warehouse import DEMO_FX_RATES, WarehouseSinkSettings, read_fx_file, warehouse_settings
from sinks.warehouse.bootstrap import WarehouseSetupReport, apply_fiscal_calendar
from sinks.warehouse.sqlfiles import statements


def test_fiscal_year_start_month_defaults_to_the_calendar_and_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    assert WarehouseSinkSettings().fiscal_year_start_month == 1
    for wrong in (0, 13):
        with pytest.raises(ValidationError):
            WarehouseSinkSettings(fiscal_year_start_month=wrong)
    monkeypatch.setenv("LEDGERLINE_WAREHOUSE_SINK__FISCAL_YEAR_START_MONTH", "7")
    monkeypatch.setenv("LEDGERLINE_WAREHOUSE_SINK__FX_RATES_FILE", "/srv/rates.csv")
    sink = warehouse_settings(Settings())
    assert (sink.fiscal_year_start_month, sink.fx_rates_file) == (7, Path("/srv/rates.csv"))


def test_fiscal_calendar_refuses_a_month_out_of_range_before_connecting() -> None:
    # Settings pointing nowhere: a refusal that tried to connect would fail differently.
    nowhere = Settings().model_copy(
        update={"postgres": Settings().postgres.model_copy(update={"host": "invalid.invalid", "port": 1})}
    )
    for wrong in (0, 13):
        with pytest.raises(ValueError, match=r"1\.\.12"):
            apply_fiscal_calendar(nowhere, wrong)


def test_fiscal_sql_is_one_named_statement() -> None:
    assert [label for label, _ in statements("fiscal.sql")] == ["fiscal_calendar"]


def test_demo_rates_cover_the_demo_currencies_from_2015() -> None:
    rates = read_fx_file(DEMO_FX_RATES)
    to_usd = {r.currency for r in rates if r.reporting_currency == "USD"}
    assert {"EUR", "GBP"} <= to_usd
    assert min(r.effective_date for r in rates if r.reporting_currency == "USD").year == 2015


def test_setup_report_summary_names_what_happened() -> None:
    report = WarehouseSetupReport("loaded", 28, 120, 4, 9497)
    assert report.summary() == (
        "fx rates: loaded (28 loaded, 120 fact rows re-converted); fiscal year starts in month 4 (9497 dates updated)"
    )
