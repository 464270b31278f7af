"""Every reconcile run's result in `platform.reconcile_run`, and the gauges read from it.

Scheduled runs execute in a Prefect subprocess, so a gauge set inside the run never reached
`orchestration serve`'s /metrics. Each run therefore stores its verdict; `ReconcileResults`
exports the latest one of this stack (topic prefix) at scrape time. Before the first run there
is no sample at all (not a reassuring 0).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from platform_common.config import Settings
from platform_common.postgres import Role, connect, read_sql

log = logging.getLogger(__name__)
SQL = Path(__file__).parent / "sql"


def store_result(
    settings: Settings,
    data: dict[str, Any],
    families: Sequence[str],
    start: date | None,
    end: date | None,
    started_at: datetime,
) -> int:
    """Insert one run (`ReconcileReport.as_dict()`); returns its run id."""
    summary = {
        "mismatches": data["mismatches"],
        "unverified": data["unverified"],
        "checks": [{"name": c["name"], "status": c["status"], "detail": c["detail"]} for c in data["checks"]],
    }
    with connect(Role.WRITER, settings) as conn:
        row = conn.execute(
            read_sql(SQL / "reconcile_run_insert.sql"),
            {
                "topic_prefix": settings.kafka.topic_prefix,
                "families": list(families),
                "range_start": start,
                "range_end": end,
                "allow_unverified": data["allow_unverified"],
                "ok": data["ok"],
                "mismatches": len(data["mismatches"]),
                "unverified": len(data["unverified"]),
                "summary": json.dumps(summary, default=str),
                "started_at": started_at,
            },
        ).fetchone()
    assert row is not None
    return int(row[0])


def latest_result(settings: Settings, connect_timeout: int = 10) -> dict[str, Any] | None:
    with connect(Role.WRITER, settings, connect_timeout=connect_timeout) as conn:
        row = conn.execute(read_sql(SQL / "reconcile_run_latest.sql"), {"topic_prefix": settings.kafka.topic_prefix})
        found = row.fetchone()
    if found is None:
        return None
    run_id, ok, mismatches, unverified, finished_at, summary = found
    return {
        "run_id": int(run_id),
        "ok": bool(ok),
        "mismatches": int(mismatches),
        "unverified": int(unverified),
        "finished_at": finished_at,
        "summary": summary,
    }


class ReconcileResults(Collector):
    """`ledgerline_reconcile_*` from the latest stored run of this stack, read at scrape time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        mismatches = GaugeMetricFamily(
            "ledgerline_reconcile_mismatches", "Rows and checks that disagreed in the latest reconcile run."
        )
        unverified = GaugeMetricFamily(
            "ledgerline_reconcile_unverified", "Checks the latest reconcile run could not measure."
        )
        ok = GaugeMetricFamily("ledgerline_reconcile_ok", "1 if the latest reconcile run passed, else 0.")
        finished = GaugeMetricFamily(
            "ledgerline_reconcile_last_run_timestamp_seconds", "When the latest reconcile run finished (unix time)."
        )
        try:
            latest = latest_result(self.settings, connect_timeout=3)
        except Exception as error:  # noqa: BLE001 - a scrape must not fail because Postgres blinked
            log.warning("reconcile result not read", extra={"error": repr(error)})
            latest = None
        if latest is not None:
            mismatches.add_metric([], latest["mismatches"])
            unverified.add_metric([], latest["unverified"])
            ok.add_metric([], 1.0 if latest["ok"] else 0.0)
            finished.add_metric([], latest["finished_at"].timestamp())
        yield from (mismatches, unverified, ok, finished)
