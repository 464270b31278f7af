"""`ledgerline demo`: the whole platform on sample data, with one command.

Steps (each prints progress): set up (topics, bucket, migrations, bootstrap API key) ->
generate the history -> start the long-running processes in the background -> send the history
(batch loader for the past, REST gateway for the last month) -> wait until the pipeline has
drained -> run the forecast flow on the Prefect server -> check the query API -> summary.

A warm re-run finds the same data set already ingested (platform.demo_ingest, keyed by the
parameters and topic prefix) and skips generating and sending; `--resend` sends it again
(harmless: the processor drops events it already accepted). Processes keep running until
`ledgerline demo stop`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb

from orchestration import processes
from orchestration.demo_data import DemoParams, PreparedData, SendReport, load_files, prepare, send_gateway
from orchestration.drain import Progress, wait_drained
from orchestration.processes import PipelinePorts
from platform_common.config import Settings
from platform_common.postgres import Role, connect

Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoOptions:
    params: DemoParams = field(default_factory=DemoParams)
    ports: PipelinePorts = field(default_factory=PipelinePorts)
    stream_workers: int = 1
    resend: bool = False
    forecast: bool = True
    refresh_warehouse: bool = False
    drain_timeout_s: float = 900.0
    use_prefect_server: bool = True


@dataclass
class DemoResult:
    timings: dict[str, float] = field(default_factory=dict)
    sent: SendReport | None = None
    drained: Progress | None = None
    forecast: dict[str, Any] | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    first_send_at: float | None = None
    drained_at: float | None = None


class Steps:
    """Times each step and prints `[demo] ...` progress lines."""

    def __init__(self, say: Say, result: DemoResult) -> None:
        self.say, self.result, self.started = say, result, time.monotonic()

    def run(self, name: str, action: Callable[[], Any]) -> Any:
        self.say(f"{name} ...")
        began = time.monotonic()
        value = action()
        self.result.timings[name] = round(time.monotonic() - began, 2)
        self.say(f"{name}: done in {self.result.timings[name]:.1f}s")
        return value


def ingested(settings: Settings, params: DemoParams) -> dict[str, Any] | None:
    with connect(Role.WRITER, settings) as conn:
        row = conn.execute(
            "SELECT summary FROM platform.demo_ingest WHERE params_hash = %s AND topic_prefix = %s",
            (params.fingerprint, settings.kafka.topic_prefix),
        ).fetchone()
    return dict(row[0]) if row else None


def record_ingest(settings: Settings, params: DemoParams, sent: SendReport, data: PreparedData) -> dict[str, Any]:
    truth = data.ground_truth
    summary = {
        "rejected_at_ingestion": dict(sent.rejected),
        "ground_truth": {
            "counts": truth["counts"],
            "bad_records": {k: truth["bad_records"][k] for k in ("total", "by_kind", "expected_handling")},
            "late_events": truth["late_events"]["count"],
            "month_ends": truth["month_ends"][-2:],
        },
        "reference_path": str(data.reference_path.resolve()),
        "cutoff": data.cutoff.isoformat(),
    }
    with connect(Role.WRITER, settings) as conn:
        conn.execute(
            "INSERT INTO platform.demo_ingest (params_hash, topic_prefix, parameters, events_sent, via_gateway,"
            " via_loader, rejected, summary) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (params_hash, topic_prefix) DO UPDATE SET events_sent = excluded.events_sent,"
            " via_gateway = excluded.via_gateway, via_loader = excluded.via_loader, rejected = excluded.rejected,"
            " summary = excluded.summary, finished_at = now()",
            (
                params.fingerprint,
                settings.kafka.topic_prefix,
                Jsonb(params.to_json()),
                sent.via_gateway + sent.via_loader,
                sent.via_gateway,
                sent.via_loader,
                sum(sent.rejected.values()),
                Jsonb(summary),
            ),
        )
    return summary


def set_up(settings: Settings) -> str:
    from platform_common.bootstrap import set_up_platform
    from producers import ensure_bootstrap_api_key
    from sinks.warehouse import set_up_warehouse

    report = set_up_platform(settings)
    ensure_bootstrap_api_key(settings)
    warehouse = set_up_warehouse(settings)  # FX rates: the demo's EUR and GBP revenue needs them
    created = f"{len(report.topics_created)} topics and {len(report.migrations_applied)} migrations new"
    return f"{created}; {warehouse.summary()}"


def run_demo(settings: Settings, options: DemoOptions, say: Say) -> DemoResult:
    """Run every step; raises on the first failure (the processes stay up for inspection)."""
    result = DemoResult()
    steps = Steps(say, result)
    params = options.params
    steps.run("setup", lambda: say(set_up(settings)))
    previous = None if options.resend else ingested(settings, params)
    data: PreparedData | None = None
    reference: Path | None
    if previous is None:
        data = steps.run("generate", lambda: prepare(params, settings.services.data_dir, say))
        reference = data.reference_path
    else:
        say(f"data set {params.fingerprint} already ingested; skipping generate and send (--resend to send again)")
        reference = Path(previous["reference_path"])
        if not reference.exists():
            say(f"reference data {reference} is gone: plans and regions are not checked (--resend restores it)")
            reference = None
    specs = processes.pipeline_specs(settings, options.ports, reference, options.stream_workers)
    steps.run("start processes", lambda: processes.start_pipeline(settings, specs, say))
    metrics_urls = [spec.metrics_url for spec in specs if spec.name.startswith("stream-")]
    if data is not None:
        sent = SendReport()
        result.sent = sent
        result.first_send_at = time.monotonic()
        steps.run("send (batch loader)", lambda: load_files(settings, data, sent, say))
        if data.gateway_events:
            steps.run("send (gateway)", lambda: send_gateway(settings, data, params, sent, say))
        previous = record_ingest(settings, params, sent, data)
    result.drained = steps.run("drain", lambda: wait_drained(settings, metrics_urls, options.drain_timeout_s, say))
    result.drained_at = time.monotonic()
    if options.forecast:
        warm = data is None
        result.forecast = steps.run("forecast flow", lambda: _forecast(settings, options, skip_if_current=warm))
        if result.forecast and result.forecast["forecast"].get("skipped"):
            say(f"kept forecast vintage {result.forecast['forecast']['run_id']}: nothing loaded since it was made")
    query = next(spec for spec in specs if spec.name == "query-api")
    steps.run("query API", lambda: processes.wait_healthy(query, processes.start_process(settings, query, say)[0], 60))
    from orchestration.demo_summary import collect

    result.summary = steps.run("summary", lambda: collect(settings, previous or {}, metrics_urls))
    result.summary["dashboard_url"] = f"{query.base_url}/dashboard"
    result.timings["total"] = round(time.monotonic() - steps.started, 2)
    return result


def _forecast(settings: Settings, options: DemoOptions, skip_if_current: bool) -> dict[str, Any]:
    from orchestration.forecast_flow import forecast_flow
    from orchestration.prefect_env import prefect_api, quiet_prefect

    quiet_prefect()
    with prefect_api(settings, keep_existing=not options.use_prefect_server):
        summary: dict[str, Any] = forecast_flow(
            refresh_warehouse_first=options.refresh_warehouse, skip_if_current=skip_if_current, settings=settings
        )
    return summary
