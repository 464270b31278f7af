"""The warehouse's part of `ledgerline setup`, after the migrations: FX rates and the fiscal calendar.

Both steps are idempotent, so setup can run on every deploy and demo start:
- FX: an empty rates table gets the `fx_rates_file` setting's rates (the shipped demo rates by
  default), and facts loaded before that are re-converted; once any rate exists (an operator's
  load-fx, or an earlier setup) nothing is loaded. Without rates, every non-reporting-currency
  fact is converted at rate 0 (listed by warehouse.fx_rate_missing) and reporting MRR is short.
  With environment prod the shipped demo rates are never loaded: a deployment names real ones.
- Fiscal calendar: warehouse.time's fiscal columns follow `fiscal_year_start_month`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from platform_common.config import Settings
from platform_common.postgres import Role, connect
from sinks.warehouse.maintenance import seed_fx
from sinks.warehouse.settings import DEMO_FX_RATES, WarehouseSinkSettings, warehouse_settings
from sinks.warehouse.sqlfiles import run_file


@dataclass(frozen=True)
class WarehouseSetupReport:
    fx_rates: Literal["loaded", "present", "skipped_demo_in_prod"]
    fx_rates_loaded: int
    fx_rows_reconverted: int
    fiscal_year_start_month: int
    fiscal_dates_updated: int

    def summary(self) -> str:
        return (
            f"fx rates: {self.fx_rates} ({self.fx_rates_loaded} loaded, {self.fx_rows_reconverted} fact rows"
            f" re-converted); fiscal year starts in month {self.fiscal_year_start_month}"
            f" ({self.fiscal_dates_updated} dates updated)"
        )


def set_up_warehouse(settings: Settings, sink: WarehouseSinkSettings | None = None) -> WarehouseSetupReport:
    """Run after the migrations (the tables must exist)."""
    sink = sink or warehouse_settings(settings)
    status: Literal["loaded", "present", "skipped_demo_in_prod"] = "present"
    loaded = reconverted = 0
    if settings.environment == "prod" and sink.fx_rates_file.resolve() == DEMO_FX_RATES.resolve():
        status = "skipped_demo_in_prod"
    else:
        counts = seed_fx(settings, sink)
        if counts is not None:
            status = "loaded"
            loaded = counts.pop("fx_rate")
            reconverted = sum(value for label, value in counts.items() if label.endswith("_reconvert"))
    return WarehouseSetupReport(
        fx_rates=status,
        fx_rates_loaded=loaded,
        fx_rows_reconverted=reconverted,
        fiscal_year_start_month=sink.fiscal_year_start_month,
        fiscal_dates_updated=apply_fiscal_calendar(settings, sink.fiscal_year_start_month),
    )


def apply_fiscal_calendar(settings: Settings, start_month: int) -> int:
    """(Re)compute warehouse.time's fiscal year, quarter and period; returns the dates changed."""
    if not 1 <= start_month <= 12:
        raise ValueError(f"fiscal year start month must be 1..12, got {start_month}")
    with connect(Role.WRITER, settings) as conn, conn.transaction():
        return run_file(conn, "fiscal.sql", {"start_month": start_month})["fiscal_calendar"]
