"""The compact JSON record of a run published on the `forecasts` topic.

It says what was produced (counts, models, fallbacks, reconciliation, backtest quality) and
carries the monthly forecasts of each metric's total, so a consumer can act without a database
round trip. Amounts are decimal strings, never JSON floats.
"""

from __future__ import annotations

from collections import Counter
from statistics import fmean
from typing import Any

from forecaster.vintage import MODEL_COLUMNS, VALUE_COLUMNS

_M = {name: i for i, name in enumerate(MODEL_COLUMNS)}
_V = {name: i for i, name in enumerate(VALUE_COLUMNS)}


def _mean(values: list[Any]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return round(fmean(present), 6) if present else None


def run_record(header: dict[str, Any], models: list[tuple[Any, ...]], values: list[tuple[Any, ...]]) -> dict[str, Any]:
    totals: dict[str, list[dict[str, str | None]]] = {}
    for metric in header["metrics"]:
        series = f"{metric}/total"
        totals[metric] = [
            {
                "ds": row[_V["ds"]].isoformat(),
                **{key: None if row[_V[key]] is None else str(row[_V[key]]) for key in ("point", "lo_95", "hi_95")},
            }
            for row in values
            if row[_V["series_id"]] == series and row[_V["freq"]] == "month"
        ]
    return {
        "type": "forecast_run",
        "run_id": str(header["run_id"]),
        "created_at": header["created_at"].isoformat(),
        "as_of_date": header["as_of_date"].isoformat(),
        "horizon_days": header["horizon_days"],
        "horizon_months": header["horizon_months"],
        "metrics": header["metrics"],
        "reporting_currency": header["reporting_currency"],
        "series_count": header["series_count"],
        "fallbacks": dict(Counter(row[_M["fallback_reason"]] for row in models if row[_M["fallback_reason"]])),
        "models": dict(Counter(row[_M["model"]] for row in models)),
        "reconciliation": {
            key: {"adopted": report.get("adopted", False), "method": report.get("method")}
            for key, report in header["reconciliation"].items()
        },
        "backtest": {
            "mean_mase": _mean([row[_M["mase"]] for row in models]),
            "coverage_80": _mean([row[_M["coverage_80"]] for row in models]),
            "coverage_95": _mean([row[_M["coverage_95"]] for row in models]),
        },
        "duration_seconds": header["duration_seconds"],
        "monthly_totals": totals,
    }
