"""The reconcile flow and its report: a table per family and arrival day, checks, JSON.

`run_reconcile` returns the report and stores its verdict in `platform.reconcile_run` (what
`orchestration serve` exports on /metrics); the flow (and the CLI) raise `ReconcileMismatch`
when any row or check disagrees, or when a check could not be measured ("unverified") unless
`allow_unverified` is set, so a scheduled run fails visibly in Prefect and a script gets exit 1.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE
from rich.table import Table

from orchestration.prefect_env import timed_flow
from orchestration.reconcile import COLUMNS, Check, DayRow, Reconciler, Scope
from orchestration.reconcile_store import store_result
from platform_common.config import Settings, get_settings
from platform_common.topics import Family

log = logging.getLogger(__name__)
STATUS_MARKUP = {"ok": "ok", "mismatch": "[red]MISMATCH[/red]", "unverified": "[yellow]UNVERIFIED[/yellow]"}


@dataclass
class ReconcileReport:
    rows: list[DayRow] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    allow_unverified: bool = False

    @property
    def mismatches(self) -> list[str]:
        found = [f"{row.family} {row.day}: {dict(_problem_counts(row))}" for row in self.rows if not row.ok]
        found += [f"{check.name}: {check.detail}" for check in self.checks if check.status == "mismatch"]
        return found

    @property
    def unverified(self) -> list[str]:
        return [f"{check.name}: {check.detail}" for check in self.checks if check.status == "unverified"]

    @property
    def failures(self) -> list[str]:
        """What fails the run: every mismatch, and unverified checks unless they are allowed."""
        return self.mismatches + ([] if self.allow_unverified else self.unverified)

    @property
    def ok(self) -> bool:
        return not self.failures

    def totals(self) -> dict[str, dict[str, int]]:
        out: dict[str, Counter[str]] = {}
        for row in self.rows:
            out.setdefault(row.family, Counter()).update(row.counts)
        return {family: dict(counts) for family, counts in sorted(out.items())}

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "mismatches": self.mismatches,
            "unverified": self.unverified,
            "allow_unverified": self.allow_unverified,
            "totals": self.totals(),
            "rows": [{"family": r.family, "day": r.day.isoformat(), "ok": r.ok, **dict(r.counts)} for r in self.rows],
            "checks": [
                {"name": c.name, "ok": c.ok, "status": c.status, "detail": c.detail, **c.data} for c in self.checks
            ],
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
        status = check.get("status") or ("ok" if check["ok"] else "mismatch")
        checks.add_row(check["name"], STATUS_MARKUP.get(status, status), check["detail"])
    return [days, checks]


def _problem_counts(row: DayRow) -> Counter[str]:
    return Counter({k: v for k, v in row.counts.items() if k in ("lake_missing", "warehouse_missing") and v})


class ReconcileMismatch(RuntimeError):
    def __init__(self, report: ReconcileReport) -> None:
        self.report = report
        super().__init__("reconcile found mismatches: " + "; ".join(report.failures[:10]))


def run_reconcile(
    settings: Settings,
    families: Sequence[Family] = tuple(Family),
    start: date | None = None,
    end: date | None = None,
    processor_metrics: Sequence[str] = (),
    say: Callable[[str], None] | None = None,
    allow_unverified: bool = False,
    settle_timeout_s: float = 30.0,
) -> ReconcileReport:
    """Reconcile and store the verdict. `processor_metrics` is ignored (kept for callers): the
    count balance reads the processor's durable counts from Kafka, not a /metrics scrape."""
    del processor_metrics
    started_at = datetime.now(UTC)
    reconciler = Reconciler(settings, say, settle_timeout_s)
    reconciler.run(Scope(tuple(families), start, end))
    report = ReconcileReport(
        sorted(reconciler.rows.values(), key=lambda r: (r.family, r.day)), reconciler.checks, allow_unverified
    )
    store_result(settings, report.as_dict(), [Family(f).value for f in families], start, end, started_at)
    log.info(
        "reconcile finished",
        extra={"ok": report.ok, "mismatches": report.mismatches[:20], "unverified": report.unverified[:20]},
    )
    return report


@task(name="reconcile", cache_policy=NONE)
def reconcile_task(
    settings: Settings, families: list[str], start: date | None, end: date | None, allow_unverified: bool
) -> dict[str, Any]:
    report = run_reconcile(settings, [Family(f) for f in families], start, end, allow_unverified=allow_unverified)
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
    allow_unverified: bool = False,
) -> dict[str, Any]:
    """Compare lake, topics and warehouse per family and day and the count balance; fail on any
    mismatch, and on a check that could not be measured unless `allow_unverified`.
    `processor_metrics` is ignored (kept so existing deployments keep their parameters)."""
    resolved = settings or get_settings()
    with timed_flow("reconcile"):
        result: dict[str, Any] = reconcile_task(
            resolved, families or [f.value for f in Family], start, end, allow_unverified
        )
    return result
