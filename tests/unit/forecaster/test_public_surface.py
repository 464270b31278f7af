from __future__ import annotations

import subprocess
import sys

import forecaster


def test_public_surface_is_pinned() -> None:
    assert sorted(forecaster.__all__) == [
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
    for name in forecaster.__all__:
        assert getattr(forecaster, name) is not None


def test_importing_the_package_does_not_import_statsforecast() -> None:
    # `ledgerline` mounts forecast_cli, so every CLI start imports forecaster; keep that cheap.
    code = "import sys, forecaster; print('statsforecast' in sys.modules, 'hierarchicalforecast' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["False", "False"]
