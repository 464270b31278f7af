"""Hierarchy reconciliation (MinTrace, non-negative) and the exact decimal rows of a vintage."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import uuid4

import numpy as np
import polars as pl
import pytest

from forecaster import reconcile as rc
from forecaster.vintage import to_decimal, value_rows

SPEC = pl.DataFrame(
    {
        "unique_id": ["m/total", "m/region=a", "m/region=b", "m/plan=x", "m/plan=y",
                      "m/region=a/plan=x", "m/region=a/plan=y", "m/region=b/plan=x", "m/region=b/plan=y"],
        "level": ["total", "region", "region", "plan", "plan", *["region_plan"] * 4],
        "region_id": [None, "a", "b", None, None, "a", "a", "b", "b"],
        "plan_id": [None, None, None, "x", "y", "x", "y", "x", "y"],
    }
)  # fmt: skip


def test_summing_matrix_of_the_region_by_plan_grouping() -> None:
    tree = rc.build_hierarchy(SPEC, ("region_id", "plan_id"))
    assert tree.ids[-4:] == ["m/region=a/plan=x", "m/region=a/plan=y", "m/region=b/plan=x", "m/region=b/plan=y"]
    rows = dict(zip(tree.ids, tree.summing.tolist(), strict=True))
    assert rows["m/total"] == [1, 1, 1, 1]
    assert rows["m/region=a"] == [1, 1, 0, 0]
    assert rows["m/plan=y"] == [0, 1, 0, 1]
    assert rows["m/region=b/plan=x"] == [0, 0, 1, 0]


@pytest.mark.parametrize("method", rc.METHODS[:2])
def test_min_trace_is_coherent_and_non_negative(method: str) -> None:
    # Base forecasts that do not add up, with one bottom series pulled below zero: the
    # unconstrained solution has a negative bottom, so the non-negative QP must take over.
    tree = rc.build_hierarchy(SPEC.filter(pl.col("level").is_in(["total", "region_plan"])), ("region_id", "plan_id"))
    y_hat = np.array([[10.0, 12.0], [8.0, 9.0], [4.0, 4.0], [3.0, 2.0], [-40.0, -30.0]])
    out = rc.min_trace(tree, y_hat, method)
    bottom = out[-tree.n_bottom :]
    assert (bottom >= 0).all()
    np.testing.assert_allclose(out, tree.summing @ bottom)


def test_reconciliation_is_not_evaluated_when_a_series_has_no_backtest() -> None:
    tree = rc.build_hierarchy(SPEC, ("region_id", "plan_id"))
    partial = pl.DataFrame({"unique_id": ["m/total"], "cutoff": [1], "t": [2], "y": [1.0], "yhat": [1.0]})
    report = rc.evaluate(tree, partial, pl.DataFrame(), pl.DataFrame(), 7, (80, 95))
    assert (report.evaluated, report.adopted) == (False, False)
    assert "fallbacks" in report.reason


def test_to_decimal_rounds_half_even_to_the_cent() -> None:
    assert to_decimal(0.125) == Decimal("0.12")  # 0.125 is exact in binary: a true tie, to even
    assert to_decimal(2.675) == Decimal("2.67")  # the binary value is just below the tie: exact, no drift
    assert to_decimal(float("nan")) is None


def test_reconciled_vintage_rows_add_up_to_the_cent() -> None:
    tree = rc.build_hierarchy(SPEC, ("region_id", "plan_id"))
    rng = np.random.default_rng(3)
    bottoms = {uid: rng.uniform(1000, 2000, 2) + 1 / 3 for uid in tree.ids[-4:]}  # thirds: rounding bites
    rows = []
    for uid in tree.ids:
        members = [b for b, flag in zip(tree.ids[-4:], tree.summing[tree.ids.index(uid)], strict=True) if flag]
        mean = np.sum([bottoms[m] for m in members], axis=0)
        for t in (0, 1):
            rows.append({"unique_id": uid, "t": t, "mean": float(mean[t]), "lo-80": float(mean[t]) - 10,
                         "hi-80": float(mean[t]) + 10, "lo-95": float(mean[t]) - 20, "hi-95": float(mean[t]) + 20,
                         "model": "AutoETS"})  # fmt: skip
    raw = pl.DataFrame(rows)
    ds = pl.Series("ds", [date(2026, 1, 1) + (date(2026, 2, 1) - date(2026, 1, 1)) * t for t in raw["t"]])
    out = value_rows(uuid4(), "month", raw, ds, [tree])
    point = {(row[1], row[3]): row[4] for row in out}
    for day in (date(2026, 1, 1), date(2026, 2, 1)):
        regions = point[("m/region=a", day)] + point[("m/region=b", day)]
        plans = point[("m/plan=x", day)] + point[("m/plan=y", day)]
        assert point[("m/total", day)] == regions == plans
    for row in out:
        money = row[4:9]
        assert all(isinstance(v, Decimal) and v == v.quantize(Decimal("0.01")) for v in money)
        assert money[3] <= money[1] <= money[0] <= money[2] <= money[4]  # lo95 <= lo80 <= point <= hi80 <= hi95


def backtest_frames(aggregate_noise: float, seed: int = 4) -> tuple[rc.Hierarchy, pl.DataFrame, pl.DataFrame]:
    """Coherent actuals on the 2 x 2 hierarchy; bottom forecasts close to the truth, aggregate
    forecasts off by `aggregate_noise` (0 = coherent base forecasts)."""
    tree = rc.build_hierarchy(SPEC, ("region_id", "plan_id"))
    rng = np.random.default_rng(seed)
    n, bottoms = 30, tree.ids[-4:]
    truth = {uid: 100 + rng.normal(0, 1, n).cumsum() for uid in bottoms}
    guess = {uid: truth[uid] + rng.normal(0, 0.5, n) for uid in bottoms}
    history, rows = [], []
    for i, uid in enumerate(tree.ids):
        members = [b for b, flag in zip(bottoms, tree.summing[i], strict=True) if flag]
        actual = np.sum([truth[m] for m in members], axis=0)
        forecast = np.sum([guess[m] for m in members], axis=0)
        if uid not in bottoms:
            forecast = forecast + rng.normal(0, aggregate_noise, n)
        history.append(pl.DataFrame({"unique_id": uid, "t": np.arange(n), "y": actual}))
        for cutoff in (19, 24):
            for t in range(cutoff + 1, cutoff + 6):
                rows.append({"unique_id": uid, "cutoff": cutoff, "t": t, "y": actual[t], "yhat": forecast[t],
                             "lo-95": forecast[t] - 5, "hi-95": forecast[t] + 5})  # fmt: skip
    return tree, pl.DataFrame(rows), pl.concat(history)


def test_coherent_base_forecasts_are_left_alone() -> None:
    tree, backtests, history = backtest_frames(aggregate_noise=0.0)
    report = rc.evaluate(tree, backtests, pl.DataFrame(), history, 1, (95,), methods=("ols", "wls_struct"))
    assert report.evaluated
    assert report.base_mase is not None
    for value in report.method_mase.values():
        assert value == pytest.approx(report.base_mase, rel=1e-9)
    assert not report.adopted  # no strict improvement, nothing to adopt


def test_reconciliation_is_adopted_when_it_fixes_noisy_aggregates() -> None:
    tree, backtests, history = backtest_frames(aggregate_noise=8.0)
    report = rc.evaluate(tree, backtests, pl.DataFrame(), history, 1, (95,), methods=("ols", "wls_struct"))
    assert report.adopted
    assert report.method in {"ols", "wls_struct"}
    assert report.base_mase is not None
    assert report.method_mase[report.method] < report.base_mase
    assert report.by_level["total"][report.method] < report.by_level["total"]["base"]
    assert set(report.series_metrics["unique_id"].to_list()) == set(tree.ids)
