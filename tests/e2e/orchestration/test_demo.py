"""The reduced demo end to end: 150 customers x 6 months through the gateway and the loader,
every long-running process in the background on free ports, drained, forecast, summarised;
then the summary is checked against the generator's ground truth, a trace id is followed from
the gateway to the warehouse, reconcile agrees, and a warm re-run sends nothing again."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from orchestration.demo import DemoOptions, run_demo
from orchestration.demo_data import DemoParams
from orchestration.observability import follow
from orchestration.processes import PipelinePorts, log_dir, pipeline_specs, pipeline_state, stop_pipeline
from orchestration.reconcile_flow import run_reconcile
from platform_common.config import Settings
from platform_common.topics import Family

pytestmark = pytest.mark.timeout(900)
METRIC_OF = {
    "stream-0": "ledgerline_stream_raw_events_total",
    "lake-sink": "ledgerline_lake_records_total",
    "warehouse-sink": "ledgerline_warehouse_events_in_total",
    "gateway": "ledgerline_gateway_requests_total",
    "query-api": "ledgerline_query_requests_total",
    "orchestration": "ledgerline_forecast_vintage_duration_seconds",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def demo_settings(isolated_stack: Settings, tmp_path: Path) -> Iterator[Settings]:
    settings = isolated_stack.model_copy(
        update={
            "services": isolated_stack.services.model_copy(update={"data_dir": tmp_path}),
            "api": isolated_stack.api.model_copy(update={"gateway_port": free_port(), "query_port": free_port()}),
        }
    )
    try:
        yield settings
    finally:
        stop_pipeline(settings)


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback test servers
        return int(response.status), response.read().decode()


def test_reduced_demo_end_to_end(demo_settings: Settings, prefect_server: str) -> None:
    settings = demo_settings
    params = DemoParams(customers=150, months=6, bad_share=0.01, late_share=0.002, gateway_months=1)
    ports = PipelinePorts(free_port(), free_port(), free_port(), free_port())
    options = DemoOptions(params=params, ports=ports, drain_timeout_s=400, use_prefect_server=False)
    started = time.monotonic()
    result = run_demo(settings, options, print)
    cold = time.monotonic() - started
    summary, truth = result.summary, result.summary["ground_truth"]
    assert result.sent is not None
    assert result.sent.via_gateway > 0
    assert result.sent.via_loader > 0

    # Every clean event reached the warehouse; every bad record was caught where it should be.
    assert summary["in_warehouse"] == truth["counts"]["expected_clean_by_family"]
    by_kind = truth["bad_records"]["by_kind"]
    quarantined = summary["quarantined_by_reason"]
    assert quarantined.get("unknown_plan", 0) == by_kind["unknown_plan"]
    assert quarantined.get("conflicting_duplicate", 0) == by_kind["conflicting_duplicate"]
    assert sum(summary["duplicates_dropped"].values()) == by_kind["exact_duplicate"]
    assert sum(summary["rejected_at_ingestion"].values()) == by_kind["missing_field"] + by_kind["negative_amount"]
    assert summary["mrr"]["closing_minor"] > 0
    forecast = summary["forecast"]
    assert Decimal(forecast["lo_80_minor"]) <= Decimal(forecast["point_minor"]) <= Decimal(forecast["hi_80_minor"])
    assert result.forecast is not None
    assert result.forecast["forecast"]["run_id"] == forecast["run_id"]
    assert summary["dashboard_url"].endswith("/dashboard")

    # Warm: the same data set is not generated or sent again, and since nothing was loaded after
    # the cold run's vintage, the forecast is kept instead of computed again.
    warm_started = time.monotonic()
    warm = run_demo(settings, DemoOptions(params=params, ports=ports, use_prefect_server=False), print)
    warm_seconds = time.monotonic() - warm_started
    assert warm.sent is None
    assert warm.forecast is not None
    assert warm.forecast["forecast"]["skipped"]
    assert warm.forecast["forecast"]["run_id"] == forecast["run_id"]
    assert warm.summary["in_warehouse"] == summary["in_warehouse"]
    print(f"reduced demo: cold {cold:.1f}s, warm {warm_seconds:.1f}s")

    # Every long-running process answers /health and /metrics.
    specs = pipeline_specs(settings, ports)
    for spec in specs:
        assert _get(spec.health_url)[0] == 200, spec.name
        status, text = _get(spec.metrics_url)
        assert status == 200, spec.name
        assert METRIC_OF[spec.name] in text, spec.name
    assert _get(summary["dashboard_url"])[0] == 200

    # A trace id sent to the gateway travels through Kafka headers to the lake and the warehouse.
    trace_id = uuid.uuid4().hex
    sample = settings.services.data_dir / "demo" / params.fingerprint / "operational_cost.ndjson"
    event = json.loads(sample.read_text(encoding="utf-8").splitlines()[-1])
    event["event_id"] = f"trace-{trace_id[:16]}"
    event["event_time"] = "2023-06-30T12:00:00+00:00"  # inside the demo window, near the watermark
    event["metadata"] = {**event.get("metadata", {}), "trace_id": None, "received_at": None}
    _send_traced(settings, event, trace_id)
    gateway = next(spec for spec in specs if spec.name == "gateway")
    from orchestration.drain import wait_drained

    wait_drained(settings, [spec.metrics_url for spec in specs if spec.name.startswith("stream-")], 120, print)
    trace = follow(settings, Family.OPERATIONAL_COST, trace_id, log_dir(settings))
    print(f"trace {trace_id}: {trace}; gaps: {trace.gaps()}")
    assert trace.data_path_complete, trace.gaps()
    # ... and into the log lines of every process that handled the event.
    handled = ("gateway", "stream-0", "lake-sink", "warehouse-sink")
    assert [name for name in handled if not trace.logs.get(name)] == [], trace.gaps()
    assert gateway.port == settings.api.gateway_port

    # Reconcile agrees on the whole run, the processor's counters included.
    report = run_reconcile(settings, processor_metrics=[spec.metrics_url for spec in specs if "stream" in spec.name])
    assert report.ok, report.mismatches

    stopped = stop_pipeline(settings)
    assert stopped
    assert all(stopped.values())
    assert not pipeline_state(settings)


def _send_traced(settings: Settings, event: dict[str, object], trace_id: str) -> None:
    api = settings.api
    response = httpx.post(
        f"http://{api.gateway_host}:{api.gateway_port}/v1/events/operational_cost",
        json=event,
        headers={
            "Authorization": f"Bearer {api.bootstrap_api_key.get_secret_value()}",
            "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01",
        },
        timeout=30,
    )
    assert response.status_code == 202, response.text
    assert response.headers["X-Trace-Id"] == trace_id
