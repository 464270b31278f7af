"""Metrics of the orchestration work, computed at scrape time from durable records.

Flows run where nobody scrapes them: Prefect's runner executes every scheduled run in a
subprocess, and the CLI and the demo run theirs in short-lived processes. Counters and
histograms updated there vanish with the process. `ledgerline orchestration serve` (the
process Prometheus scrapes on :18300) therefore registers these collectors, which read what
the runs leave behind:

* `ledgerline_backfill_messages_total{source,family,outcome}`: messages handled by backfills
  (published, or skipped as earlier backfill copies), summed over the stored checkpoints of
  every run (`platform.backfill_checkpoint`, advanced after each acknowledged chunk, so the
  value moves while a backfill runs). A `--restart` forgets its run's progress, which shows as a
  counter reset.
* `ledgerline_backfill_remaining_messages{source,family}`: planned but not yet handled, over the
  runs that are not complete (running, failed or interrupted ones).
* `ledgerline_backfill_runs{status}`: backfill runs by status.
* `ledgerline_flow_last_run_duration_seconds{flow,state}` and
  `ledgerline_flow_last_run_end_timestamp_seconds{flow,state}`: the latest finished run of each
  flow per final state (COMPLETED, FAILED, CRASHED, CANCELLED), from the Prefect API, counting
  only runs of this stack's deployments (a scratch stack sharing the Prefect server has its own).
* `ledgerline_forecast_vintage_duration_seconds{rank}`: durations of the latest forecast
  vintages (`warehouse.forecast_run`).

A scrape never fails because Postgres or Prefect is unavailable: the family is then empty and a
warning is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector, CollectorRegistry

from platform_common.config import Settings
from platform_common.postgres import Role, connect, read_sql

log = logging.getLogger(__name__)
SQL = Path(__file__).parent / "sql"
FINAL_STATES = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


class ForecastVintages(Collector):
    """Durations of the latest forecast runs, read from the warehouse at scrape time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "ledgerline_forecast_vintage_duration_seconds", "Duration of the latest forecast runs.", labels=["rank"]
        )
        try:
            with connect(Role.WRITER, self.settings, connect_timeout=3) as conn:
                rows = conn.execute(
                    "SELECT duration_seconds FROM warehouse.forecast_run ORDER BY created_at DESC LIMIT 5"
                ).fetchall()
        except Exception as error:  # noqa: BLE001 - a scrape must not fail because Postgres blinked
            log.warning("forecast vintages not read", extra={"error": repr(error)})
            rows = []
        for rank, (seconds,) in enumerate(rows):
            gauge.add_metric([str(rank)], float(seconds))
        yield gauge


class BackfillProgress(Collector):
    """Backfill progress from `platform.backfill_run` / `platform.backfill_checkpoint`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        from orchestration.backfill import family_of_topic

        handled = CounterMetricFamily(
            "ledgerline_backfill_messages_total",
            "Messages handled by backfills (published, or skipped as backfill copies), from their checkpoints.",
            labels=["source", "family", "outcome"],
        )
        remaining = GaugeMetricFamily(
            "ledgerline_backfill_remaining_messages",
            "Messages planned but not yet handled by backfills that are not complete.",
            labels=["source", "family"],
        )
        runs = GaugeMetricFamily("ledgerline_backfill_runs", "Backfill runs by status.", labels=["status"])
        try:
            with connect(Role.WRITER, self.settings, connect_timeout=3) as conn:
                progress = conn.execute(read_sql(SQL / "backfill_metrics.sql")).fetchall()
                statuses = conn.execute("SELECT status, count(*) FROM platform.backfill_run GROUP BY status").fetchall()
        except Exception as error:  # noqa: BLE001 - a scrape must not fail because Postgres blinked
            log.warning("backfill progress not read", extra={"error": repr(error)})
            yield handled
            yield remaining
            yield runs  # empty: unknown, not zero
            return
        totals: dict[tuple[str, str], list[int]] = {}
        for source, topic, published, skipped, left in progress:
            of_topic = family_of_topic(self.settings, str(topic))
            key = (str(source), of_topic.value if of_topic else str(topic))
            sums = totals.setdefault(key, [0, 0, 0])
            sums[0] += int(published)
            sums[1] += int(skipped)
            sums[2] += int(left)
        for (source, family), (published, skipped, left) in sorted(totals.items()):
            handled.add_metric([source, family, "published"], published)
            handled.add_metric([source, family, "skipped"], skipped)
            remaining.add_metric([source, family], left)
        by_status = {str(status): int(count) for status, count in statuses}
        for status in ("planned", "running", "complete", "failed"):
            runs.add_metric([status], by_status.get(status, 0))
        yield handled
        yield remaining
        yield runs


class FlowRuns(Collector):
    """The latest finished run of each flow, per final state, from the Prefect API at
    `settings.prefect.api_url` (where `serve` registers the deployments), or with
    `keep_configured_api` at an API URL already configured in the calling context (tests)."""

    def __init__(
        self,
        settings: Settings,
        flows: Sequence[str],
        deployments: Sequence[str],
        timeout_s: float = 5.0,
        keep_configured_api: bool = False,
    ) -> None:
        self.settings = settings
        self.flows = list(flows)
        self.deployments = list(deployments)
        self.timeout_s = timeout_s
        self.keep_configured_api = keep_configured_api

    def latest_runs(self) -> list[tuple[str, str, float, float]]:
        """(flow, state, duration seconds, end timestamp) of the latest run per flow and final state."""
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import (
            DeploymentFilter,
            DeploymentFilterName,
            FlowFilter,
            FlowFilterName,
            FlowRunFilter,
            FlowRunFilterState,
            FlowRunFilterStateType,
        )
        from prefect.client.schemas.objects import StateType
        from prefect.client.schemas.sorting import FlowRunSort
        from prefect.settings import PREFECT_CLIENT_MAX_RETRIES, temporary_settings

        from orchestration.prefect_env import prefect_api

        found: list[tuple[str, str, float, float]] = []
        final = FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType(s) for s in FINAL_STATES]))
        )
        with (
            prefect_api(self.settings, keep_existing=self.keep_configured_api),
            temporary_settings(updates={PREFECT_CLIENT_MAX_RETRIES: 0}),  # the next scrape is the retry
            get_client(sync_client=True, httpx_settings={"timeout": self.timeout_s}) as client,
        ):
            for flow in self.flows:
                runs = client.read_flow_runs(
                    flow_filter=FlowFilter(name=FlowFilterName(any_=[flow])),
                    deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=self.deployments)),
                    flow_run_filter=final,
                    sort=FlowRunSort.END_TIME_DESC,
                    limit=50,
                )
                found.extend(_latest_per_state(flow, runs))
        return found

    def collect(self) -> Iterator[Metric]:
        duration = GaugeMetricFamily(
            "ledgerline_flow_last_run_duration_seconds",
            "Run time of the latest finished run of each flow of this stack's deployments, per final state.",
            labels=["flow", "state"],
        )
        ended = GaugeMetricFamily(
            "ledgerline_flow_last_run_end_timestamp_seconds",
            "When the latest finished run of each flow ended (Unix time), per final state.",
            labels=["flow", "state"],
        )
        try:
            latest = self.latest_runs()
        except Exception as error:  # noqa: BLE001 - a scrape must not fail because Prefect blinked
            log.warning("flow runs not read from Prefect", extra={"error": repr(error)})
            latest = []
        for flow, state, seconds, end in latest:
            duration.add_metric([flow, state], seconds)
            ended.add_metric([flow, state], end)
        yield duration
        yield ended


def _latest_per_state(flow: str, runs: Iterable[Any]) -> list[tuple[str, str, float, float]]:
    latest: dict[str, tuple[str, str, float, float]] = {}
    for run in runs:  # newest first
        state = run.state_type.value if run.state_type is not None else None
        if state is None or state in latest or run.end_time is None:
            continue
        seconds = run.total_run_time.total_seconds() if run.total_run_time else 0.0
        if not seconds and run.start_time is not None:
            seconds = (run.end_time - run.start_time).total_seconds()
        latest[state] = (flow, state, max(0.0, seconds), run.end_time.timestamp())
    return [latest[state] for state in sorted(latest)]


def register_collectors(
    settings: Settings,
    flows: Sequence[str],
    deployments: Sequence[str],
    registry: CollectorRegistry = REGISTRY,
) -> list[Collector]:
    """The collectors `orchestration serve` exposes on /metrics (registered in `registry`)."""
    collectors: list[Collector] = [
        ForecastVintages(settings),
        BackfillProgress(settings),
        FlowRuns(settings, flows, deployments),
    ]
    for collector in collectors:
        registry.register(collector)
    return collectors
