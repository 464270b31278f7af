"""Turn engine output into the rows of one vintage: exact decimals, coherent where reconciled.

Model outputs are floats; what is stored is numeric with two decimals (minor units for money).
For a reconciled hierarchy only the bottom series are rounded and every aggregate is the exact
decimal sum of its bottoms, so total = sum of regions = sum of plans holds to the cent in the
database, not just approximately in floating point.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from uuid import UUID

import polars as pl

from forecaster.reconcile import Hierarchy

CENT = Decimal("0.01")
LEVELS = (80, 95)
MODEL_COLUMNS = (
    "run_id", "series_id", "freq", "metric", "unit", "hierarchy_level", "region_id", "plan_id", "model",
    "model_spec", "fallback_reason", "arima_order", "aic", "training_start", "training_end", "n_obs",
    "gaps_filled", "backtest_windows", "backtest_horizon", "backtest_points", "mase", "smape", "wape",
    "coverage_80", "coverage_95", "base_mase", "reconciled", "candidates",
)  # fmt: skip
FALLBACK_AT = MODEL_COLUMNS.index("fallback_reason")
VALUE_COLUMNS = ("run_id", "series_id", "freq", "ds", "point", "lo_80", "hi_80", "lo_95", "hi_95", "model")


def to_decimal(value: float | None) -> Decimal | None:
    if value is None or not math.isfinite(value):
        return None
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_EVEN)


def value_rows(
    run_id: UUID, freq: str, raw: pl.DataFrame, ds: pl.Series, coherent: list[Hierarchy]
) -> list[tuple[Any, ...]]:
    """Rows for forecast_value. `raw` is the engine's grid frame; `ds` its dates, row for row."""
    records: dict[tuple[str, int], dict[str, Any]] = {}
    for row, day in zip(raw.iter_rows(named=True), ds.to_list(), strict=True):
        records[(row["unique_id"], row["t"])] = {
            "ds": day,
            "point": to_decimal(row["mean"]),
            **{f"{side}_{lv}": to_decimal(row[f"{side}-{lv}"]) for lv in LEVELS for side in ("lo", "hi")},
            "model": row["model"],
        }
    for hierarchy in coherent:
        _make_exact_sums(records, hierarchy)
    out = []
    for (uid, _t), rec in sorted(records.items()):
        point = rec["point"]
        if point is None:
            raise ValueError(f"series {uid} has no point forecast")
        lo80, hi80, lo95, hi95 = _nest(point, rec["lo_80"], rec["hi_80"], rec["lo_95"], rec["hi_95"])
        out.append((run_id, uid, freq, rec["ds"], point, lo80, hi80, lo95, hi95, rec["model"]))
    return out


def _make_exact_sums(records: dict[tuple[str, int], dict[str, Any]], hierarchy: Hierarchy) -> None:
    bottoms = hierarchy.ids[-hierarchy.n_bottom :]
    times = sorted({t for (uid, t) in records if uid == bottoms[0]})
    for i, uid in enumerate(hierarchy.ids[: len(hierarchy.ids) - hierarchy.n_bottom]):
        members = [bottoms[j] for j, flag in enumerate(hierarchy.summing[i]) if flag]
        for t in times:
            records[(uid, t)]["point"] = sum((records[(m, t)]["point"] for m in members), Decimal("0.00"))


def _nest(point: Decimal, *bounds: Decimal | None) -> tuple[Decimal | None, ...]:
    """Keep lo95 <= lo80 <= point <= hi80 <= hi95 after rounding and exact re-summing."""
    lo80, hi80, lo95, hi95 = bounds
    if lo80 is None or hi80 is None or lo95 is None or hi95 is None:
        return (None, None, None, None)
    lo80, hi80 = min(lo80, point), max(hi80, point)
    return lo80, hi80, min(lo95, lo80), max(hi95, hi80)


def _num(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def model_rows(
    run_id: UUID, freq: str, models: pl.DataFrame, spec: pl.DataFrame, units: Mapping[str, str]
) -> list[tuple[Any, ...]]:
    """Rows for forecast_model; `spec` carries metric, level, region_id and plan_id per series."""
    joined = models.join(spec, on="unique_id", how="left")
    out = []
    for row in joined.sort("unique_id").iter_rows(named=True):
        out.append(
            (
                run_id, row["unique_id"], freq, row["metric"], units[row["metric"]], row["level"],
                row["region_id"], row["plan_id"], row["model"], row["model_spec"], row["fallback_reason"],
                row["arima_order"], _num(row["aic"]), row["training_start"], row["training_end"],
                row["n_obs"], row["gaps_filled"], row["backtest_windows"], row["backtest_horizon"],
                row["backtest_points"], _num(row["mase"]), _num(row["smape"]), _num(row["wape"]),
                _num(row["coverage_80"]), _num(row["coverage_95"]), _num(row["base_mase"]),
                bool(row["reconciled"]), row["candidates"],
            )
        )  # fmt: skip
    return out
