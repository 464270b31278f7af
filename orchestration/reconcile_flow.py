"""The reconcile flow and its report: a table per family and arrival day, checks, JSON.

`run_reconcile` returns the report; the flow (and the CLI) raise `ReconcileMismatch` when any
row or check disagrees, so a scheduled run fails visibly in Prefect and a script gets exit 1.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE
from prometheus_client import Gauge
from rich.table import Table

from orchestration.prefect_env import timed_flow
from orchestration.reconcile import COLUMNS, Check, DayRow, Reconciler, Scope
from platform_common.config import Settings, get_settings
from platform_common.topics import Family

log = logging.getLogger(__name__)
MISMATCHES = Gauge("ledgerline_reconcile_mismatches", "Rows and checks that disagreed in the last reconcile run.")


@dataclass
class ReconcileReport:
    rows: list[DayRow] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    @property
    def mismatches(self) -> list[str]:
        found = [f"{row.family} {row.day}: {dict(_problem_counts(row))}" for row in self.rows if not row.ok]
        found += [f"{check.name}: {check.detail}" for check in self.checks if not check.ok]
        return found

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def totals(self) -> dict[str, dict[str, int]]:
        out: dict[str, Counter[str]] = {}
        for row in self.rows:
            out.setdefault(row.family, Counter()).update(row.counts)
        return {family: dict(counts) for family, counts in sorted(out.items())}

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "mismatches": self.mismatches,
            "totals": self.totals(),
            "rows": [{"family": r.family, "day": r.day.isoformat(), "ok": r.ok, **dict(r.counts)} for r in self.rows],
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail, **c.data} for c in self.checks],
        }

    def tables(self) -> list[Table]:
        return report_tables(self.as_dict())


def report_tables(data: dict[str, Any]) -> list[Table]:
    """Rich tables from `ReconcileReport.as_dict()` (also what the flow returns)."""
    days = Table(title="reconcile: per family and arrival day (UTC)")
    for column in ("family", "day", *COLUMNS, "status"):
        days.add_column(column, justify="left" if column in ("family", "day", "status") else "right")
    for row in data["rows"]:
        status = "ok" if row["ok"] else "[red]MISMATCH[/red]"
        days.add_row(row["family"], row["day"], *(f"{row.get(c, 0):,}" for c in COLUMNS), status)
    checks = Table(title="reconcile: checks")
    for column in ("check", "status", "detail"):
        checks.add_column(column)
    for check in data["checks"]:
        checks.add_row(check["name"], "ok" if check["ok"] else "[red]MISMATCH[/red]", check["detail"])
    return [days, checks]


def _problem_counts(row: DayRow) -> Counter[str]:
    return Counter({k: v for k, v in row.counts.items() if k in ("lake_missing", "warehouse_missing") and v})


class ReconcileMismatch(RuntimeError):
    def __init__(self, report: ReconcileReport) -> None:
        self.report = report
        super().__init__("reconcile found mismatches: " + "; ".join(report.mismatches[:10]))


def run_reconcile(
    settings: Settings,
    families: Sequence[Family] = tuple(Family),
    start: date | None = None,
    end: date | None = None,
    processor_metrics: Sequence[str] = (),
    say: Callable[[str], None] | None = None,
) -> ReconcileReport:
    reconciler = Reconciler(settings, processor_metrics, say)
    reconciler.run(Scope(tuple(families), start, end))
    report = ReconcileReport(sorted(reconciler.rows.values(), key=lambda r: (r.family, r.day)), reconciler.checks)
    MISMATCHES.set(len(report.mismatches))
    log.info("reconcile finished", extra={"ok": report.ok, "mismatches": report.mismatches[:20]})
    return report


@task(name="reconcile", cache_policy=NONE)
def reconcile_task(
    settings: Settings, families: list[str], start: date | None, end: date | None, processor_metrics: list[str]
) -> dict[str, Any]:
    report = run_reconcile(settings, [Family(f) for f in families], start, end, processor_metrics)
    if not report.ok:
        raise ReconcileMismatch(report)
    return report.as_dict()


@flow(name="ledgerline-reconcile")
def reconcile_flow(
    families: list[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    processor_metrics: list[str] | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Compare lake, topics and warehouse per family and day; fail on any mismatch."""
    resolved = settings or get_settings()
    with timed_flow("reconcile"):
        result: dict[str, Any] = reconcile_task(
            resolved, families or [f.value for f in Family], start, end, processor_metrics or []
        )
    return result
