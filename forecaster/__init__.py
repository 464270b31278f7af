"""Forecaster: revenue and active-subscription forecasts with intervals, vintages and variance.

Public surface (pinned by a test):
- `forecast_frame(frame, horizon, levels, freq)`: any long `unique_id, ds, y` polars frame in,
  forecasts out (Nixtla's contract); `fit_forecast` returns the per-series model table too.
- `run_forecast(RunOptions)`: the periodic warehouse job; each run is an immutable vintage.
- `compute_variance(run_id | None)`: forecast vs actual, idempotent, after new actuals arrive.
- `forecast_cli`: the typer app mounted as `ledgerline forecast` (`run`, `file`, `variance`).

Importing this package imports only the CLI's definition; the rest (and statsforecast, pandas)
is imported on first use (`platform_common.lazy`), so every `ledgerline` start stays cheap.
"""

from typing import TYPE_CHECKING

from forecaster.cli import forecast_cli
from platform_common.lazy import lazy_exports

if TYPE_CHECKING:
    from forecaster.engine import EngineOptions, FrameForecast, fit_forecast, forecast_frame
    from forecaster.frames import FallbackReason
    from forecaster.job import NoActualsError, RunOptions, RunResult, run_forecast
    from forecaster.variance import compute_variance

__all__ = [
    "EngineOptions",
    "FallbackReason",
    "FrameForecast",
    "NoActualsError",
    "RunOptions",
    "RunResult",
    "compute_variance",
    "fit_forecast",
    "forecast_cli",
    "forecast_frame",
    "run_forecast",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "EngineOptions": "forecaster.engine",
        "FrameForecast": "forecaster.engine",
        "fit_forecast": "forecaster.engine",
        "forecast_frame": "forecaster.engine",
        "FallbackReason": "forecaster.frames",
        "NoActualsError": "forecaster.job",
        "RunOptions": "forecaster.job",
        "RunResult": "forecaster.job",
        "run_forecast": "forecaster.job",
        "compute_variance": "forecaster.variance",
    },
)
