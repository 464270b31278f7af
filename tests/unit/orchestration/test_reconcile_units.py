from __future__ import annotations

from collections import Counter
from datetime import date

from orchestration.reconcile import Check, DayRow, Reconciler, Scope, to_date
from orchestration.reconcile_flow import ReconcileMismatch, ReconcileReport, report_tables


def test_lake_coverage_uses_inclusive_offset_ranges() -> None:
    spans = [(0, 9), (10, 19), (30, 39)]
    assert Reconciler.covered(spans, 0)
    assert Reconciler.covered(spans, 19)
    assert not Reconciler.covered(spans, 20)
    assert not Reconciler.covered(spans, 29)
    assert Reconciler.covered(spans, 39)
    assert not Reconciler.covered(spans, 40)
    assert not Reconciler.covered([], 0)


def test_report_flags_missing_rows_and_failed_checks() -> None:
    good = DayRow("payment", date(2026, 1, 2), Counter(raw=10, lake=10, clean=9, quarantined=1, warehouse=9))
    missing = DayRow("usage", date(2026, 1, 2), Counter(raw=5, lake=4, lake_missing=1, clean=5, warehouse=5))
    report = ReconcileReport([good], [Check("mrr_bridge", True, "ok")])
    assert report.ok
    assert report.mismatches == []
    report = ReconcileReport([good, missing], [Check("mrr_bridge", False, "2 rows break")])
    assert not report.ok
    assert any("usage 2026-01-02" in item and "lake_missing" in item for item in report.mismatches)
    assert any(item.startswith("mrr_bridge") for item in report.mismatches)
    data = report.as_dict()
    assert data["ok"] is False
    assert data["totals"]["usage"]["lake_missing"] == 1
    assert len(report_tables(data)) == 2
    assert "mismatches" in str(ReconcileMismatch(report))


def test_scope_and_days() -> None:
    assert to_date(0) == date(1970, 1, 1)
    scope = Scope(start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert scope.includes(date(2026, 1, 31))
    assert not scope.includes(date(2026, 2, 1))
