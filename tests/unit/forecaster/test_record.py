"""The compact run record published to the forecasts topic."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

from forecaster.publish import encode
from forecaster.record import run_record
from forecaster.vintage import MODEL_COLUMNS


def model_row(series: str, model: str, reason: str | None, mase: float | None) -> tuple[object, ...]:
    values = dict.fromkeys(MODEL_COLUMNS)
    values.update(series_id=series, model=model, fallback_reason=reason, mase=mase, coverage_95=0.9)
    return tuple(values[name] for name in MODEL_COLUMNS)


def test_record_counts_models_and_fallbacks_and_keeps_amounts_exact() -> None:
    run_id = uuid4()
    header = {
        "run_id": run_id, "created_at": datetime(2026, 1, 1, tzinfo=UTC), "as_of_date": date(2025, 12, 31),
        "horizon_days": 90, "horizon_months": 12, "metrics": ["mrr"], "reporting_currency": "USD",
        "series_count": 3, "duration_seconds": 1.5,
        "reconciliation": {"mrr/day": {"adopted": True, "method": "ols", "base_mase": 1.0}},
    }  # fmt: skip
    models = [
        model_row("mrr/total", "AutoETS", None, 0.5),
        model_row("mrr/plan=a", "AutoETS", None, 1.5),
        model_row("mrr/plan=b", "Naive", "too_short", None),
    ]
    values = [
        (run_id, "mrr/total", "month", date(2026, 1, 1), Decimal("12345678.91"), None, None, Decimal("1.00"),
         Decimal("99999999.99"), "AutoETS"),
        (run_id, "mrr/total", "day", date(2026, 1, 1), Decimal("1.00"), None, None, None, None, "AutoETS"),
    ]  # fmt: skip
    record = run_record(header, models, values)
    assert record["run_id"] == str(run_id)
    assert record["models"] == {"AutoETS": 2, "Naive": 1}
    assert record["fallbacks"] == {"too_short": 1}
    assert record["backtest"]["mean_mase"] == 1.0
    assert record["reconciliation"] == {"mrr/day": {"adopted": True, "method": "ols"}}
    assert record["monthly_totals"] == {
        "mrr": [{"ds": "2026-01-01", "point": "12345678.91", "lo_95": "1.00", "hi_95": "99999999.99"}]
    }
    assert json.loads(encode(record)) == record
